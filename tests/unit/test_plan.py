"""Personal plan dates and the .ics export (escaping and folding checked on the output)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest

from portal.domain.eligibility import Situation, load_params
from portal.domain.plan import PlanItem, plan_for, to_ics
from portal.domain.policy_content import MATTER_LABELS, load_entries

ROOT = Path(__file__).resolve().parents[2]
STAMP = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def by_title(items: list[PlanItem]) -> dict[str, date]:
    return {i.title: i.due for i in items}


def test_general_plan_dates():
    items = plan_for(date(2026, 11, 22))
    assert by_title(items) == {
        "开具死亡医学证明": date(2026, 11, 22),
        "提交身后“一件事”联办申请": date(2026, 11, 23),
        "办理火化": date(2026, 11, 25),
        "各部门每月对账": date(2026, 12, 10),  # 10th of next month
        "报销未结的医疗费用，办理医保个人账户清算": date(2026, 12, 22),
        "户口注销的最后期限": date(2026, 12, 22),  # 30 days, 注1
        "申领丧葬补助金、抚恤金": date(2027, 2, 20),  # 90 days
    }
    assert [i.due for i in items] == sorted(i.due for i in items)
    hukou = next(i for i in items if i.matter == "hukou")
    assert hukou.kind == "deadline" and "2026年12月22日" in hukou.detail
    # 注2: medical before the funeral-grant claim.
    titles = [i.title for i in items]
    assert titles.index("报销未结的医疗费用，办理医保个人账户清算") < titles.index("申领丧葬补助金、抚恤金")


def test_december_death_rolls_into_next_year():
    s = Situation(death_date=date(2026, 12, 20), pension_type="enterprise_retired",
                  contribution_years=35, years_drawing_pension=10)
    got = by_title(plan_for(s))
    assert got["养老金停发"] == date(2027, 1, 1)
    assert got["各部门每月对账"] == date(2027, 1, 10)
    assert got["户口注销的最后期限"] == date(2027, 1, 19)
    assert got["申领丧葬补助金和抚恤金"] == date(2027, 3, 20)


def test_end_of_month_and_leap_year():
    got = by_title(plan_for(date(2028, 1, 31)))
    assert got["户口注销的最后期限"] == date(2028, 3, 1)  # 2028 is a leap year
    assert got["各部门每月对账"] == date(2028, 2, 10)


def test_situation_plan_follows_the_guide():
    s = Situation(death_date=date(2026, 5, 6), place="unnatural", pension_type="resident",
                  veteran=True, disability=True, assistance=True, provident_fund=True)
    items = plan_for(s, load_params(ROOT / "content" / "policy_params.toml"))
    got = by_title(items)
    assert got["等待公安机关出具《死亡证明书》"] == date(2026, 5, 6)
    assert got["申领丧葬补助费"] == date(2026, 8, 4)
    assert got["提取住房公积金余额"] == date(2026, 8, 4)
    assert got["养老金停发"] == date(2026, 6, 1)
    for title in ("确认优抚待遇已结算", "确认残疾人补贴已停发", "确认低保或特困供养金已停发"):
        assert got[title] == date(2026, 6, 10)
    assert "遗体处置意见书" in next(i for i in items if i.title == "办理火化").detail


def test_public_institution_and_abroad():
    pub = plan_for(Situation(death_date=date(2026, 5, 6), pension_type="public_institution"))
    assert by_title(pub)["联系逝者的工作单位办理丧葬费和抚恤金"] == date(2026, 5, 7)
    assert not any(i.title.startswith("申领") for i in pub)
    abroad = plan_for(Situation(death_date=date(2026, 5, 6), died_abroad=True))
    assert "办理火化" not in by_title(abroad)
    hukou = next(i for i in abroad if i.matter == "hukou")
    assert hukou.policy_slug == "death-abroad" and hukou.due == date(2026, 6, 5)
    none = plan_for(Situation(death_date=date(2026, 5, 6)))
    assert not any(i.matter in ("pension", "medical") for i in none)


def test_plan_codes_and_slugs_exist():
    slugs = {e.slug for e in load_entries(ROOT / "content" / "policies")}
    plans = [plan_for(date(2026, 1, 1))] + [
        plan_for(Situation(death_date=date(2026, 1, 1), place=place, pension_type=pt, veteran=True,
                           disability=True, assistance=True, provident_fund=True,
                           hukou_in_wenzhou=local, died_abroad=abroad))
        for place in ("home", "hospital", "unnatural")
        for pt in ("enterprise_retired", "enterprise_working", "resident", "public_institution", "none")
        for local in (True, False)
        for abroad in (True, False)
    ]
    for items in plans:
        for i in items:
            assert i.policy_slug in slugs
            assert i.matter is None or i.matter in MATTER_LABELS
            assert i.kind in ("deadline", "suggestion", "info")


def test_plan_for_rejects_other_input():
    with pytest.raises(TypeError):
        plan_for("2026-01-01")


# ---------------------------------------------------------------------------------------------
# iCalendar
# ---------------------------------------------------------------------------------------------

TRICKY = PlanItem(
    due=date(2026, 12, 1),
    title="核对材料，逗号, comma; 分号\\反斜杠",
    detail="第一行，带逗号, 和分号;\n第二行：户口注销（注1）" + "很长的说明文字" * 20,
    matter="hukou",
    policy_slug="hukou-cancellation",
    kind="deadline",
)


def test_ics_structure_and_line_rules():
    items = plan_for(date(2026, 11, 22)) + [TRICKY]
    ics = to_ics(items, dtstamp=STAMP)
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    for prop in ("PRODID:", "VERSION:2.0", "CALSCALE:GREGORIAN"):
        assert "\r\n" + prop in ics
    raw = ics.encode("utf-8")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")
    assert ics.count("BEGIN:VEVENT") == len(items)
    assert "DTSTAMP:20261122T083000Z" in ics
    assert to_ics(items, dtstamp=STAMP) == ics  # deterministic


def test_ics_escapes_text_values():
    item = PlanItem(date(2026, 12, 1), "a,b;c\\d\ne\x07f", "x\r\ny", "hukou", "hukou-cancellation")
    ics = to_ics([item], dtstamp=STAMP, alarm=False)
    unfolded = ics.replace("\r\n ", "")
    assert "SUMMARY:a\\,b\\;c\\\\d\\ne f\r\n" in unfolded
    assert "x\\ny" in unfolded


def test_ics_round_trips_with_icalendar():
    items = plan_for(Situation(death_date=date(2026, 11, 22), place="hospital",
                               pension_type="enterprise_retired", contribution_years=32,
                               years_drawing_pension=5.5, provident_fund=True)) + [TRICKY]
    ics = to_ics(items, dtstamp=STAMP, uid_domain="test.example",
                 policy_url=lambda slug: f"https://portal.example/zhengce/{slug}")
    cal = icalendar.Calendar.from_ical(ics)
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == len(items)
    assert [str(e["SUMMARY"]) for e in events] == [i.title for i in items]
    assert [e.decoded("DTSTART") for e in events] == [i.due for i in items]
    assert all(type(e.decoded("DTSTART")) is date for e in events)
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids) and all(u.endswith("@test.example") for u in uids)
    tricky = events[-1]
    assert str(tricky["SUMMARY"]) == "核对材料，逗号, comma; 分号\\反斜杠"
    description = str(tricky["DESCRIPTION"])
    assert "第一行，带逗号, 和分号;\n第二行：户口注销（注1）" in description
    assert description.startswith("期限：")
    assert str(tricky["URL"]) == "https://portal.example/zhengce/hukou-cancellation"


def test_ics_uids_are_stable_and_distinct_for_duplicates():
    dup = [TRICKY, TRICKY]
    cal = icalendar.Calendar.from_ical(to_ics(dup, dtstamp=STAMP))
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    assert len(set(uids)) == 2
    again = icalendar.Calendar.from_ical(to_ics(dup, dtstamp=datetime(2027, 1, 1, tzinfo=UTC)))
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == uids


def test_ics_empty_plan_and_no_alarm():
    ics = to_ics([], dtstamp=STAMP)
    assert "BEGIN:VEVENT" not in ics
    assert icalendar.Calendar.from_ical(ics)["CALSCALE"] == "GREGORIAN"
    assert "VALARM" not in to_ics([TRICKY], dtstamp=STAMP, alarm=False)


def test_step_words_come_from_the_content_file(tmp_path, monkeypatch):
    from portal.domain import plan

    reworded = plan.STEPS_PATH.read_text(encoding="utf-8").replace('title = "办理火化"', 'title = "预约火化"')
    (tmp_path / "plan_steps.toml").write_text(reworded, encoding="utf-8")
    monkeypatch.setattr(plan, "STEPS_PATH", tmp_path / "plan_steps.toml")
    plan.plan_texts.cache_clear()
    try:
        titles = [i.title for i in plan_for(date(2026, 11, 22))]
        assert "预约火化" in titles and "办理火化" not in titles
    finally:
        monkeypatch.undo()
        plan.plan_texts.cache_clear()
    assert "办理火化" in [i.title for i in plan_for(date(2026, 11, 22))]


def test_a_mistyped_word_in_the_step_texts_is_caught_before_deployment(tmp_path, monkeypatch):
    from portal.domain import plan
    from portal.services.content import check_guide_content

    check_guide_content()  # the shipped files draw every kind of guide and plan
    broken = plan.STEPS_PATH.read_text(encoding="utf-8").replace("去世后{days}日内", "去世后{dayz}日内")
    (tmp_path / "plan_steps.toml").write_text(broken, encoding="utf-8")
    monkeypatch.setattr(plan, "STEPS_PATH", tmp_path / "plan_steps.toml")
    plan.plan_texts.cache_clear()
    try:
        with pytest.raises(KeyError, match="dayz"):
            check_guide_content()
    finally:
        monkeypatch.undo()
        plan.plan_texts.cache_clear()
