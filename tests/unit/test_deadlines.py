"""The one rule for promised dates (issue 11 item 13): firm, expected (预计), chained, paused."""
from __future__ import annotations

from datetime import date

from portal.domain import status as st
from portal.domain.deadlines import Promise, Timing, due_on, promise_text, promised_dates, schedule

MON = date(2026, 11, 23)  # a Monday with no holiday nearby


def test_before_acceptance_every_matter_is_expected_and_the_dependent_one_counts_from_its_prerequisite() -> None:
    plan = promised_dates([Timing("cremation", 0), Timing("medical", 5), Timing("pension", 15, after=("medical",))],
                          start=MON)
    assert plan["cremation"] == Promise(MON, expected=True, same_day=True)
    assert plan["medical"].due == date(2026, 11, 30) and plan["medical"].expected
    assert plan["pension"].due == due_on(date(2026, 11, 30), 15) == date(2026, 12, 21)
    assert schedule({"medical": 5, "pension": 15}, {"pension": ("medical",)}, MON) == {
        "medical": date(2026, 11, 30), "pension": date(2026, 12, 21)}


def test_running_matters_keep_their_stored_date_and_waiting_ones_follow_it() -> None:
    stored = date(2026, 11, 25)
    plan = promised_dates([Timing("medical", 5, st.IN_PROGRESS, stored),
                           Timing("pension", 15, st.WAITING, date(2030, 1, 1), after=("medical",))], start=MON)
    assert plan["medical"] == Promise(stored)
    assert plan["pension"] == Promise(due_on(stored, 15), expected=True)


def test_a_prerequisite_already_finished_does_not_hold_the_dependent_back() -> None:
    plan = promised_dates([Timing("medical", 5, st.DONE, date(2026, 11, 1)),
                           Timing("pension", 15, st.WAITING, after=("medical",))], start=MON)
    assert plan["pension"].due == due_on(MON, 15)


def test_a_returned_matter_and_those_waiting_on_it_are_dated_after_the_correction() -> None:
    plan = promised_dates([Timing("medical", 5, st.RETURNED, date(2026, 11, 30)),
                           Timing("pension", 15, after=("medical",))], start=MON)
    assert plan["medical"].paused and plan["pension"].paused and plan["pension"].due is None
    assert promise_text(plan["pension"]) == "补正后重新计算"


def test_words() -> None:
    assert promise_text(Promise(MON, expected=True)) == "预计2026年11月23日前"
    assert promise_text(Promise(MON)) == "2026年11月23日前"
    assert promise_text(Promise(MON, expected=True, same_day=True)) == "即办，预计2026年11月23日前"
    assert promise_text(Promise(None)) == ""


def test_before_acceptance_a_dependent_matter_says_what_it_waits_for() -> None:
    label = st.family_task_label(st.WAITING, app_status=st.APP_SUBMITTED, waiting_on=["医疗保险个人账户清算"])
    assert (label.text, label.detail) == ("未开始", "窗口受理、医疗保险个人账户清算办结后开始办理")
    assert st.family_task_label(st.WAITING, app_status=st.APP_SUBMITTED).detail == "窗口受理后开始办理"
