"""Eligibility guide: amounts worked out by hand from DOMAIN.md §3 (entries 10-14, 16-22).

The base (上一年度全省城镇居民月人均可支配收入) is fixed in these tests at 6000.00 元/月
through an inline parameters file, so a county editing content/policy_params.toml does not
break them.  Formulas (人社部发〔2021〕18号):
  丧葬补助金 = 2 × base
  抚恤金 = base × N, N by contribution years: <5 -> 3; 5..<10 -> 6; 10..15 -> 9;
           >15 -> 9 + 1 per full extra year; 30+ -> 24 (max);
           retirees: N minus years drawing pension (part-years pro rata), never below 9.
  城乡居保 丧葬补助费 = 20 × local basic pension.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from portal.domain.eligibility import (
    Params,
    Situation,
    contribution_months,
    guide,
    load_params,
    parse_params,
    survivor_months,
)
from portal.domain.policy_content import DEPARTMENT_LABELS, MATTER_LABELS, load_entries

ROOT = Path(__file__).resolve().parents[2]

PARAMS_TOML = """
[survivor_base]
label = "上一年度全省城镇居民月人均可支配收入"
unit = "元/月"

[[survivor_base.years]]
death_year = 2026
statistics_year = 2025
monthly = "6000.00"
placeholder = true
source = "test"

[enterprise]
retiree_part_year = "prorate"

[resident]
funeral_grant_months = 20
"""

DEATH = date(2026, 3, 15)


@pytest.fixture(scope="module")
def params() -> Params:
    return parse_params(PARAMS_TOML, source="test.toml")


def S(**kw) -> Situation:
    kw.setdefault("death_date", DEATH)
    kw.setdefault("place", "home")
    return Situation(**kw)


def amounts(result) -> dict[str, Decimal]:
    return {e.label: e.amount for e in result.estimates}


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def test_shipped_params_file_loads():
    p = load_params(ROOT / "content" / "policy_params.toml")
    base, exact = p.base_for(date(2026, 6, 1))
    assert base is not None and exact
    assert base.statistics_year == base.death_year - 1
    assert base.monthly > 0
    # Until someone fills in the official figure, it must stay flagged as a placeholder.
    if base.monthly == Decimal("6000.00"):
        assert base.placeholder and "VERIFY LOCALLY" in base.source
    assert p.plan.hukou_days == 30
    assert p.enterprise_funeral_months == 2
    assert p.retiree_min_months == 9
    assert p.resident_funeral_months == 20


def test_params_errors_are_listed():
    bad = PARAMS_TOML.replace('monthly = "6000.00"', 'monthly = "abc"').replace(
        'retiree_part_year = "prorate"', 'retiree_part_year = "sometimes"'
    )
    with pytest.raises(ValueError) as info:
        parse_params(bad, source="county.toml")
    text = str(info.value)
    assert "county.toml" in text and "monthly" in text and "retiree_part_year" in text


def test_params_not_toml():
    with pytest.raises(ValueError, match="TOML"):
        parse_params("[[[", source="x.toml")


# ---------------------------------------------------------------------------------------------
# Month table
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "years, months",
    [
        (0, 3),
        (3, 3),
        (4.99, 3),
        (5, 6),
        (9.99, 6),
        (10, 9),
        (12, 9),
        (15, 9),  # 10 to 15 inclusive
        (15.9, 9),  # no full extra year yet
        (16, 10),
        (17, 11),
        (17.5, 11),
        (29.9, 23),
        (30, 24),
        (45, 24),  # capped
    ],
)
def test_contribution_months(years, months):
    assert contribution_months(years) == months


@pytest.mark.parametrize(
    "years, drawn, expected",
    [
        (32, 5.5, Decimal("18.5")),  # 24 - 5.5
        (30, 0, Decimal("24")),
        (20, 2.25, Decimal("11.75")),  # 14 - 2.25
        (20, 12, Decimal("9")),  # 14 - 12 = 2 -> clamped to 9
        (32, 15, Decimal("9")),  # 24 - 15 = 9, exactly the floor
        (32, 14.5, Decimal("9.5")),
    ],
)
def test_survivor_months_for_retirees(years, drawn, expected):
    assert survivor_months(years, drawn) == expected


def test_part_year_rule_is_configurable(params):
    from dataclasses import replace

    assert survivor_months(32, 5.5, replace(params, retiree_part_year="round_up")) == 18  # 24 - 6
    assert survivor_months(32, 5.5, replace(params, retiree_part_year="floor")) == 19  # 24 - 5


# ---------------------------------------------------------------------------------------------
# Sample situations, amounts by hand (base 6000.00)
# ---------------------------------------------------------------------------------------------


def test_1_retiree_32_years_drawing_5_5_years(params):
    r = guide(S(pension_type="enterprise_retired", contribution_years=32, years_drawing_pension=5.5), params)
    # 丧葬补助金 2 × 6000 = 12000; 抚恤金 N = 24 - 5.5 = 18.5 -> 6000 × 18.5 = 111000
    assert amounts(r) == {"丧葬补助金（估算）": Decimal("12000.00"), "抚恤金（估算）": Decimal("111000.00")}
    pension = r.matter("pension")
    assert pension.department == "renshe"
    assert pension.policy_slug == "enterprise-retiree-benefits"
    assert "2026年4月1日" in pension.deadline_text  # pension stops from the next month
    est = r.estimate("抚恤金")
    assert "18.5" in est.formula and "6,000.00" in est.formula and "111,000.00" in est.formula
    assert est.is_estimate and "人社部发〔2021〕18号" in est.basis
    assert "占位" in est.note  # the base is a placeholder here
    assert "medical" in r.matter_codes
    assert {n.policy_slug for n in r.notes} >= {
        "recipient-direct-relatives",
        "medical-bills-first",
        "overpaid-pension",
        "pension-account-inheritance",
    }


def test_2_retiree_clamped_to_nine_months(params):
    # 20 years -> 9 + 5 = 14 months; drew pension 12 years -> 2, clamp to 9 -> 6000 × 9 = 54000
    r = guide(S(pension_type="enterprise_retired", contribution_years=20, years_drawing_pension=12), params)
    assert r.estimate("抚恤金").amount == Decimal("54000.00")
    assert r.estimate("丧葬补助金").amount == Decimal("12000.00")


def test_3_working_12_years_gets_9_months(params):
    r = guide(S(pension_type="enterprise_working", contribution_years=12, place="hospital"), params)
    assert r.estimate("抚恤金").amount == Decimal("54000.00")  # 6000 × 9
    assert r.matter("pension").policy_slug == "enterprise-employee-benefits"
    assert "overpaid-pension" not in {n.policy_slug for n in r.notes}  # was not drawing a pension


def test_4_working_3_years_gets_3_months(params):
    r = guide(S(pension_type="enterprise_working", contribution_years=3), params)
    assert r.estimate("抚恤金").amount == Decimal("18000.00")  # 6000 × 3


def test_5_working_17_years_gets_11_months(params):
    r = guide(S(pension_type="enterprise_working", contribution_years=17), params)
    assert r.estimate("抚恤金").amount == Decimal("66000.00")  # 6000 × (9 + 2)


def test_6_working_35_years_capped_at_24(params):
    r = guide(S(pension_type="enterprise_working", contribution_years=35), params)
    assert r.estimate("抚恤金").amount == Decimal("144000.00")  # 6000 × 24


def test_7_resident_180_basic_pension(params):
    r = guide(S(pension_type="resident", local_basic_pension=Decimal("180")), params)
    assert amounts(r) == {"丧葬补助费（估算）": Decimal("3600.00")}  # 180 × 20
    assert r.matter("pension").policy_slug == "resident-pension-funeral-grant"
    assert "medical" in r.matter_codes


def test_7b_resident_without_figure_gives_formula_only(params):
    r = guide(S(pension_type="resident"), params)
    assert r.estimates == []
    assert any("× 20" in n.text for n in r.notes)


def test_8_public_institution_not_in_this_service(params):
    r = guide(S(pension_type="public_institution"), params)
    assert "pension" not in r.matter_codes
    assert r.estimates == []
    note = next(n for n in r.notes if n.policy_slug == "public-institution")
    assert "原流程" in note.text and "40个月" in note.text and "民发〔2011〕192号" in note.text
    assert "medical" in r.matter_codes  # still insured
    assert {"certificate", "cremation", "hukou"} <= set(r.matter_codes)


def test_9_veteran_disability_assistance_follow_ups(params):
    r = guide(S(pension_type="none", veteran=True, disability=True, assistance=True), params)
    expected = {"veteran": "tuiyi", "disability": "canlian", "assistance": "minzheng"}
    for code, dept in expected.items():
        m = r.matter(code)
        assert m is not None and m.department == dept
        assert m.automatic and not m.requestable
        assert "2026年4月10日" in m.deadline_text  # the next monthly reconciliation day
    assert r.matter("veteran").policy_slug == "veteran-benefits"
    assert r.matter("disability").policy_slug == "disability-subsidies"
    assert r.matter("assistance").policy_slug == "subsistence-allowance"
    assert "other-veterans" in {n.policy_slug for n in r.notes}
    # Not insured: no pension or medical matter, no estimates.
    assert "pension" not in r.matter_codes and "medical" not in r.matter_codes
    assert r.estimates == []


def test_10_provident_fund(params):
    r = guide(S(pension_type="enterprise_working", contribution_years=8, provident_fund=True), params)
    m = r.matter("provident")
    assert m.department == "gongjijin" and m.policy_slug == "provident-fund"
    assert r.estimate("抚恤金").amount == Decimal("36000.00")  # 6000 × 6
    assert "provident" not in guide(S(), params).matter_codes


def test_11_hukou_deadline_is_30_days_after_death(params):
    r = guide(S(death_date=date(2026, 1, 31)), params)
    hukou = r.matter("hukou")
    assert hukou.deadline == date(2026, 3, 2)  # 31 Jan + 30 days
    assert "2026年3月2日" in hukou.deadline_text
    assert hukou.policy_slug == "hukou-cancellation"


def test_12_certificate_by_place(params):
    home = guide(S(place="home"), params).matter("certificate")
    hospital = guide(S(place="hospital"), params).matter("certificate")
    unnatural = guide(S(place="unnatural"), params)
    assert (home.department, home.policy_slug) == ("weijian", "death-at-home")
    assert "卫生院" in home.handled_by
    assert (hospital.department, hospital.policy_slug) == ("weijian", "death-in-hospital")
    cert = unnatural.matter("certificate")
    assert (cert.department, cert.policy_slug) == ("gongan", "unnatural-death")
    assert any("死亡证明书" in x for x in unnatural.matter("cremation").materials)


def test_13_died_abroad(params):
    r = guide(S(died_abroad=True, pension_type="enterprise_retired", contribution_years=30, years_drawing_pension=1), params)
    assert "cremation" not in r.matter_codes
    assert r.matter("certificate").policy_slug == "death-abroad"
    assert r.matter("hukou").policy_slug == "death-abroad"
    assert r.matter("hukou").deadline == date(2026, 4, 14)
    assert r.estimate("抚恤金").amount == Decimal("138000.00")  # 6000 × (24 - 1)


def test_14_non_local_hukou(params):
    r = guide(S(hukou_in_wenzhou=False), params)
    hukou = r.matter("hukou")
    assert hukou.policy_slug == "non-local-death" and not hukou.requestable
    assert "non-local-death" in {n.policy_slug for n in r.notes}
    assert "外来务工" in r.matter("cremation").note


def test_15_retiree_without_drawing_years_estimates_funeral_grant_only(params):
    r = guide(S(pension_type="enterprise_retired", contribution_years=25), params)
    assert amounts(r) == {"丧葬补助金（估算）": Decimal("12000.00")}
    assert any("领取养老金的年限" in n.text for n in r.notes)


def test_16_rounding_to_cents(params):
    from dataclasses import replace

    base = replace(params.base_figures[0], monthly=Decimal("6532.17"))
    p = replace(params, base_figures=(base,))
    r = guide(S(pension_type="enterprise_retired", contribution_years=32, years_drawing_pension=5.5), p)
    # 6532.17 × 18.5 = 120845.145 -> 120845.15 (half up); 6532.17 × 2 = 13064.34
    assert r.estimate("抚恤金").amount == Decimal("120845.15")
    assert r.estimate("丧葬补助金").amount == Decimal("13064.34")


def test_17_base_for_a_later_year_falls_back_and_says_so(params):
    r = guide(S(death_date=date(2027, 2, 1), pension_type="enterprise_working", contribution_years=10), params)
    est = r.estimate("抚恤金")
    assert est.amount == Decimal("54000.00")
    assert "2027" in est.note and "2026" in est.note


def test_18_no_base_configured_gives_no_amount():
    r = guide(S(pension_type="enterprise_working", contribution_years=10), Params())
    assert r.estimates == []
    assert any("无法估算" in n.title for n in r.notes)


def test_situation_validation():
    with pytest.raises(ValueError, match="place"):
        Situation(death_date=DEATH, place="street")
    with pytest.raises(ValueError, match="pension_type"):
        Situation(death_date=DEATH, pension_type="army")
    with pytest.raises(ValueError, match="contribution_years"):
        Situation(death_date=DEATH, contribution_years=-1)


def test_codes_and_slugs_are_valid():
    slugs = {e.slug for e in load_entries(ROOT / "content" / "policies")}
    p = load_params(ROOT / "content" / "policy_params.toml")
    cases = [
        S(place=place, pension_type=pt, contribution_years=20, years_drawing_pension=3,
          local_basic_pension=Decimal("200"), veteran=True, disability=True, assistance=True,
          provident_fund=True, hukou_in_wenzhou=local, died_abroad=abroad)
        for place in ("home", "hospital", "unnatural")
        for pt in ("enterprise_retired", "enterprise_working", "resident", "public_institution", "none")
        for local in (True, False)
        for abroad in (True, False)
    ]
    for s in cases:
        r = guide(s, p)
        for m in r.matters:
            assert m.matter in MATTER_LABELS and m.department in DEPARTMENT_LABELS
            assert m.policy_slug in slugs, m.policy_slug
        for n in r.notes:
            assert n.policy_slug is None or n.policy_slug in slugs
        for e in r.estimates:
            assert e.is_estimate and e.basis and e.amount == e.amount.quantize(Decimal("0.01"))


def test_advice_texts_come_from_the_content_file_and_a_gap_is_named() -> None:
    from portal.domain.eligibility import ADVICE_PATH, parse_advice

    text = ADVICE_PATH.read_text(encoding="utf-8")
    parse_advice(text)  # the shipped file is complete
    broken = text.replace("[matter.provident]", "[matter.provident_typo]").replace(
        'title = "谁可以领"', 'titel = "谁可以领"')
    with pytest.raises(ValueError) as exc:
        parse_advice(broken)
    assert "缺少 [matter.provident]" in str(exc.value) and "[note.recipient] 缺少 title" in str(exc.value)
