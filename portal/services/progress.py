"""What a family sees of its applications: 我的申请, each matter's progress and the timeline.

Queries return small view objects (plain dataclasses) so templates never touch the DB; the
staff pages reuse `task_views` and `TimelineItem` (portal.services.case_views).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from pdf.completion import CompletionView
from portal.domain import clock, family_deadlines
from portal.domain import status as st
from portal.domain.deadlines import Promise, promise_text
from portal.models import Application, DepartmentTask, Event, TaskDependency
from portal.services import completion
from portal.services.casework import department_name, matter_name
from portal.services.deadlines import promises
from portal.services.summaries import CaseSummary


def waiting_on(session: Session, task_ids: list[int]) -> dict[int, list[str]]:
    """For waiting tasks: names of the unfinished matters they wait for."""
    if not task_ids:
        return {}
    prereq = select(TaskDependency.task_id, DepartmentTask.matter_code).join(
        DepartmentTask, DepartmentTask.id == TaskDependency.depends_on_id
    ).where(TaskDependency.task_id.in_(task_ids), DepartmentTask.status.not_in(tuple(st.FINISHED)))
    out: dict[int, list[str]] = {}
    for task_id, code in session.execute(prereq):
        out.setdefault(task_id, []).append(matter_name(code))
    return out


# --- 我的申请 ------------------------------------------------------------------------------------

@dataclass
class MyRow:
    application_id: int
    number: str
    deceased: str
    status: str
    status_label: str
    tag_kind: str
    done: int
    total: int
    submitted_at: str
    needs_action: bool


def my_applications(session: Session, account_id: int) -> list[MyRow]:
    apps = session.scalars(
        select(Application).where(Application.account_id == account_id, Application.status != st.APP_MERGED)
        .options(selectinload(Application.tasks), selectinload(Application.deceased))
        .order_by(Application.id.desc())
    ).all()
    out = []
    for app in apps:
        done = sum(1 for t in app.tasks if t.status in st.FINISHED)
        needs = app.status == st.APP_RETURNED or any(t.status == st.RETURNED for t in app.tasks)
        out.append(MyRow(app.id, app.number or "", app.deceased.name if app.deceased else "", app.status,
                         st.APP_FAMILY_LABELS.get(app.status, app.status), st.APP_TAG_KINDS.get(app.status, "pending"),
                         done, len(app.tasks), clock.cn_datetime(app.submitted_at), needs))
    return out


# --- one application's matters -------------------------------------------------------------------

@dataclass
class TaskView:
    id: int
    version: int
    matter_code: str
    matter: str
    department: str
    department_code: str
    status: str
    label: st.TaskLabel
    deadline: date | None
    overdue: bool
    finished_late: bool
    message: str
    result_text: str
    correction_step: str | None
    correction_label: str
    waiting_on: list[str]
    finished_on: date | None
    promise: Promise = field(default_factory=lambda: Promise(None))

    @property
    def promise_text(self) -> str:
        """The promised date in words, the same as on the confirmation page and the receipt."""
        return promise_text(self.promise)


@dataclass
class TimelineItem:
    at: str
    iso: str
    summary: str
    actor: str
    tag: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    label: str = ""   # staff timelines: what happened, in staff words
    detail: str = ""


def timeline_item(e: Event, *, label: str = "", detail: str = "") -> TimelineItem:
    return TimelineItem(clock.cn_datetime(e.at), e.at.isoformat() if e.at else "", e.summary, e.actor_name or "",
                        e.tag, e.before, e.after, label=label, detail=detail)


def task_views(session: Session, app: Application, on: date) -> list[TaskView]:
    tasks = sorted(app.tasks, key=lambda t: t.id)
    waiting = waiting_on(session, [t.id for t in tasks if t.status == st.WAITING])
    promised = promises(app, on=on)
    out = []
    for t in tasks:
        result = t.result or {}
        step = result.get("correction_step") if t.status == st.RETURNED else None
        reason = result.get("refuse_reason") or t.message
        finished_on = clock.as_china(t.finished_at).date() if t.finished_at else None
        out.append(TaskView(
            id=t.id, version=t.version, matter_code=t.matter_code, matter=matter_name(t.matter_code),
            department=department_name(t.department), department_code=t.department, status=t.status,
            label=st.family_task_label(t.status, app_status=app.status, waiting_on=waiting.get(t.id, []),
                                       reason=reason),
            deadline=t.deadline if app.status in (st.APP_ACCEPTED, st.APP_COMPLETED) else None,
            overdue=st.is_overdue(t.status, t.deadline, on) and app.status == st.APP_ACCEPTED,
            finished_late=st.finished_late(t.status, t.deadline, finished_on),
            message=t.message or "", result_text=st.result_summary(t.matter_code, t.result, t.amount),
            correction_step=step, correction_label=st.CORRECTION_STEPS.get(step or "", ""),
            waiting_on=waiting.get(t.id, []), finished_on=finished_on,
            promise=promised.get(t.matter_code, Promise(None)),
        ))
    return out


@dataclass(frozen=True)
class CorrectionRequest:
    """What someone asked the family to correct, in their words (shown on the correction page)."""

    who: str     # 乡镇（街道）窗口, or the department
    matter: str  # the matter that waits for it ("" for the window)
    reason: str


def correction_requests(app: Application, form_step: str) -> list[CorrectionRequest]:
    """The reasons given for sending back what the form step `form_step` answers.

    The window's reason (it returned the whole application) comes first, then each department
    that returned a matter naming this step (or a code the step answers, st.corrected_steps).
    """
    out: list[CorrectionRequest] = []
    if app.status == st.APP_RETURNED and app.return_reason:
        out.append(CorrectionRequest("乡镇（街道）窗口", "", app.return_reason))
    asked = st.corrected_steps(form_step)
    for t in sorted(app.tasks, key=lambda t: t.id):
        result = t.result or {}
        if t.status == st.RETURNED and result.get("correction_step") in asked:
            out.append(CorrectionRequest(department_name(t.department), matter_name(t.matter_code),
                                         str(result.get("correction_reason") or t.message or "")))
    return out


# --- the progress page ----------------------------------------------------------------------------

@dataclass
class ProgressView:
    application: CaseSummary
    number: str
    deceased: str
    death_date: date | None
    status_label: str
    tag_kind: str
    tasks: list[TaskView]
    timeline: list[TimelineItem]
    deadlines: list[family_deadlines.PersonalDeadline]
    stamp: str
    today: date
    done: int
    live: bool  # still changing: keep polling
    notice: CompletionView | None = None  # 办结告知, once every matter is finished

    @property
    def returned_tasks(self) -> list[TaskView]:
        return [t for t in self.tasks if t.status == st.RETURNED]


def _stamp(last_event: int, task_versions: int, task_count: int, app_version: int) -> str:
    raw = f"{last_event}:{task_versions}:{task_count}:{app_version}:{clock.today().isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def progress_stamp(session: Session, application_id: int, account_id: int | None = None) -> str | None:
    """Changes whenever anything the family sees changes (for cheap htmx polling); one query.

    With `account_id`, None when the application is not this family's (or still a draft).
    """
    last = (select(func.coalesce(func.max(Event.id), 0))
            .where(Event.application_id == application_id, Event.public.is_(True)).scalar_subquery())
    versions = (select(func.coalesce(func.sum(DepartmentTask.version), 0))
                .where(DepartmentTask.application_id == application_id).scalar_subquery())
    count = (select(func.count(DepartmentTask.id))
             .where(DepartmentTask.application_id == application_id).scalar_subquery())
    query = select(Application.version, last, versions, count).where(Application.id == application_id)
    if account_id is not None:
        query = query.where(Application.account_id == account_id,
                            Application.status.not_in((st.APP_DRAFT, st.APP_MERGED)))
    row = session.execute(query).first()
    if row is None:
        return None
    return _stamp(int(row[1]), int(row[2]), int(row[3]), int(row[0]))


def citizen_application(session: Session, application_id: int, account_id: int) -> Application | None:
    """The submitted application if it belongs to this family member (None otherwise: shown as 404)."""
    app = session.scalar(
        select(Application).where(Application.id == application_id, Application.account_id == account_id)
        .options(selectinload(Application.tasks).selectinload(DepartmentTask.depends_on),
                 joinedload(Application.deceased))
    )
    return None if app is None or app.status in (st.APP_DRAFT, st.APP_MERGED) else app


def progress(session: Session, app: Application, *, on: date | None = None) -> ProgressView:
    on = on or clock.today()
    tasks = task_views(session, app, on)
    death = app.deceased.death_time.date() if app.deceased and app.deceased.death_time else None
    codes = {t.matter_code for t in tasks}
    finished = {t.matter_code for t in tasks if t.status in st.FINISHED}
    deadlines = family_deadlines.personal_deadlines(death, codes, finished) if death else []
    timeline_events = list(session.scalars(
        select(Event).where(Event.application_id == app.id, Event.public.is_(True)).order_by(Event.id.desc()).limit(200)))
    return ProgressView(
        application=CaseSummary.of(app), number=app.number or "", deceased=app.deceased.name if app.deceased else "",
        death_date=death, status_label=st.APP_FAMILY_LABELS.get(app.status, app.status),
        tag_kind=st.APP_TAG_KINDS.get(app.status, "pending"), tasks=tasks,
        timeline=[timeline_item(e) for e in timeline_events], deadlines=deadlines,
        stamp=_stamp(max((e.id for e in timeline_events), default=0), sum(t.version for t in app.tasks),
                     len(app.tasks), app.version), today=on,
        done=sum(1 for t in tasks if t.status in st.FINISHED),
        live=app.status in (st.APP_SUBMITTED, st.APP_ACCEPTED, st.APP_RETURNED),
        notice=completion.notice(app),
    )


def family_progress(session: Session, application_id: int, account_id: int) -> ProgressView | None:
    """The progress page of this family's submitted application (None: not theirs, shown as 404)."""
    app = citizen_application(session, application_id, account_id)
    return None if app is None else progress(session, app)
