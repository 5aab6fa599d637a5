"""The monthly reconciliation (月对账, Seed B §1.8): for every death of a month, where each department
stands, and the discrepancies to chase, so that no dead person keeps drawing a pension.

Pure rules over plain facts (the service gathers them from the cases, the department tasks and
the facts department systems pushed): which columns there are, what a cell says, and which lines
are exceptions:

* **overdue** (逾期未停发/未注销): the death has been known for more than N working days and the
  household is not cancelled, or a benefit the case carries is not stopped;
* **stop with no death** (有停发无死亡): a department reported a stop or a cancellation for someone
  the portal knows no death of;
* **missing at one side** (一方有一方无): a department's system reported the death or a stop the
  portal's case does not show (no case at all, or the task still open), so one side is missing it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from portal.domain import status as st
from portal.domain.workdays import add_working_days, working_days_between

PREFIX = "cn.gov.zj.shenhou."
DEATH_TYPES = frozenset({PREFIX + "death-certificate.issued", PREFIX + "body.received", PREFIX + "cremation.completed"})
STOP_TYPES = frozenset({PREFIX + "household.cancelled", PREFIX + "benefit.stopped", PREFIX + "benefit.paid",
                        PREFIX + "medical-account.settled", PREFIX + "provident-fund.settled"})
#: the system's answer when it could not act on the fact (exchange_event.outcome)
NOT_APPLIED = frozenset({"no_case", "informed", "not_ready", "exception"})


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    department: str
    matters: tuple[str, ...]  # the first one present on the case is the one shown
    required: bool = False  # every death needs it (户口注销)
    benefit: bool = False  # a benefit that must stop once the case carries it


COLUMNS: tuple[Column, ...] = (
    Column("hukou", "户口注销", "gongan", ("hukou",), required=True),
    Column("pension", "养老金/社保停发", "renshe", ("pension_stop", "pension"), benefit=True),
    Column("assistance", "民政待遇停发", "minzheng", ("assistance",), benefit=True),
    Column("veteran", "退役军人待遇停发", "tuiyi", ("veteran",), benefit=True),
    Column("disability", "残联补贴停发", "canlian", ("disability",), benefit=True),
    Column("medical", "医保清算", "yibao", ("medical",)),
    Column("provident", "公积金", "gongjijin", ("provident",)),
)
BY_DEPARTMENT = {c.department: c for c in COLUMNS}
#: departments that confirm their part of a month
CONFIRMING = tuple(dict.fromkeys(c.department for c in COLUMNS))

EXCEPTION_WORDS = {"overdue": "逾期未停发/未注销", "stop_no_death": "有停发无死亡", "missing": "一方有一方无"}


@dataclass(frozen=True)
class TaskFact:
    matter: str
    status: str
    finished_on: date | None = None
    result_on: date | None = None  # e.g. the 户口注销日期 the officer recorded


@dataclass(frozen=True)
class EventFact:
    type: str
    department: str
    received_on: date
    outcome: str


@dataclass(frozen=True)
class Person:
    """One deceased as the portal knows them: a case (application) or only facts departments sent."""

    key: str  # app:<application id> | fact:<first exchange_event id> (no case)
    person: str  # masked name, or what is known
    application_id: int | None = None
    number: str | None = None
    death_date: date | None = None
    known_on: date | None = None
    tasks: tuple[TaskFact, ...] = ()
    events: tuple[EventFact, ...] = ()
    county: str | None = None


@dataclass(frozen=True)
class Cell:
    state: str  # done | open | refused | reported | none
    text: str
    on: date | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"state": self.state, "text": self.text, "on": self.on.isoformat() if self.on else None}


@dataclass
class Line:
    person: Person
    cells: dict[str, Cell]
    exceptions: list[tuple[str, str]] = field(default_factory=list)  # (kind, words)


def _task_for(column: Column, tasks: tuple[TaskFact, ...]) -> TaskFact | None:
    found = {t.matter: t for t in tasks}
    return next((found[m] for m in column.matters if m in found), None)


def _column_of(event: EventFact) -> Column | None:
    if event.type not in STOP_TYPES:
        return None
    return BY_DEPARTMENT.get(event.department)


def cell(column: Column, person: Person) -> Cell:
    """What the reconciliation says of one department's part of one death."""
    task = _task_for(column, person.tasks)
    reported = sorted((e for e in person.events if _column_of(e) is column), key=lambda e: e.received_on)
    if task is not None and task.status == st.DONE:
        return Cell("done", "已办结", task.result_on or task.finished_on)
    if task is not None and task.status == st.REFUSED:
        return Cell("refused", "不予办理", task.finished_on)
    if reported:
        return Cell("reported", "部门系统已报送", reported[0].received_on)
    if task is not None:
        return Cell("open", st.STAFF_LABELS.get(task.status, task.status))
    return Cell("none", "无此事项")


def line(person: Person, *, as_of: date, overdue_after: int) -> Line:
    """One death (or one person departments reported on) with its cells and exceptions."""
    cells = {c.code: cell(c, person) for c in COLUMNS}
    out = Line(person, cells)
    deaths = [e for e in person.events if e.type in DEATH_TYPES]
    stops = [e for e in person.events if e.type in STOP_TYPES]
    if person.application_id is None:
        if deaths:
            names = "、".join(sorted({e.department for e in deaths}))
            out.exceptions.append(("missing", f"部门系统报送了死亡（{names}），门户没有这位逝者的案件"))
        elif stops:
            out.exceptions.append(("stop_no_death", "部门报送了停发或注销，门户没有这位逝者的死亡记录"))
        return out
    # the date test first: it costs N steps, the count a step per day since the death became known
    known = (_working_days(person.known_on, as_of)
             if person.known_on is not None and as_of > _deadline(person.known_on, overdue_after) else 0)
    for c in COLUMNS:
        here = cells[c.code]
        carried = _task_for(c, person.tasks) is not None
        if known > overdue_after and (c.required or (c.benefit and carried)) and here.state in ("open", "none"):
            out.exceptions.append(("overdue", f"{c.label}：去世信息已知 {known} 个工作日，仍未办结"))
    for e in stops:
        target = _column_of(e)
        if target is not None and e.outcome in NOT_APPLIED and cells[target.code].state not in ("done", "refused"):
            out.exceptions.append(("missing", f"{target.label}：部门系统已报送，门户的事项未办结"))
    return out


@lru_cache(maxsize=4096)
def _deadline(known_on: date, workdays: int) -> date:
    """The last day a death known on `known_on` may still be open (a county's month shares few dates)."""
    return add_working_days(known_on, workdays)


@lru_cache(maxsize=4096)
def _working_days(known_on: date, as_of: date) -> int:
    return working_days_between(known_on, as_of)


def ordered(lines: list[Line]) -> list[Line]:
    """Exceptions first (most first), then by date of death."""
    return sorted(lines, key=lambda x: (-len(x.exceptions), x.person.death_date or date.max, x.person.key))
