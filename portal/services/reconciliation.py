"""月对账: one county's (or the whole city's) deaths of a month with each department's state, the
exceptions first; departments confirm their part, the administrator closes the month, and a
closed month is frozen (what changes later is listed as amendments beside it).

Where the deaths come from: every case whose deceased died in the month (family applications on
any channel and joined proactive cases: the `deceased` row, found by the index on county and
time of death), proactive cases not yet claimed (their facts are the sealed draft answers), and
facts department systems pushed about someone with no case (`exchange_event` rows with no
application, by the month they arrived). The rules of the table are in portal/domain/reconciliation.py.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import reconciliation as rules
from portal.domain import status as st
from portal.domain.validators import mask_name
from portal.models import (
    Application,
    Deceased,
    DepartmentTask,
    ExchangeEvent,
    ReconConfirmation,
    ReconLine,
    ReconMonth,
)
from portal.services.applications import read_draft
from portal.services.casework import StaffLike, catalogue, clean_text, county_name, department_name, staff_actor
from portal.services.errors import Invalid, WorkflowError
from portal.services.events import record

NOT_A_CASE = (st.APP_DRAFT, st.APP_MERGED)
OPEN, CLOSED = "open", "closed"


# --- the month -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    month: str  # YYYY-MM
    start: date
    end: date  # the first day of the next month

    @property
    def utc_bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time.min, tzinfo=clock.CHINA),
                datetime.combine(self.end, time.min, tzinfo=clock.CHINA))


def period(month: str) -> Period:
    """The month YYYY-MM (Invalid with a message in Chinese otherwise)."""
    try:
        start = datetime.strptime((month or "").strip()[:7], "%Y-%m").date()
    except ValueError:
        raise Invalid({"month": "请按“年-月”填写月份，例如 2026-10"}) from None
    if not 2000 <= start.year <= 2100:
        raise Invalid({"month": "请按“年-月”填写月份，例如 2026-10"})
    end = (start + timedelta(days=32)).replace(day=1)
    return Period(f"{start:%Y-%m}", start, end)


def previous_month(today: date | None = None) -> str:
    first = (today or clock.today()).replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


# --- gathering what is known -----------------------------------------------------------------------

def _day(value: datetime | None) -> date | None:
    return clock.as_china(value).date() if value is not None else None


def _cases(session: Session, vault: Vault, county: str | None, p: Period, as_of: date) -> list[dict[str, Any]]:
    """The cases whose deceased died in the month, and unclaimed proactive cases of the month."""
    first, after = datetime.combine(p.start, time.min), datetime.combine(p.end, time.min)
    query = (select(Application.id, Application.number, Application.county_code, Application.submitted_at,
                    Application.created_at, Application.deceased_bidx, Deceased.name, Deceased.death_time)
             .join(Deceased, Deceased.application_id == Application.id)
             .where(Deceased.death_time >= first, Deceased.death_time < after, Application.status.not_in(NOT_A_CASE)))
    if county:
        query = query.where(Deceased.hukou_county == county)
    out = [{"id": r.id, "number": r.number, "county": r.county_code, "bidx": r.deceased_bidx,
            "person": mask_name(r.name), "died": r.death_time.date(),
            "known": min(d for d in (_day(r.submitted_at), _day(r.created_at)) if d)} for r in session.execute(query)]
    unclaimed = (select(Application).where(Application.status == st.APP_PROACTIVE,
                                           ~exists().where(Deceased.application_id == Application.id),
                                           Application.created_at >= p.utc_bounds[0] - timedelta(days=31)))
    if county:
        unclaimed = unclaimed.where(Application.county_code == county)
    for app in session.scalars(unclaimed):
        answers = read_draft(vault, app).answers
        try:
            died = date.fromisoformat(str(answers.get("death_date")))
        except ValueError:
            died = _day(app.created_at) or as_of
        if p.start <= died < p.end:
            out.append({"id": app.id, "number": app.number, "county": app.county_code, "bidx": app.deceased_bidx,
                        "person": mask_name(str(answers.get("d_name") or "")) or "（未知）", "died": died,
                        "known": _day(app.created_at)})
    return out


def _events(session: Session, bidxs: Iterable[str]) -> dict[str, list[ExchangeEvent]]:
    found: dict[str, list[ExchangeEvent]] = defaultdict(list)
    keys = [b for b in set(bidxs) if b]
    for i in range(0, len(keys), 500):
        for e in session.scalars(select(ExchangeEvent).where(ExchangeEvent.deceased_bidx.in_(keys[i:i + 500]))):
            found[e.deceased_bidx or ""].append(e)
    return found


def _fact(e: ExchangeEvent) -> rules.EventFact:
    return rules.EventFact(e.type, e.department, _day(e.received_at) or clock.today(), e.outcome)


def gather(session: Session, vault: Vault, county: str | None, p: Period, *, as_of: date) -> list[rules.Person]:
    """Every death of the month known from any channel, and everyone departments reported on
    that month without a case, as plain facts."""
    cases = _cases(session, vault, county, p, as_of)
    tasks: dict[int, list[rules.TaskFact]] = defaultdict(list)
    ids = [c["id"] for c in cases]
    for i in range(0, len(ids), 500):
        for t in session.execute(select(DepartmentTask.application_id, DepartmentTask.matter_code, DepartmentTask.status,
                                        DepartmentTask.finished_at, DepartmentTask.result)
                                 .where(DepartmentTask.application_id.in_(ids[i:i + 500]))):
            cancelled = (t.result or {}).get("cancelled_on")
            tasks[t.application_id].append(rules.TaskFact(
                t.matter_code, t.status, _day(t.finished_at), date.fromisoformat(cancelled) if cancelled else None))
    events = _events(session, (c["bidx"] for c in cases))
    people = []
    for c in cases:
        facts = tuple(_fact(e) for e in events.get(c["bidx"] or "", []))
        known = min([c["known"]] + [f.received_on for f in facts if f.type in rules.DEATH_TYPES])
        people.append(rules.Person(f"app:{c['id']}", c["person"], c["id"], c["number"], c["died"], known,
                                   tuple(tasks[c["id"]]), facts, c["county"]))
    people += _orphans(session, county, p, {c["bidx"] for c in cases})
    return people


def _orphans(session: Session, county: str | None, p: Period, seen: set[str]) -> list[rules.Person]:
    """Facts of the month about someone with no case at all (grouped by the blind index)."""
    first, after = p.utc_bounds
    query = select(ExchangeEvent).where(ExchangeEvent.application_id.is_(None), ExchangeEvent.received_at >= first,
                                        ExchangeEvent.received_at < after)
    if county:
        query = query.where(ExchangeEvent.county_code == county)
    grouped: dict[str, list[ExchangeEvent]] = defaultdict(list)
    for e in session.scalars(query):
        if e.deceased_bidx not in seen:  # a fact whose index retention cleared stands alone
            grouped[e.deceased_bidx or f"#{e.id}"].append(e)
    if not grouped:
        return []
    with_case = set(session.scalars(select(Application.deceased_bidx).where(
        Application.deceased_bidx.in_(list(grouped)), Application.status.not_in(NOT_A_CASE))))
    out = []
    for bidx, found in grouped.items():
        if bidx in with_case:
            continue  # the person has a case (of another month): that month lists them
        found.sort(key=lambda e: e.received_at)
        label = f"门户无案件（{found[0].client_name}报送）"[:60]
        out.append(rules.Person(f"fact:{found[0].id}", label, None, None, None, _day(found[0].received_at), (),
                                tuple(_fact(e) for e in found), found[0].county_code))
    return out


# --- rows as the page, the files and the frozen month show them ------------------------------------

@dataclass
class Row:
    key: str
    application_id: int | None
    number: str
    person: str
    county: str
    death_date: date | None
    known_on: date | None
    cells: dict[str, dict[str, Any]]
    exceptions: list[list[str]]


def _row(line: rules.Line) -> Row:
    p = line.person
    return Row(p.key, p.application_id, p.number or "", p.person, p.county or "", p.death_date, p.known_on,
               {k: c.as_dict() for k, c in line.cells.items()}, [list(x) for x in line.exceptions])


def live_rows(session: Session, vault: Vault, county: str | None, p: Period, *, as_of: date,
              overdue_after: int) -> list[Row]:
    people = gather(session, vault, county, p, as_of=as_of)
    return [_row(x) for x in rules.ordered([rules.line(person, as_of=as_of, overdue_after=overdue_after)
                                            for person in people])]


def _frozen(session: Session, month: ReconMonth) -> list[Row]:
    lines = session.scalars(select(ReconLine).where(ReconLine.month_id == month.id).order_by(ReconLine.id))
    return [Row(x.key, x.application_id, x.number or "", x.person, month.county_code, x.death_date, x.known_on,
                dict(x.cells), [list(e) for e in x.exceptions]) for x in lines]


@dataclass
class Amendment:
    key: str
    person: str
    words: str


def amendments(frozen: Sequence[Row], live: Sequence[Row]) -> list[Amendment]:
    """What changed since the month was closed, line by line (the frozen table itself never changes)."""
    before, after = {r.key: r for r in frozen}, {r.key: r for r in live}
    out = []
    for key, row in after.items():
        old = before.get(key)
        if old is None:
            out.append(Amendment(key, row.person, "结账后补报的记录"))
            continue
        for column in rules.COLUMNS:
            was, now = old.cells.get(column.code) or {}, row.cells.get(column.code) or {}
            if (was.get("state"), was.get("on")) != (now.get("state"), now.get("on")):
                out.append(Amendment(key, row.person, f"{column.label}：{was.get('text', '')}"
                                     f"{'（' + str(was['on']) + '）' if was.get('on') else ''} → {now.get('text', '')}"
                                     f"{'（' + str(now['on']) + '）' if now.get('on') else ''}"))
    out += [Amendment(k, r.person, "结账后这条记录不再属于本月") for k, r in before.items() if k not in after]
    return out


# --- the month's state: confirmations and closing ---------------------------------------------------

@dataclass
class MonthView:
    month: str
    county: str | None
    county_label: str
    status: str  # open | closed (the city view is closed when every county is)
    rows: list[Row]
    as_of: date
    confirmations: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    amendments: list[Amendment] = field(default_factory=list)
    closed_by: str | None = None
    closed_at: datetime | None = None

    @property
    def exceptions(self) -> list[Row]:
        return [r for r in self.rows if r.exceptions]

    @property
    def zero_report(self) -> bool:
        return not self.rows

    @property
    def unconfirmed(self) -> list[str]:
        return [d for d in rules.CONFIRMING if d not in self.confirmations]


def month_row(session: Session, month: str, county: str, *, create: bool = False) -> ReconMonth | None:
    found = session.scalar(select(ReconMonth).where(ReconMonth.month == month, ReconMonth.county_code == county))
    if found is None and create:
        found = ReconMonth(month=month, county_code=county, status=OPEN, generated_at=clock.now())
        session.add(found)
        session.flush()
    return found


def view(session: Session, vault: Vault, month: str, county: str | None, *, overdue_after: int) -> MonthView:
    """The month for one county (frozen if closed, with amendments) or the whole city (live)."""
    p = period(month)
    label = county_name(county) or "全市"
    row = month_row(session, p.month, county) if county else None
    if row is not None and row.status == CLOSED and row.as_of is not None:
        frozen = _frozen(session, row)
        live = live_rows(session, vault, county, p, as_of=row.as_of, overdue_after=overdue_after)
        out = MonthView(p.month, county, label, CLOSED, frozen, row.as_of, amendments=amendments(frozen, live),
                        closed_by=row.closed_by_name, closed_at=row.closed_at)
    else:
        as_of = clock.today()
        out = MonthView(p.month, county, label, OPEN, live_rows(session, vault, county, p, as_of=as_of,
                                                                  overdue_after=overdue_after), as_of)
    if row is not None:
        out.confirmations = {c.department: (c.staff_name, c.confirmed_at) for c in session.scalars(
            select(ReconConfirmation).where(ReconConfirmation.month_id == row.id))}
    return out


def confirm(session: Session, month: str, staff: StaffLike, note: str | None = None, *,
            ip: str | None = None) -> ReconMonth:
    """An officer confirms their department's part of their county's month."""
    p = period(month)
    if not staff.county_code or staff.department not in rules.CONFIRMING:
        raise WorkflowError("只有参与月对账的部门（本县）经办人可以确认。")
    row = month_row(session, p.month, staff.county_code, create=True)
    assert row is not None
    if row.status == CLOSED:
        raise WorkflowError(f"{p.month} 的对账已经结账，不能再确认；之后的变化会作为更正列出。")
    text = clean_text(note, limit=300, field="note", label="说明") or None
    existing = session.scalar(select(ReconConfirmation).where(ReconConfirmation.month_id == row.id,
                                                              ReconConfirmation.department == staff.department))
    if existing is None:
        session.add(ReconConfirmation(month_id=row.id, department=staff.department or "", staff_id=staff.id,
                                      staff_name=staff.name, confirmed_at=clock.now(), note=text))
    record(session, staff_actor(staff, ip), "staff:reconcile:confirm",
           f"{department_name(staff.department)}确认了{county_name(staff.county_code)} {p.month} 的月对账",
           after={"month": p.month, "county": staff.county_code, "department": staff.department})
    session.flush()
    return row


def close(session: Session, vault: Vault, month: str, county: str, staff: StaffLike, *, overdue_after: int,
          ip: str | None = None) -> ReconMonth:
    """The administrator closes a county's month once every department confirmed: its lines are frozen."""
    p = period(month)
    if county not in {c.code for c in catalogue().counties}:
        raise Invalid({"county": "请选择要结账的县（市、区）"})
    if p.end > clock.today():
        raise WorkflowError(f"{p.month} 还没有过完，月底以后才能结账。")
    row = month_row(session, p.month, county, create=True)
    assert row is not None
    if row.status == CLOSED:
        raise WorkflowError(f"{county_name(county)} {p.month} 的对账已经结账。")
    done = {c.department for c in session.scalars(select(ReconConfirmation).where(ReconConfirmation.month_id == row.id))}
    missing = [department_name(d) for d in rules.CONFIRMING if d not in done]
    if missing:
        raise WorkflowError("还有部门没有确认：" + "、".join(missing) + "。请等各部门确认后再结账。")
    as_of = clock.today()
    rows = live_rows(session, vault, county, p, as_of=as_of, overdue_after=overdue_after)
    for r in rows:
        session.add(ReconLine(month_id=row.id, key=r.key, application_id=r.application_id, number=r.number or None,
                              person=r.person, death_date=r.death_date, known_on=r.known_on, cells=r.cells,
                              exceptions=r.exceptions))
    row.status, row.closed_at, row.closed_by, row.closed_by_name, row.as_of = CLOSED, clock.now(), staff.id, staff.name, as_of
    record(session, staff_actor(staff, ip), "staff:reconcile:close",
           f"{county_name(county)} {p.month} 月对账结账：{len(rows)} 条记录，异常 {sum(1 for r in rows if r.exceptions)} 条",
           after={"month": p.month, "county": county, "lines": len(rows)})
    session.flush()
    return row


def open_months(session: Session, month: str) -> int:
    """The 10th: every county's month is opened for confirmation (idempotent); returns how many are new."""
    p = period(month)
    new = 0
    for c in catalogue().counties:
        if month_row(session, p.month, c.code) is None:
            month_row(session, p.month, c.code, create=True)
            new += 1
    return new
