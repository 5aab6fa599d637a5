"""Staff reminders: the daily digest of tasks due next working day and overdue, and escalation.

* `digest.staff` (08:30 China time): for each department and county with work due on the next
  working day or overdue, one text to that department's duty phone where one is configured
  (DUTY_PHONES); the back office shows the same counts on each officer's 工作台.
* `escalate.overdue` (10:00): a task overdue by ESCALATE_AFTER_WORKDAYS working days or more is
  reported once to the county's administrators: an event on the case (their 工作台 lists them)
  and one text per county to the administrators' duty phone where configured.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.workdays import add_working_days, working_days_between
from portal.models import DepartmentTask, Event, Notification
from portal.services import jobs, notifications
from portal.services.events import SYSTEM, record

ESCALATE_TAG = "system:task:escalate"
ADMIN_KEY = "admin"


@dataclass(frozen=True)
class QueueDigest:
    department: str
    county_code: str
    due_next: int
    overdue: int


def parse_duty_phones(value: str) -> dict[tuple[str, str], str]:
    """`renshe@330302=0577…,admin@330302=…` -> {(department or "admin", county): phone}."""
    phones: dict[tuple[str, str], str] = {}
    for item in value.split(","):
        key, _, phone = item.strip().partition("=")
        department, _, county = key.partition("@")
        if department and county and phone.strip():
            phones[(department.strip(), county.strip())] = phone.strip()
    return phones


def queue_digests(session: Session, today: date, *, department: str | None = None,
                  county_code: str | None = None) -> list[QueueDigest]:
    """Per department and county: open tasks due on the next working day, and overdue ones."""
    next_day = add_working_days(today, 1)
    running = DepartmentTask.status.in_(st.CLOCK_RUNNING)
    query = (select(DepartmentTask.department, DepartmentTask.county_code,
                    func.sum(case((DepartmentTask.deadline == next_day, 1), else_=0)),
                    func.sum(case((DepartmentTask.deadline < today, 1), else_=0)))
             .where(running, DepartmentTask.deadline.is_not(None), DepartmentTask.deadline <= next_day)
             .group_by(DepartmentTask.department, DepartmentTask.county_code)
             .order_by(DepartmentTask.county_code, DepartmentTask.department))
    if department is not None:
        query = query.where(DepartmentTask.department == department)
    if county_code is not None:
        query = query.where(DepartmentTask.county_code == county_code)
    return [QueueDigest(d, c, int(n or 0), int(o or 0)) for d, c, n, o in session.execute(query)]


def escalations_due(session: Session, today: date, after_workdays: int) -> list[DepartmentTask]:
    """Running tasks overdue by `after_workdays` working days or more, not yet escalated."""
    escalated = select(Event.task_id).where(Event.tag == ESCALATE_TAG, Event.task_id.is_not(None))
    candidates = session.scalars(select(DepartmentTask).where(
        DepartmentTask.status.in_(st.CLOCK_RUNNING), DepartmentTask.deadline < today,
        DepartmentTask.id.not_in(escalated)).order_by(DepartmentTask.deadline))
    return [t for t in candidates if t.deadline and working_days_between(t.deadline, today) >= after_workdays]


def escalated_open(session: Session, county_code: str | None = None) -> list[tuple[DepartmentTask, Event]]:
    """Tasks reported to the administrators that are still not finished (the admin's 工作台)."""
    query = (select(DepartmentTask, Event).join(Event, and_(Event.task_id == DepartmentTask.id,
                                                            Event.tag == ESCALATE_TAG))
             .where(DepartmentTask.status.in_(st.OPEN)).order_by(DepartmentTask.deadline))
    if county_code is not None:
        query = query.where(DepartmentTask.county_code == county_code)
    return [(task, event) for task, event in session.execute(query)]


def _staff_text(session: Session, vault: Any, phone: str, body: str) -> None:
    """A text to a duty phone (not a family): its own outbox row and delivery job."""
    session.add(Notification(application_id=None, channel="sms", phone_enc=vault.seal(phone),
                             body=notifications.SIGN + body, status="queued"))
    jobs.enqueue(session, notifications.FLUSH_KIND, {"application_id": None})


def _names() -> tuple[dict[str, str], dict[str, str]]:
    cat = default_catalogue()
    return {d.code: d.name for d in cat.departments}, {c.code: c.name for c in cat.counties}


@jobs.handler("digest.staff", "给部门值班电话发每日待办提醒")
def digest_job(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    settings, vault = ctx.extras["settings"], ctx.extras["vault"]
    phones = parse_duty_phones(settings.duty_phones)
    departments, counties = _names()
    for line in queue_digests(session, clock.today()):
        phone = phones.get((line.department, line.county_code))
        if phone is None or not (line.due_next or line.overdue):
            continue
        _staff_text(session, vault, phone, (
            f"{counties.get(line.county_code, line.county_code)}{departments.get(line.department, line.department)}："
            f"下一个工作日到期 {line.due_next} 件，已超期 {line.overdue} 件，请登录后台及时办理。"))


@jobs.handler("escalate.overdue", "超期事项上报区县管理员")
def escalate_job(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    settings, vault = ctx.extras["settings"], ctx.extras["vault"]
    today = clock.today()
    departments, counties = _names()
    per_county: dict[str, int] = defaultdict(int)
    for task in escalations_due(session, today, settings.escalate_after_workdays):
        assert task.deadline is not None
        late = working_days_between(task.deadline, today)
        record(session, SYSTEM, ESCALATE_TAG,
               f"{departments.get(task.department, task.department)}的事项已超期 {late} 个工作日，已上报区县管理员",
               application_id=task.application_id, task_id=task.id, after={"workdays_late": late})
        per_county[task.county_code] += 1
    phones = parse_duty_phones(settings.duty_phones)
    for county, count in per_county.items():
        phone = phones.get((ADMIN_KEY, county))
        if phone is not None:
            _staff_text(session, vault, phone, (
                f"{counties.get(county, county)}：今天有 {count} 个事项超期 {settings.escalate_after_workdays} "
                "个工作日以上，已列在管理员工作台，请督办。"))
