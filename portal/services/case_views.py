"""What staff see of one application and one task: the case file, masked numbers, the timeline
in staff words, the actions the status allows. Access is checked here (NotFound otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.event_wording import EventFacts, staff_wording
from portal.models import Application, DepartmentTask, Event, StaffMember
from portal.services import case_exceptions, pii
from portal.services.casework import StaffLike, matter_name
from portal.services.disclosure import revealable, viewable_application
from portal.services.progress import TaskView, TimelineItem, task_views, timeline_item
from portal.services.queues import CHANNELS
from portal.services.summaries import CaseSummary, DeceasedSummary, PartySummary, TaskSummary
from portal.services.tasks import medical_settlement, workable_task

MaskedField = pii.MaskedField  # a personal number as the back office shows it


def staff_timeline(session: Session, app: Application) -> list[TimelineItem]:
    """Every event of the application, newest first, labelled in staff words (event_wording)."""
    matters = {t.id: t.matter_code for t in app.tasks}
    query = select(Event).where(Event.application_id == app.id).order_by(Event.id.desc()).limit(200)
    items = []
    for e in session.scalars(query):
        facts = EventFacts(e.summary, e.after or {}, matter_name(matters[e.task_id]) if e.task_id in matters else "",
                           matter_name)
        label, detail = staff_wording(e.tag, facts)
        items.append(timeline_item(e, label=label, detail=detail))
    return items


def _staff_name(session: Session, staff_id: int | None) -> str:
    if not staff_id:
        return ""
    return session.scalar(select(StaffMember.name).where(StaffMember.id == staff_id)) or ""


# --- one application ---------------------------------------------------------------------------------

@dataclass
class StaffApplicationView:
    application: CaseSummary
    deceased: DeceasedSummary | None
    applicant: PartySummary | None
    recipient: PartySummary | None
    tasks: list[TaskView]
    timeline: list[TimelineItem]
    personal: list[MaskedField]
    status_label: str
    tag_kind: str
    channel: str
    entered_by: str
    reveal_options: list[tuple[str, str]]  # the numbers this staff member may open, for the form
    may_accept: bool
    exceptions: list[case_exceptions.ExceptionView] = field(default_factory=list)  # 数据不一致, open first


def staff_application(session: Session, application_id: int, staff: StaffLike, vault: Vault, *,
                      on: date | None = None, revealed: dict[str, str] | None = None) -> StaffApplicationView:
    """The case file of an application this staff member may see, else NotFound."""
    app = viewable_application(session, application_id, staff)
    on = on or clock.today()
    parties = {p.role: p for p in app.parties}
    personal = pii.masked_fields(app, vault, revealed)
    allowed = set(revealable(app, staff))
    return StaffApplicationView(
        application=CaseSummary.of(app), deceased=DeceasedSummary.of(app.deceased),
        applicant=PartySummary.of(parties.get("applicant")), recipient=PartySummary.of(parties.get("recipient")),
        tasks=task_views(session, app, on), timeline=staff_timeline(session, app),
        personal=personal, status_label=st.APP_STAFF_LABELS.get(app.status, app.status),
        tag_kind=st.APP_TAG_KINDS.get(app.status, "pending"), channel=CHANNELS.get(app.channel, app.channel),
        entered_by=_staff_name(session, app.entered_by_staff_id),
        reveal_options=[(p.key, p.label) for p in personal if p.key in allowed and p.revealable],
        may_accept=staff.may_accept(app.county_code),
        exceptions=case_exceptions.for_case(session, app),
    )


# --- one task ------------------------------------------------------------------------------------------

@dataclass
class StaffTaskView:
    task: TaskSummary
    view: TaskView
    application: CaseSummary
    deceased: DeceasedSummary | None
    staff_label: st.TaskLabel
    actions: list[str]
    prerequisites: list[TaskView]
    medical_settlement: Decimal | None
    medical_deduction: Decimal | None
    fields: tuple[st.ResultField, ...]
    timeline: list[TimelineItem]
    assignee: str
    recipient: PartySummary | None
    overdue: bool
    days_overdue: int


def staff_task(session: Session, task: DepartmentTask, *, on: date | None = None) -> StaffTaskView:
    on = on or clock.today()
    app = task.application
    views = {v.id: v for v in task_views(session, app, on)}
    prereq_ids = [d.depends_on_id for d in task.depends_on]
    settlement = medical_settlement(session, app.id) if task.matter_code == "pension" else None
    late = st.is_overdue(task.status, task.deadline, on)
    return StaffTaskView(
        task=TaskSummary.of(task), view=views[task.id], application=CaseSummary.of(app),
        deceased=DeceasedSummary.of(app.deceased),
        staff_label=st.staff_task_label(task.status, views[task.id].waiting_on),
        actions=st.task_actions(task.status) if app.status == st.APP_ACCEPTED else [],
        prerequisites=[views[i] for i in prereq_ids if i in views],
        medical_settlement=settlement,
        medical_deduction=st.medical_deduction(settlement) if settlement is not None else None,
        fields=st.result_fields(task.matter_code), timeline=staff_timeline(session, app),
        assignee=_staff_name(session, task.assignee_id),
        recipient=PartySummary.of(next((p for p in app.parties if p.role == "recipient"), None)),
        overdue=late, days_overdue=st.days_overdue(task.deadline, on) if late and task.deadline else 0,
    )


def task_page(session: Session, task_id: int, staff: StaffLike, *, on: date | None = None) -> StaffTaskView:
    """The task page of a task this officer may work, else NotFound."""
    return staff_task(session, workable_task(session, task_id, staff), on=on)
