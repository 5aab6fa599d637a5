"""Read side of the back office: the window's queue, officers' queues, the administrator's
overview and each staff member's workbench (工作台).

Queries return small view objects (plain dataclasses) so templates never touch the DB.
Queues are one indexed query each (ix_task_queue: department, county, status, deadline) with
overdue-first ordering computed in SQL and a LIMIT, so they stay fast with many applications.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.reference import ORIGIN_CHANNELS
from portal.models import Application, Deceased, DepartmentTask, Party
from portal.services import digest, queue_sql
from portal.services.casework import StaffLike, catalogue, matter_name
from portal.services.progress import correction_requests as correction_requests  # web/apply.py asks here
from portal.services.progress import waiting_on

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
    "proactive": ("主动办（待家属补充）", (st.APP_PROACTIVE,)),
}
CHANNELS = dict(ORIGIN_CHANNELS)


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
    on = on or clock.today()
    status = status if status in TASK_FILTERS else "todo"
    q = (q or "").strip()
    if q:
        ids, counts, total, overdue_total = _search_ids(session, staff, q, status, overdue_only, on, offset, limit)
    else:
        ids, counts, total, overdue_total = _queue_ids(session, staff, status, overdue_only, on, offset, limit)
    found = {r.id: r for r in session.execute(queue_sql.ROWS, {"ids": ids})} if ids else {}
    rows = [found[i] for i in ids if i in found]

    waiting_names = waiting_on(session, [r.id for r in rows if r.status == st.WAITING])
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


def _queue_ids(session: Session, staff: StaffLike, status: str, overdue_only: bool, on: date, offset: int,
               limit: int) -> tuple[list[int], dict[str, int | None], int, int]:
    """One page of task ids from the covering index, the per-status counts and the totals.

    Open work is counted on every view; closed tasks (done, refused) grow with every year of
    history, so they are counted only on the view that lists them (bench: docs/decisions.md).
    """
    statuses = TASK_FILTERS[status][1]
    shape = queue_sql.shape(statuses, status == "all", overdue_only, bool(staff.county_code))
    values = {"dept": staff.department or "", "county": staff.county_code, "on": on,
              "offset": offset, "limit": limit, "n": offset + limit}
    if shape.merged:
        merged = sorted((d or date.max, i) for d, i in session.execute(shape.page, values))
        ids = [i for _, i in merged[offset:offset + limit]]
    else:
        ids = list(session.scalars(shape.page, values))
    by_status: dict[str, int] = {}
    overdue_total = 0
    for code, late, n in session.execute(shape.counts, values):
        if late:
            overdue_total += n
        else:
            by_status[code] = n
    counted_all = set(queue_sql.OPEN_COUNTED) | set(statuses)
    if shape.waiting is not None:  # the one count that needs the applications: only when asked for
        by_status[st.WAITING] = int(session.scalar(shape.waiting, values) or 0)
    counts: dict[str, int | None] = {
        key: sum(by_status.get(s, 0) for s in sts) if set(sts) <= counted_all else None  # None: not counted here
        for key, (_, sts) in TASK_FILTERS.items()}
    total = int(session.scalar(shape.total, values) or 0) if shape.total is not None else counts.get(status) or 0
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
    out = [WindowRow(r[0], r[1] or "", r[2] or "", r[3] or "", clock.cn_datetime(r[4]), CHANNELS.get(r[5], r[5]) or "",
                     st.APP_STAFF_LABELS.get(r[6], r[6]) or "", r[7]) for r in rows]
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
    on = on or clock.today()
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


# --- 工作台: what is waiting for one staff member ------------------------------------------------------

class WorkbenchStaff(StaffLike, Protocol):
    @property
    def role(self) -> str: ...


@dataclass
class Escalated:
    application_id: int
    summary: str
    matter: str


@dataclass
class Workbench:
    to_accept: int = 0
    todo: int = 0
    overdue: int = 0
    due_next: int = 0
    escalated: list[Escalated] = field(default_factory=list)


def workbench(session: Session, staff: WorkbenchStaff) -> Workbench:
    """The counts on the home page: the window's submissions, an officer's queue, the escalations."""
    out = Workbench()
    if staff.role in ("window_clerk", "admin"):
        out.to_accept = window_queue(session, staff, limit=1)[1].get("submitted", 0)
    if staff.role == "officer":
        page = officer_queue(session, staff, limit=1)
        out.todo, out.overdue = page.counts.get("todo") or 0, page.overdue_total
        out.due_next = sum(d.due_next for d in digest.queue_digests(
            session, clock.today(), department=staff.department, county_code=staff.county_code))
    if staff.role == "admin":
        out.escalated = [Escalated(t.application_id, e.summary, matter_name(t.matter_code))
                         for t, e in digest.escalated_open(session, staff.county_code)]
    return out
