"""Statistics that show whether the promise is kept (工作进度定期通报), for administrators (the city
or one county) and for each department officer (their department in their county).

Every figure is one query over the case tables, filtered by county and by a period of China
dates, and summarised in Python (medians and percentiles are not portable SQL). What a figure
counts is said once, next to it, in `docs/reconciliation.md` too:

* applications per week: submitted applications (编号 given) by the Monday of the week they were
  submitted (an unclaimed proactive case: opened), per channel;
* completion time: finished (办结) tasks in the period, in working days from the day their clock
  started to the day they finished. The clock's start is read back from the stored deadline (the
  one deadline rule, domain/deadlines.py: deadline = start + time limit), so a clock restarted after
  a correction counts from the restart, as the department's promise does;
* the death certificate: hours from the window's acceptance to 卫健's 死亡医学证明核验 finishing,
  against the 3 hours of the Ninghai bulletin;
* overdue: open tasks whose clock runs past their deadline today, by department and county;
* zero trips (零跑腿): completed applications whose channel is not 窗口代办（家属到场）. The portal
  records no other visit, so this is an upper bound: a family may still have gone to a counter;
* corrections: tasks sent back to the family (each return is an event), per matter and per part
  of the form named in the return.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.reference import CHANNELS
from portal.domain.workdays import working_days_between
from portal.models import Application, DepartmentTask, Event
from portal.services.casework import StaffLike, catalogue

CERTIFICATE_MATTER = "certificate"
NOT_A_CASE = (st.APP_DRAFT, st.APP_MERGED)
NINGHAI_CERTIFICATE_HOURS = 3.0  # Seed B: average ≈3 hours (previously 2-3 days)
DEFAULT_WEEKS = 12
CHANNEL_LABELS = {**dict(CHANNELS), "proactive": "主动办"}


@dataclass(frozen=True)
class Scope:
    """Whose figures: a county (None = the whole city), a department (None = all), and a period."""

    county: str | None
    department: str | None
    start: date  # first day, China time
    end: date  # last day, inclusive

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=clock.CHINA)
        after = datetime.combine(self.end + timedelta(days=1), datetime.min.time(), tzinfo=clock.CHINA)
        return first, after


def _parse_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def scope_for(staff: StaffLike, role: str, params: dict[str, str]) -> Scope:
    """The scope a staff member asked for in the URL, narrowed to what they may see.

    An officer sees their department (in their county if they have one); an administrator of a
    county sees that county; a city administrator any county or the whole city.
    """
    today = clock.today()
    end = _parse_day(params.get("to")) or today
    start = _parse_day(params.get("from")) or end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=3 * 366))  # a bounded period keeps every query bounded
    known = {c.code for c in catalogue().counties}
    county = params.get("county") or None
    county = county if county in known else None
    if staff.county_code:
        county = staff.county_code
    department = staff.department if role == "officer" else None
    return Scope(county, department, start, end)


# --- the figures ------------------------------------------------------------------------------

@dataclass
class WeekRow:
    week: date  # Monday
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class TimingRow:
    matter: str
    matter_name: str
    department_name: str
    limit_days: int
    finished: int
    median_days: float | None
    p90_days: float | None
    late: int


@dataclass
class CertificateTiming:
    cases: int
    median_hours: float | None
    p90_hours: float | None
    within_headline: int
    headline_hours: float = NINGHAI_CERTIFICATE_HOURS


@dataclass
class OverdueRow:
    department: str
    department_name: str
    by_county: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_county.values())


@dataclass
class CorrectionRow:
    matter: str
    matter_name: str
    returns: int
    steps: dict[str, int]


@dataclass
class Statistics:
    scope: Scope
    channels: list[tuple[str, str]]
    weeks: list[WeekRow]
    timings: list[TimingRow]
    certificate: CertificateTiming
    overdue: list[OverdueRow]
    overdue_counties: list[tuple[str, str]]
    completed: int
    zero_trips: int
    corrections: list[CorrectionRow]
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def zero_trip_share(self) -> float | None:
        return self.zero_trips / self.completed if self.completed else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _app_filter(scope: Scope) -> list[Any]:
    where: list[Any] = [Application.number.is_not(None)]
    if scope.county:
        where.append(Application.county_code == scope.county)
    if scope.department:
        where.append(exists().where(and_(DepartmentTask.application_id == Application.id,
                                         DepartmentTask.department == scope.department)))
    return where


def _task_filter(scope: Scope) -> list[Any]:
    where: list[Any] = []
    if scope.county:
        where.append(DepartmentTask.county_code == scope.county)
    if scope.department:
        where.append(DepartmentTask.department == scope.department)
    return where


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def applications_per_week(session: Session, scope: Scope) -> list[WeekRow]:
    first, after = scope.utc_bounds
    weeks: dict[date, Counter[str]] = {}
    day = monday(scope.start)
    while day <= scope.end:
        weeks[day] = Counter()
        day += timedelta(weeks=1)
    # a proactive case nobody has claimed yet counts from the day it was opened
    arrived = func.coalesce(Application.submitted_at, Application.created_at)
    for submitted, channel in session.execute(
        select(arrived, Application.channel)
        .where(*_app_filter(scope), Application.status.not_in(NOT_A_CASE), arrived >= first, arrived < after)
    ):
        if submitted is not None:
            weeks[monday(clock.as_china(submitted).date())][channel] += 1
    return [WeekRow(w, dict(c)) for w, c in weeks.items()]


def _local_day(value: datetime) -> date:
    return clock.as_china(value).date()


def elapsed_working_days(limit_days: int, deadline: date, finished_on: date) -> int:
    """Working days from the clock's start to the finish, the start read back from the deadline."""
    return max(0, limit_days - working_days_between(finished_on, deadline))


def completion_times(session: Session, scope: Scope) -> tuple[list[TimingRow], CertificateTiming]:
    first, after = scope.utc_bounds
    cat = catalogue()
    days: dict[str, list[float]] = defaultdict(list)
    late: Counter[str] = Counter()
    hours: list[float] = []
    for code, deadline, finished, accepted in session.execute(
        select(DepartmentTask.matter_code, DepartmentTask.deadline, DepartmentTask.finished_at, Application.accepted_at)
        .join(Application, Application.id == DepartmentTask.application_id)
        .where(*_task_filter(scope), DepartmentTask.status == st.DONE,
               DepartmentTask.finished_at >= first, DepartmentTask.finished_at < after)
    ):
        if finished is None:
            continue
        finished_on = _local_day(finished)
        if deadline is not None:
            limit = _limit(cat, code)
            days[code].append(elapsed_working_days(limit, deadline, finished_on))
            late[code] += st.finished_late(st.DONE, deadline, finished_on)
        if code == CERTIFICATE_MATTER and accepted is not None:
            hours.append(max(0.0, (_aware(finished) - _aware(accepted)).total_seconds() / 3600))
    rows = []
    for matter in cat.matters:
        if scope.department and matter.department != scope.department:
            continue
        values = days.get(matter.code, [])
        rows.append(TimingRow(matter.code, matter.name, cat.department(matter.department).name, matter.time_limit_days,
                              len(values), percentile(values, 50), percentile(values, 90), late[matter.code]))
    certificate = CertificateTiming(len(hours), percentile(hours, 50), percentile(hours, 90),
                                    sum(1 for h in hours if h <= NINGHAI_CERTIFICATE_HOURS))
    return rows, certificate


def _aware(value: datetime) -> datetime:
    return clock.as_china(value)


def _limit(cat: Any, code: str) -> int:
    try:
        return int(cat.matter(code).time_limit_days)
    except KeyError:
        return 0


def overdue_now(session: Session, scope: Scope) -> list[OverdueRow]:
    """Open tasks whose clock runs past their deadline today (as the queues count them)."""
    today = clock.today()
    cat = catalogue()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for dept, county, n in session.execute(
        select(DepartmentTask.department, DepartmentTask.county_code, func.count())
        .where(*_task_filter(scope), DepartmentTask.status.in_(tuple(st.CLOCK_RUNNING)), DepartmentTask.deadline < today)
        .group_by(DepartmentTask.department, DepartmentTask.county_code)
    ):
        found[dept][county] = int(n)
    return [OverdueRow(d.code, d.name, found.get(d.code, {})) for d in cat.departments
            if not scope.department or d.code == scope.department]


def zero_trips(session: Session, scope: Scope) -> tuple[int, int]:
    """(completed applications in the period, those not entered at the window with the family present)."""
    first, after = scope.utc_bounds
    rows = session.execute(
        select(Application.channel, func.count())
        .where(*_app_filter(scope), Application.status == st.APP_COMPLETED,
               Application.completed_at >= first, Application.completed_at < after)
        .group_by(Application.channel)
    ).all()
    completed = sum(int(n) for _, n in rows)
    return completed, sum(int(n) for channel, n in rows if channel != "walk_in")


def corrections(session: Session, scope: Scope) -> list[CorrectionRow]:
    """Every return of a task to the family in the period (staff:task:return events), by matter and step."""
    first, after = scope.utc_bounds
    cat = catalogue()
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for code, after_state in session.execute(
        select(DepartmentTask.matter_code, Event.after)
        .join(DepartmentTask, DepartmentTask.id == Event.task_id)
        .where(*_task_filter(scope), Event.tag == "staff:task:return", Event.at >= first, Event.at < after)
    ):
        step = ((after_state or {}).get("result") or {}).get("correction_step") or "other"
        per[code][step] += 1
    return [CorrectionRow(m.code, m.name, sum(per[m.code].values()), dict(per[m.code])) for m in cat.matters
            if m.code in per]


def statistics(session: Session, scope: Scope) -> Statistics:
    """Every figure of the statistics page for one scope."""
    timings, certificate = completion_times(session, scope)
    completed, zero = zero_trips(session, scope)
    weeks = applications_per_week(session, scope)
    used = {c for w in weeks for c in w.counts}
    channels = [(code, label) for code, label in CHANNEL_LABELS.items() if code in used or code in dict(CHANNELS)]
    channels += [(code, code) for code in sorted(used - set(CHANNEL_LABELS))]
    cat = catalogue()
    counties = [(c.code, c.name) for c in cat.counties if not scope.county or c.code == scope.county]
    return Statistics(scope, channels, weeks, timings, certificate, overdue_now(session, scope), counties,
                      completed, zero, corrections(session, scope))
