"""The 月对账's rules on plain facts (portal/domain/reconciliation.py): cells, the three exception
kinds, and the working-day threshold across a weekend."""
from __future__ import annotations

from datetime import date

from portal.domain import reconciliation as rules
from portal.domain.workdays import working_days_between

P = rules.PREFIX
HUKOU_DONE = rules.TaskFact("hukou", "done", date(2026, 10, 14), date(2026, 10, 13))


def person(**kw: object) -> rules.Person:
    base: dict[str, object] = {"key": "app:1", "person": "赵*厚", "application_id": 1, "number": "330302-1",
                               "death_date": date(2026, 10, 12), "known_on": date(2026, 10, 13)}
    return rules.Person(**{**base, **kw})  # type: ignore[arg-type]


def test_cells_say_state_and_date() -> None:
    p = person(tasks=(HUKOU_DONE, rules.TaskFact("pension", "pending")))
    cells = rules.line(p, as_of=date(2026, 10, 14), overdue_after=5).cells
    assert cells["hukou"] == rules.Cell("done", "已办结", date(2026, 10, 13))  # the cancellation date, not the click
    assert cells["pension"] == rules.Cell("open", "待接办")
    assert cells["veteran"].state == "none"


def test_overdue_only_after_n_working_days_and_only_for_what_must_stop() -> None:
    p = person(tasks=(HUKOU_DONE, rules.TaskFact("pension", "in_progress"), rules.TaskFact("medical", "pending")))
    known = date(2026, 10, 13)  # a Tuesday
    on_time = date(2026, 10, 20)  # 5 working days later
    assert working_days_between(known, on_time) == 5
    assert rules.line(p, as_of=on_time, overdue_after=5).exceptions == []
    assert rules.line(p, as_of=date(2026, 10, 21), overdue_after=5).exceptions == [
        ("overdue", "养老金/社保停发：去世信息已知 6 个工作日，仍未办结")]  # 医保清算 is not a benefit stop
    friday = person(known_on=date(2026, 11, 13), tasks=(HUKOU_DONE, rules.TaskFact("pension", "pending")))
    assert working_days_between(date(2026, 11, 13), date(2026, 11, 21)) == 5  # the Saturday after does not count
    assert rules.line(friday, as_of=date(2026, 11, 21), overdue_after=5).exceptions == []
    assert rules.line(friday, as_of=date(2026, 11, 23), overdue_after=5).exceptions != []
    no_hukou = person(tasks=())
    assert [k for k, _ in rules.line(no_hukou, as_of=date(2026, 11, 10), overdue_after=5).exceptions] == ["overdue"]


def test_stop_with_no_death_and_one_side_missing() -> None:
    stop = rules.EventFact(P + "benefit.stopped", "renshe", date(2026, 10, 25), "no_case")
    orphan = rules.Person("person:ab", "门户无案件", events=(stop,))
    assert [k for k, _ in rules.line(orphan, as_of=date(2026, 11, 10), overdue_after=5).exceptions] == ["stop_no_death"]
    died = rules.EventFact(P + "body.received", "binyiguan", date(2026, 10, 25), "no_case")
    known_death = rules.Person("person:cd", "门户无案件", events=(died,))
    assert [k for k, _ in rules.line(known_death, as_of=date(2026, 11, 10), overdue_after=5).exceptions] == ["missing"]
    told = rules.EventFact(P + "benefit.stopped", "renshe", date(2026, 10, 14), "not_ready")
    case = person(tasks=(HUKOU_DONE, rules.TaskFact("pension", "waiting")), events=(told,))
    line = rules.line(case, as_of=date(2026, 10, 15), overdue_after=5)
    assert line.cells["pension"].state == "reported" and [k for k, _ in line.exceptions] == ["missing"]
    applied = rules.EventFact(P + "benefit.stopped", "renshe", date(2026, 10, 14), "applied")
    fine = person(tasks=(HUKOU_DONE, rules.TaskFact("pension", "done", date(2026, 10, 14))), events=(applied,))
    assert rules.line(fine, as_of=date(2026, 12, 1), overdue_after=5).exceptions == []


def test_exceptions_first() -> None:
    quiet = rules.line(person(key="app:2", tasks=(HUKOU_DONE,)), as_of=date(2026, 11, 10), overdue_after=5)
    loud = rules.line(person(key="app:3", death_date=date(2026, 10, 30), tasks=()), as_of=date(2026, 11, 10),
                      overdue_after=5)
    assert [x.person.key for x in rules.ordered([quiet, loud])] == ["app:3", "app:2"]
