"""Promised dates (承诺办结日期): the one rule that turns a matter's time limit into a date.

Every place that names a date for a department's matter — the deadline stored when a case is
submitted, accepted, corrected or released, and the date shown on the confirmation page, the
progress page, the receipt and the staff pages — gets it from here, so they never disagree.

* A date is **firm** once the department's clock runs (未开始/办理中 after the window accepted):
  it is the stored deadline, counted in working days from the day the clock started.
* Until then it is **expected** (预计): counted as if the clock started on `start` (the day the
  window would accept — today, or the submission day), and for a matter that waits on another
  (注2/注4: 医保清算 before the 人社 payout) counted from the earlier matter's date, because the
  later one starts only when the earlier one is finished.
* A matter sent back to the family has no date: its clock restarts when the correction arrives,
  and so do the dates of the matters waiting on it.

Pure Python: plain values in, plain values out.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from portal.domain import status as st
from portal.domain.workdays import add_working_days

__all__ = ["Promise", "Timing", "due_on", "promised_dates", "promise_text", "schedule"]


def due_on(start: date, time_limit_days: int) -> date:
    """The deadline of a matter whose clock starts on `start` (0 days = 即办, the same working day)."""
    return add_working_days(start, time_limit_days)


@dataclass(frozen=True)
class Timing:
    """What the rule needs to know of one matter of a case."""

    code: str
    time_limit_days: int
    status: str = st.WAITING
    deadline: date | None = None  # as stored; firm once the clock runs
    after: tuple[str, ...] = ()   # codes that must be finished before this one starts


@dataclass(frozen=True)
class Promise:
    due: date | None
    expected: bool = False  # 预计: the clock has not started yet
    paused: bool = False    # returned to the family (or waits on one that is): dated after the correction
    same_day: bool = False  # 即办


def promised_dates(timings: Iterable[Timing], *, start: date) -> dict[str, Promise]:
    """The promise for every matter of one case, keyed by matter code.

    `start` is the day from which a matter that waits only for the window is counted.
    """
    items = {t.code: t for t in timings}
    out: dict[str, Promise] = {}

    def visit(code: str, trail: frozenset[str]) -> Promise:
        if code in out:
            return out[code]
        t = items[code]
        same_day = t.time_limit_days == 0
        if t.status in st.FINISHED or (t.status in st.CLOCK_RUNNING and t.deadline is not None):
            promise = Promise(t.deadline, expected=False, same_day=same_day)
        elif t.status == st.RETURNED:
            promise = Promise(None, expected=True, paused=True, same_day=same_day)
        else:
            begin: date | None = start
            paused = False
            for earlier in t.after:
                if earlier not in items or earlier in trail or items[earlier].status in st.FINISHED:
                    continue
                before = visit(earlier, trail | {code})
                if before.due is None:
                    begin, paused = None, paused or before.paused
                elif begin is not None:
                    begin = max(begin, before.due)
            promise = Promise(due_on(begin, t.time_limit_days) if begin is not None else None,
                              expected=True, paused=paused, same_day=same_day)
        out[code] = promise
        return promise

    for code in items:
        visit(code, frozenset())
    return out


def schedule(limits: Mapping[str, int], dependencies: Mapping[str, Sequence[str]], start: date) -> dict[str, date]:
    """Deadlines for a case whose clock starts on `start`: each matter after the ones it waits on."""
    plan = promised_dates((Timing(code, days, after=tuple(dependencies.get(code, ())))
                           for code, days in limits.items()), start=start)
    return {code: p.due for code, p in plan.items() if p.due is not None}


def promise_text(promise: Promise) -> str:
    """The promise in words: "预计2026年11月30日前", "2026年11月30日前", "即办，…", "补正后重新计算"."""
    if promise.paused:
        return "补正后重新计算"
    if promise.due is None:
        return ""
    text = f"{'预计' if promise.expected else ''}{st.cn_date(promise.due)}前"
    return f"即办，{text}" if promise.same_day else text
