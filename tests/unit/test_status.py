"""The status machine, labels in words, overdue rules, 注4 arithmetic and the family's own deadlines."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.domain import family_deadlines
from portal.domain import status as st
from portal.domain.policy_params import PlanSettings


def test_task_transitions() -> None:
    assert st.next_task_status("pending", "take") == "in_progress"
    assert st.next_task_status("in_progress", "complete") == "done"
    assert st.next_task_status("pending", "complete") == "done"
    assert st.next_task_status("in_progress", "return") == "returned"
    assert st.next_task_status("returned", "resume") == "pending"
    assert st.next_task_status("waiting", "release") == "pending"
    with pytest.raises(st.TransitionError, match="还不能开始"):
        st.next_task_status("waiting", "complete")
    with pytest.raises(st.TransitionError, match="已办结"):
        st.next_task_status("done", "refuse")
    with pytest.raises(st.TransitionError, match="补正"):
        st.next_task_status("returned", "complete")
    assert st.task_actions("pending") == ["take", "complete", "refuse", "return"]
    assert st.task_actions("waiting") == []


def test_application_transitions() -> None:
    assert st.next_app_status("submitted", "accept") == "accepted"
    assert st.next_app_status("returned", "resubmit") == "submitted"
    with pytest.raises(st.TransitionError, match="不能受理"):
        st.next_app_status("accepted", "accept")


def test_family_labels_are_words() -> None:
    assert st.family_task_label("pending", app_status="accepted").text == "未开始"
    assert st.family_task_label("in_progress", app_status="accepted").text == "办理中"
    assert st.family_task_label("done", app_status="accepted").text == "已办结"
    assert st.family_task_label("returned", app_status="accepted").text == "需补正"
    refused = st.family_task_label("refused", app_status="accepted", reason="已在外地办理")
    assert refused.text == "不予办理" and refused.detail == "原因：已在外地办理"
    waiting = st.family_task_label("waiting", app_status="accepted", waiting_on=["医疗保险个人账户清算"])
    assert waiting.text == "暂不能开始（等待：医疗保险个人账户清算）"
    assert st.family_task_label("waiting", app_status="submitted").text == "未开始"
    assert st.staff_task_label("waiting", app_status="submitted").text == "受理后开始"


def test_overdue_only_while_the_department_clock_runs() -> None:
    today = date(2026, 11, 23)
    past = date(2026, 11, 20)
    assert st.is_overdue("pending", past, today) and st.is_overdue("in_progress", past, today)
    assert not st.is_overdue("returned", past, today)  # waiting for the family
    assert not st.is_overdue("waiting", past, today)
    assert not st.is_overdue("done", past, today)
    assert not st.is_overdue("pending", today, today)  # due today is not late yet
    assert st.finished_late("done", past, today)


def test_money_parsing() -> None:
    assert st.parse_money("1,234.5", signed=False) == Decimal("1234.50")
    assert st.parse_money("－３２０．５", signed=True) == Decimal("-320.50")
    assert st.parse_money("100元", signed=False) == Decimal("100.00")
    for raw, signed in (("", False), ("abc", False), ("-1", False), ("1.234", True), ("nan", True)):
        with pytest.raises(ValueError):
            st.parse_money(raw, signed=signed)


def test_note4_negative_settlement_is_deducted() -> None:
    paid = st.pension_payout(Decimal("12896.00"), Decimal("58032.00"), Decimal("-320.50"))
    assert paid == {"funeral_grant": "12896.00", "lump_sum": "58032.00", "medical_deduction": "320.50",
                    "still_owed": "0.00", "net_paid": "70607.50"}
    assert st.pension_payout(Decimal("100"), Decimal("0"), Decimal("50"))["medical_deduction"] == "0.00"
    short = st.pension_payout(Decimal("100.00"), Decimal("0.00"), Decimal("-150.00"))
    assert short["net_paid"] == "0.00" and short["still_owed"] == "50.00"
    assert st.pension_payout(Decimal("1"), Decimal("1"), None)["net_paid"] == "2.00"
    text = st.result_summary("medical", {"settlement_amount": "-320.50"})
    assert "-320.50 元" in text and "扣回" in text
    assert st.result_summary("hukou", {"cancelled_on": "2026-11-20"}) == "户口已于2026年11月20日注销"


def test_personal_deadlines_from_the_date_of_death() -> None:
    items = family_deadlines.personal_deadlines(date(2026, 1, 31), {"hukou", "medical", "pension"}, {"hukou"})
    by_title = {i.title: i for i in items}
    assert by_title["户口注销"].due == date(2026, 3, 2) and by_title["户口注销"].done  # 30 days (注1)
    assert by_title["养老金停发"].due == date(2026, 2, 1)
    # pension_claim_days (90) of content/policy_params.toml, the same day the personal plan shows
    assert by_title["丧葬补助金、抚恤金申领"].due == date(2026, 5, 1)
    assert "3个月内" in by_title["丧葬补助金、抚恤金申领"].text
    assert by_title["先办医疗费报销"].due is None
    assert [i.title for i in family_deadlines.personal_deadlines(date(2026, 5, 1), {"cremation"})] == ["户口注销"]
    assert by_title["户口注销"].days_left(date(2026, 3, 1)) == 1
    county = PlanSettings(hukou_days=20, pension_claim_days=45)
    shorter = {i.title: i for i in family_deadlines.personal_deadlines(date(2026, 1, 31), {"pension"}, plan=county)}
    assert shorter["户口注销"].due == date(2026, 2, 20) and "20日内" in shorter["户口注销"].text
    assert shorter["丧葬补助金、抚恤金申领"].due == date(2026, 3, 17) and "45天内" in shorter["丧葬补助金、抚恤金申领"].text


def test_dates_in_words() -> None:
    assert st.cn_date(date(2026, 11, 3)) == "2026年11月3日"
    assert st.cn_date_weekday(date(2026, 11, 23)) == "2026年11月23日（星期一）"
    assert set(st.CORRECTION_STEPS) == {"deceased", "certificate", "funeral", "ashes", "matters", "recipient", "applicant"}


@pytest.mark.parametrize("raw", ["1e30", "-1e30", "1E+999999999999999999", "9" * 60, "1000000000", "-1000000000"])
def test_money_parsing_rejects_huge_amounts_with_a_value_error(raw: str) -> None:
    for signed in (True, False):
        with pytest.raises(ValueError, match="金额太大了|不能是负数"):
            st.parse_money(raw, signed=signed)


@pytest.mark.parametrize("raw", ["NaN", "sNaN", "Infinity", "-inf", "1e", "--1"])
def test_money_parsing_rejects_non_numbers(raw: str) -> None:
    with pytest.raises(ValueError, match="请填写数字金额"):
        st.parse_money(raw, signed=True)


def test_money_parsing_edges() -> None:
    assert st.parse_money("999999999.99", signed=False) == Decimal("999999999.99")
    assert st.parse_money("-999999999.99", signed=True) == Decimal("-999999999.99")
    assert str(st.parse_money("-0", signed=False)) == "0.00"
    with pytest.raises(ValueError, match="两位小数"):
        st.parse_money("1e-999999999999", signed=False)
    assert st.amount_in_range(Decimal("999999999.99")) and not st.amount_in_range(Decimal("1e9"))
    assert not st.amount_in_range(Decimal("NaN"))
