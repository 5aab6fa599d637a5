"""Read side: the window's queue, officers' queues, the administrator's overview, family progress.

Queries return small view objects (plain dataclasses) so templates never touch the DB.
Queues are one indexed query each (ix_task_queue: department, county, status, deadline) with
overdue-first ordering computed in SQL and a LIMIT, so they stay fast with many applications.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.crypto import Vault
from portal.domain import status as st
from portal.domain.deadlines import Promise, promise_text
from portal.domain.event_wording import EventFacts, staff_wording
from portal.models import Application, Deceased, DepartmentTask, Event, Party, StaffMember, TaskDependency
from portal.services import pii
from portal.services.deadlines import promises
from portal.services.workflow import (
    CHANNELS,
    CHINA,
    StaffLike,
    catalogue,
    department_name,
    matter_name,
    medical_settlement,
    today,
)

PAGE_SIZE = 50

# officer queue filters: code -> (label, statuses)
TASK_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "todo": ("待办（待接办和办理中）", (st.PENDING, st.IN_PROGRESS)),
    "pending": ("待接办", (st.PENDING,)),
    "in_progress": ("办理中", (st.IN_PROGRESS,)),
    "waiting": ("等待前置事项", (st.WAITING,)),
    "returned": ("退回补正中", (st.RETURNED,)),
    "done": ("已办结", (st.DONE,)),
    "refused": ("不予办理", (st.REFUSED,)),
    "all": ("全部", st.TASK_STATUSES),
}
WINDOW_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitted": ("待受理", (st.APP_SUBMITTED,)),
    "returned": ("已退回家属", (st.APP_RETURNED,)),
    "accepted": ("已受理", (st.APP_ACCEPTED,)),
    "completed": ("已办结", (st.APP_COMPLETED,)),
}


def _local(value: datetime) -> datetime:
    """Stored times are UTC (SQLite drops the zone); show them in China time."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(CHINA)


def _fmt_time(value: datetime | None) -> str:
    if value is None:
        return ""
    local = _local(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# --- officer queue ----------------------------------------------------------------------------

@dataclass
class QueueRow:
    task_id: int
    application_id: int
    number: str
    deceased: str
    matter: str
    status: str
    label: st.TaskLabel
    deadline: date | None
    overdue: bool
    days_overdue: int


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    counts: dict[str, int | None]
    overdue_total: int
    offset: int
    limit: int


def _overdue_expr(on: date) -> Any:
    return and_(DepartmentTask.deadline < on, DepartmentTask.status.in_(tuple(st.CLOCK_RUNNING)))


def officer_queue(session: Session, staff: StaffLike, *, status: str = "todo", overdue_only: bool = False,
                  q: str = "", on: date | None = None, offset: int = 0, limit: int = PAGE_SIZE) -> QueuePage:
    """An officer's department tasks in their county: overdue first, then by deadline.

    Two steps keep it fast with many applications: the page of task ids comes from the covering
    index ix_task_queue alone (department, county, status, deadline), then only those rows are
    joined for display. Before the window accepts an application all its tasks are `waiting`
    (they are the window's business, not the officer's), so only the `waiting` filter needs to
    look at the application's status.
    """
    on = on or today()
    status = status if status in TASK_FILTERS else "todo"
    scope = [DepartmentTask.department == (staff.department or "")]
    if staff.county_code:
        scope.append(DepartmentTask.county_code == staff.county_code)
    q = (q or "").strip()
    if q:
        ids, counts, total, overdue_total = _search_ids(session, staff, q, status, overdue_only, on, offset, limit)
    else:
        ids, counts, total, overdue_total = _queue_ids(session, scope, status, overdue_only, on, offset, limit)
    found = {r.id: r for r in session.execute(
        select(DepartmentTask.id, DepartmentTask.application_id, DepartmentTask.matter_code, DepartmentTask.status,
               DepartmentTask.deadline, Application.number, Deceased.name)
        .join(Application, Application.id == DepartmentTask.application_id)
        .outerjoin(Deceased, Deceased.application_id == Application.id)
        .where(DepartmentTask.id.in_(ids))
    )} if ids else {}
    rows = [found[i] for i in ids if i in found]

    waiting_names = _waiting_on(session, [r.id for r in rows if r.status == st.WAITING])
    out = []
    for r in rows:
        late = st.is_overdue(r.status, r.deadline, on)
        out.append(QueueRow(
            task_id=r.id, application_id=r.application_id, number=r.number or "", deceased=r.name or "",
            matter=matter_name(r.matter_code), status=r.status,
            label=st.staff_task_label(r.status, waiting_names.get(r.id, [])),
            deadline=r.deadline, overdue=late, days_overdue=st.days_overdue(r.deadline, on) if late and r.deadline else 0,
        ))
    return QueuePage(out, total, counts, overdue_total, offset, limit)


def _queue_ids(session: Session, scope: list[Any], status: str, overdue_only: bool, on: date, offset: int,
               limit: int) -> tuple[list[int], dict[str, int | None], int, int]:
    """One page of task ids from the covering index, the per-status counts and the totals."""
    statuses = TASK_FILTERS[status][1]
    accepted = exists().where(Application.id == DepartmentTask.application_id,
                              Application.status.in_((st.APP_ACCEPTED, st.APP_COMPLETED)))
    overdue = _overdue_expr(on)
    ids_q = select(DepartmentTask.id).where(*scope, DepartmentTask.status.in_(statuses))
    if st.WAITING in statuses:
        ids_q = ids_q.where(or_(DepartmentTask.status != st.WAITING, accepted))
    if overdue_only:
        ids_q = ids_q.where(overdue)
    if status == "all":
        order = [case((overdue, 0), else_=1), DepartmentTask.deadline.is_(None), DepartmentTask.deadline,
                 DepartmentTask.id]
        ids = list(session.scalars(ids_q.order_by(*order).offset(offset).limit(limit)))
    else:
        # For every other filter overdue-first is earliest deadline first. One query per status
        # reads the index in (deadline, id) order and stops after a page; merged here.
        merged: list[tuple[date, int]] = []
        for one in statuses:
            part = select(DepartmentTask.deadline, DepartmentTask.id).where(*scope, DepartmentTask.status == one)
            if one == st.WAITING:
                part = part.where(accepted)
            if overdue_only:
                part = part.where(overdue)
            merged += [(d or date.max, i) for d, i in session.execute(
                part.order_by(DepartmentTask.deadline, DepartmentTask.id).limit(offset + limit))]
        ids = [i for _, i in sorted(merged)[offset:offset + limit]]

    by_status: dict[str, int] = {}
    overdue_total = 0
    for code, n, late in session.execute(
        select(DepartmentTask.status, func.count(), func.sum(case((overdue, 1), else_=0)))
        .where(*scope, DepartmentTask.status != st.WAITING).group_by(DepartmentTask.status)
    ):
        by_status[code] = n
        overdue_total += int(late or 0)
    if status in ("waiting", "all"):  # the one count that needs the applications: only when asked for
        by_status[st.WAITING] = int(session.scalar(
            select(func.count()).select_from(DepartmentTask).where(*scope, DepartmentTask.status == st.WAITING, accepted)
        ) or 0)
    counts: dict[str, int | None] = {key: sum(by_status.get(s, 0) for s in sts) for key, (_, sts) in TASK_FILTERS.items()}
    if st.WAITING not in by_status:
        counts["waiting"] = counts["all"] = None  # not counted on this view
    if overdue_only:
        total = int(session.scalar(select(func.count()).select_from(ids_q.order_by(None).subquery())) or 0)
    else:
        total = counts.get(status) or 0
    return ids, counts, total, overdue_total


def _search_ids(session: Session, staff: StaffLike, q: str, status: str, overdue_only: bool, on: date, offset: int,
                limit: int) -> tuple[list[int], dict[str, int | None], int, int]:
    """A search names few applications: read their tasks by application (its index) and sort them here.

    Department and county are checked in Python on purpose: in SQL the planner would prefer the
    queue index and walk the whole department queue instead of the few applications found.
    """
    app_ids = matching_applications(session, q)
    if not app_ids:
        return [], {key: 0 for key in TASK_FILTERS}, 0, 0
    candidates = session.execute(
        select(DepartmentTask.id, DepartmentTask.status, DepartmentTask.deadline, Application.status,
               DepartmentTask.department, DepartmentTask.county_code)
        .join(Application, Application.id == DepartmentTask.application_id)
        .where(DepartmentTask.application_id.in_(app_ids))
    ).all()
    mine = [c for c in candidates
            if c[4] == staff.department and (not staff.county_code or c[5] == staff.county_code)
            and (c[1] != st.WAITING or c[3] in (st.APP_ACCEPTED, st.APP_COMPLETED))]
    by_status: dict[str, int] = {}
    for c in mine:
        by_status[c[1]] = by_status.get(c[1], 0) + 1
    counts: dict[str, int | None] = {key: sum(by_status.get(s, 0) for s in sts) for key, (_, sts) in TASK_FILTERS.items()}
    overdue_total = sum(1 for c in mine if st.is_overdue(c[1], c[2], on))
    statuses = TASK_FILTERS[status][1]
    chosen = [c for c in mine if c[1] in statuses and (not overdue_only or st.is_overdue(c[1], c[2], on))]
    chosen.sort(key=lambda c: (0 if status == "all" and st.is_overdue(c[1], c[2], on) else 1,
                               c[2] is None, c[2] or date.max, c[0]))
    return [c[0] for c in chosen[offset:offset + limit]], counts, len(chosen), overdue_total


NUMBER_RE = re.compile(r"^\d{6}-\d{8}-[0-9A-Z]{4,6}$")
SEARCH_CAP = 2000


def matching_applications(session: Session, q: str) -> list[int]:
    """Applications whose 编号 or deceased's name contains `q` (a full 编号 is an indexed lookup)."""
    q = q.strip().upper() if NUMBER_RE.match(q.strip().upper()) else q.strip()
    if NUMBER_RE.match(q):
        return list(session.scalars(select(Application.id).where(Application.number == q)))
    like = f"%{q.replace('%', '').replace('_', '')}%"
    ids = set(session.scalars(select(Application.id).where(Application.number.like(like)).limit(SEARCH_CAP)))
    ids |= set(session.scalars(select(Deceased.application_id).where(Deceased.name.like(like)).limit(SEARCH_CAP)))
    return sorted(ids)[:SEARCH_CAP]


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def _waiting_on(session: Session, task_ids: list[int]) -> dict[int, list[str]]:
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


# --- window queue ------------------------------------------------------------------------------

@dataclass
class WindowRow:
    application_id: int
    number: str
    deceased: str
    applicant: str
    submitted_at: str
    channel: str
    status_label: str
    matters: int


def window_queue(session: Session, staff: StaffLike, *, status: str = "submitted", q: str = "",
                 limit: int = PAGE_SIZE, offset: int = 0) -> tuple[list[WindowRow], dict[str, int]]:
    statuses = WINDOW_FILTERS.get(status, WINDOW_FILTERS["submitted"])[1]
    scope = []
    if staff.county_code:
        scope.append(Application.county_code == staff.county_code)
    q = (q or "").strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        scope.append(or_(Application.number.like(like), Deceased.name.like(like)))
    matters = (select(func.count(DepartmentTask.id)).where(DepartmentTask.application_id == Application.id)
               .correlate(Application).scalar_subquery())
    applicant = (select(Party.name).where(Party.application_id == Application.id, Party.role == "applicant")
                 .correlate(Application).scalar_subquery())
    order = Application.submitted_at.asc() if status == "submitted" else Application.submitted_at.desc()
    rows = session.execute(
        select(Application.id, Application.number, Deceased.name, applicant, Application.submitted_at,
               Application.channel, Application.status, matters)
        .outerjoin(Deceased, Deceased.application_id == Application.id)
        .where(*scope, Application.status.in_(statuses))
        .order_by(order, Application.id).offset(offset).limit(limit)
    ).all()
    count_rows = session.execute(
        select(Application.status, func.count()).outerjoin(Deceased, Deceased.application_id == Application.id)
        .where(*scope, Application.status.in_([s for _, (_, sts) in WINDOW_FILTERS.items() for s in sts]))
        .group_by(Application.status)
    ).all()
    counts = {key: sum(n for code, n in count_rows if code in sts) for key, (_, sts) in WINDOW_FILTERS.items()}
    out = [WindowRow(r[0], r[1] or "", r[2] or "", r[3] or "", _fmt_time(r[4]), CHANNELS.get(r[5], r[5]),
                     st.APP_STAFF_LABELS.get(r[6], r[6]), r[7]) for r in rows]
    return out, counts


# --- administrator's overview ---------------------------------------------------------------------

@dataclass
class CountyOverview:
    code: str
    name: str
    to_accept: int = 0
    departments: dict[str, tuple[int, int]] = field(default_factory=dict)  # dept -> (open, overdue)

    @property
    def open_total(self) -> int:
        return sum(o for o, _ in self.departments.values())

    @property
    def overdue_total(self) -> int:
        return sum(late for _, late in self.departments.values())


def overview(session: Session, *, on: date | None = None) -> list[CountyOverview]:
    on = on or today()
    cat = catalogue()
    counties = {c.code: CountyOverview(c.code, c.name) for c in cat.counties}
    for code, n in session.execute(
        select(Application.county_code, func.count()).where(Application.status == st.APP_SUBMITTED)
        .group_by(Application.county_code)
    ):
        counties.setdefault(code or "", CountyOverview(code or "", code or "未知")).to_accept = n
    overdue = _overdue_expr(on)
    for county, dept, n, late in session.execute(
        select(DepartmentTask.county_code, DepartmentTask.department, func.count(),
               func.sum(case((overdue, 1), else_=0)))
        .join(Application, Application.id == DepartmentTask.application_id)
        .where(Application.status == st.APP_ACCEPTED, DepartmentTask.status.in_(tuple(st.OPEN)))
        .group_by(DepartmentTask.county_code, DepartmentTask.department)
    ):
        counties.setdefault(county, CountyOverview(county, county)).departments[dept] = (n, int(late or 0))
    return list(counties.values())


# --- family side -----------------------------------------------------------------------------------

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
        select(Application).where(Application.account_id == account_id)
        .options(selectinload(Application.tasks), selectinload(Application.deceased))
        .order_by(Application.id.desc())
    ).all()
    out = []
    for app in apps:
        done = sum(1 for t in app.tasks if t.status in st.FINISHED)
        needs = app.status == st.APP_RETURNED or any(t.status == st.RETURNED for t in app.tasks)
        out.append(MyRow(app.id, app.number or "", app.deceased.name if app.deceased else "", app.status,
                         st.APP_FAMILY_LABELS.get(app.status, app.status), st.APP_TAG_KINDS.get(app.status, "pending"),
                         done, len(app.tasks), _fmt_time(app.submitted_at), needs))
    return out


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


@dataclass
class ProgressView:
    application: Application
    number: str
    deceased: str
    death_date: date | None
    status_label: str
    tag_kind: str
    tasks: list[TaskView]
    timeline: list[TimelineItem]
    deadlines: list[st.PersonalDeadline]
    stamp: str
    today: date
    done: int
    live: bool  # still changing: keep polling

    @property
    def returned_tasks(self) -> list[TaskView]:
        return [t for t in self.tasks if t.status == st.RETURNED]


def task_views(session: Session, app: Application, on: date) -> list[TaskView]:
    tasks = sorted(app.tasks, key=lambda t: t.id)
    waiting = _waiting_on(session, [t.id for t in tasks if t.status == st.WAITING])
    promised = promises(app, on=on)
    out = []
    for t in tasks:
        result = t.result or {}
        step = result.get("correction_step") if t.status == st.RETURNED else None
        reason = result.get("refuse_reason") or t.message
        finished_on = _local(t.finished_at).date() if t.finished_at else None
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


def _timeline_item(e: Event) -> TimelineItem:
    return TimelineItem(_fmt_time(e.at), e.at.isoformat() if e.at else "", e.summary, e.actor_name or "", e.tag,
                        e.before, e.after)


def staff_timeline(session: Session, app: Application) -> list[TimelineItem]:
    """Every event of the application, newest first, labelled in staff words (event_wording)."""
    matters = {t.id: t.matter_code for t in app.tasks}
    query = select(Event).where(Event.application_id == app.id).order_by(Event.id.desc()).limit(200)
    items = []
    for e in session.scalars(query):
        facts = EventFacts(e.summary, e.after or {}, matter_name(matters[e.task_id]) if e.task_id in matters else "",
                           matter_name)
        label, detail = staff_wording(e.tag, facts)
        items.append(TimelineItem(_fmt_time(e.at), e.at.isoformat() if e.at else "", e.summary, e.actor_name or "",
                                  e.tag, e.before, e.after, label=label, detail=detail))
    return items


def _stamp(last_event: int, task_versions: int, task_count: int, app_version: int) -> str:
    raw = f"{last_event}:{task_versions}:{task_count}:{app_version}:{today().isoformat()}"
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
        query = query.where(Application.account_id == account_id, Application.status != st.APP_DRAFT)
    row = session.execute(query).first()
    if row is None:
        return None
    return _stamp(int(row[1]), int(row[2]), int(row[3]), int(row[0]))


def citizen_application(session: Session, application_id: int, account_id: int) -> Application | None:
    """The application if it belongs to this family member (None otherwise: shown as 404)."""
    return session.scalar(
        select(Application).where(Application.id == application_id, Application.account_id == account_id)
        .options(selectinload(Application.tasks).selectinload(DepartmentTask.depends_on),
                 joinedload(Application.deceased))
    )


def progress(session: Session, app: Application, *, on: date | None = None) -> ProgressView:
    on = on or today()
    tasks = task_views(session, app, on)
    death = app.deceased.death_time.date() if app.deceased and app.deceased.death_time else None
    codes = {t.matter_code for t in tasks}
    finished = {t.matter_code for t in tasks if t.status in st.FINISHED}
    deadlines = st.personal_deadlines(death, codes, finished) if death else []
    timeline_events = list(session.scalars(
        select(Event).where(Event.application_id == app.id, Event.public.is_(True)).order_by(Event.id.desc()).limit(200)))
    timeline = [_timeline_item(e) for e in timeline_events]
    return ProgressView(
        application=app, number=app.number or "", deceased=app.deceased.name if app.deceased else "",
        death_date=death, status_label=st.APP_FAMILY_LABELS.get(app.status, app.status),
        tag_kind=st.APP_TAG_KINDS.get(app.status, "pending"), tasks=tasks,
        timeline=timeline, deadlines=deadlines,
        stamp=_stamp(max((e.id for e in timeline_events), default=0), sum(t.version for t in app.tasks),
                     len(app.tasks), app.version), today=on,
        done=sum(1 for t in tasks if t.status in st.FINISHED),
        live=app.status in (st.APP_SUBMITTED, st.APP_ACCEPTED, st.APP_RETURNED),
    )


# --- staff: one application, one task --------------------------------------------------------------

MaskedField = pii.MaskedField  # a personal number as the back office shows it


@dataclass
class StaffApplicationView:
    application: Application
    deceased: Deceased | None
    applicant: Party | None
    recipient: Party | None
    tasks: list[TaskView]
    timeline: list[TimelineItem]
    personal: list[MaskedField]
    status_label: str
    tag_kind: str
    channel: str
    entered_by: str


SAME_AS_APPLICANT = "同申请人"


def _mask(kind: str, value: str | None) -> str:
    """A number masked through the one place that knows how (portal.services.pii)."""
    kinds = {"id": pii.Kind.ID_CARD, "phone": pii.Kind.PHONE, "account": pii.Kind.BANK_ACCOUNT}
    return pii.mask(kinds[kind], value) or "未填写"


def staff_application(session: Session, app: Application, vault: Vault, *, on: date | None = None,
                      revealed: dict[str, str] | None = None) -> StaffApplicationView:
    on = on or today()
    parties = {p.role: p for p in app.parties}
    personal = pii.masked_fields(app, vault, revealed)
    entered_by = ""
    if app.entered_by_staff_id:
        entered_by = session.scalar(select(StaffMember.name).where(StaffMember.id == app.entered_by_staff_id)) or ""
    return StaffApplicationView(
        application=app, deceased=app.deceased, applicant=parties.get("applicant"), recipient=parties.get("recipient"),
        tasks=task_views(session, app, on), timeline=staff_timeline(session, app),
        personal=personal, status_label=st.APP_STAFF_LABELS.get(app.status, app.status),
        tag_kind=st.APP_TAG_KINDS.get(app.status, "pending"), channel=CHANNELS.get(app.channel, app.channel),
        entered_by=entered_by,
    )


@dataclass
class StaffTaskView:
    task: DepartmentTask
    view: TaskView
    application: Application
    deceased: Deceased | None
    staff_label: st.TaskLabel
    actions: list[str]
    prerequisites: list[TaskView]
    medical_settlement: Any
    medical_deduction: Any
    fields: tuple[st.ResultField, ...]
    timeline: list[TimelineItem]
    assignee: str
    recipient: Party | None
    overdue: bool
    days_overdue: int


def staff_task(session: Session, task: DepartmentTask, *, on: date | None = None) -> StaffTaskView:
    on = on or today()
    app = task.application
    views = {v.id: v for v in task_views(session, app, on)}
    prereq_ids = [d.depends_on_id for d in task.depends_on]
    settlement = medical_settlement(session, app.id) if task.matter_code == "pension" else None
    assignee = ""
    if task.assignee_id:
        assignee = session.scalar(select(StaffMember.name).where(StaffMember.id == task.assignee_id)) or ""
    events = staff_timeline(session, app)
    late = st.is_overdue(task.status, task.deadline, on)
    return StaffTaskView(
        task=task, view=views[task.id], application=app, deceased=app.deceased,
        staff_label=st.staff_task_label(task.status, views[task.id].waiting_on),
        actions=st.task_actions(task.status) if app.status == st.APP_ACCEPTED else [],
        prerequisites=[views[i] for i in prereq_ids if i in views],
        medical_settlement=settlement,
        medical_deduction=st.medical_deduction(settlement) if settlement is not None else None,
        fields=st.result_fields(task.matter_code), timeline=events, assignee=assignee,
        recipient=next((p for p in app.parties if p.role == "recipient"), None),
        overdue=late, days_overdue=st.days_overdue(task.deadline, on) if late and task.deadline else 0,
    )
