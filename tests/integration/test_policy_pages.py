"""政策咨询 pages: index, article, eligibility guide (eight situations by hand), plan and .ics."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar
from starlette.testclient import TestClient

from portal.domain import clock
from portal.domain.eligibility import format_yuan, load_params
from portal.web.policy import PARAMS_FILE

DEATH = "2026-11-03"
BASE = load_params(PARAMS_FILE).base_for(date(2026, 11, 3))[0].monthly  # 上一年度全省城镇居民月人均可支配收入


def yuan(months: str | int) -> str:
    return f"约 {format_yuan(BASE * Decimal(str(months)))} 元"


def matters_on(html: str) -> list[str]:
    return re.findall(r'<li class="matter" id="matter-([a-z_]+)">', html)


def amounts_on(html: str) -> dict[str, str]:
    pairs = re.findall(r'<h3>([^<]+（估算）)</h3>\s*<p class="estimate-amount">(约 [\d,.]+ 元)', html)
    return dict(pairs)


def test_index_by_matter_and_situation(client: TestClient) -> None:
    r = client.get("/policy")
    assert r.status_code == 200
    for label in ("按您家的情况查找", "按办理事项查找", "在医院去世", "意外或非正常死亡", "企业退休人员",
                  "城乡居民养老保险参保人", "机关事业单位人员", "退役军人、优抚对象", "残疾人", "低保、特困对象",
                  "在外地去世或非本地户籍", "在境外去世", "户口注销", "住房公积金"):
        assert label in r.text, label
    assert 'href="/policy/hukou-cancellation"' in r.text
    assert 'href="/policy/guide"' in r.text
    assert 'hx-get="/policy/search"' in r.text and 'action="/policy/search"' in r.text


def test_article_shows_basis_materials_and_verify_notice(client: TestClient) -> None:
    r = client.get("/policy/hukou-cancellation")
    assert r.status_code == 200
    assert "<h1>户口注销：什么时候办、怎么办</h1>" in r.text
    assert "政策依据" in r.text and "中华人民共和国户口登记条例 第八条" in r.text
    assert "请以当地最新规定为准（需当地核实）" in r.text
    assert "要带的材料" in r.text and "逝者的户口簿和居民身份证" in r.text
    assert "时限" in r.text and "去世后30日内" in r.text
    assert "最后审核" in r.text and "2026年11月22日" in r.text
    assert 'href="/policy/nobody-reports-hukou"' in r.text  # related
    assert 'href="/apply"' in r.text and 'href="/policy"' in r.text
    assert "<h2>期限</h2>" in r.text  # the Markdown body is rendered


def test_article_markdown_tables_and_no_raw_html(client: TestClient) -> None:
    r = client.get("/policy/enterprise-employee-benefits")
    assert r.status_code == 200 and "<table>" in r.text


def test_verify_notice_only_when_marked(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from portal.models import PolicyArticle

    with Session(engine) as session:
        plain = session.scalars(select(PolicyArticle.slug).where(PolicyArticle.verify_locally.is_(False))).first()
    if plain is None:
        pytest.skip("every entry is marked verify_locally")
    assert "需当地核实" not in client.get(f"/policy/{plain}").text


def test_unknown_article_is_chinese_404(client: TestClient) -> None:
    r = client.get("/policy/no-such-entry")
    assert r.status_code == 404 and "找不到这个页面" in r.text


def test_guide_form_asks_the_questions(client: TestClient) -> None:
    r = client.get("/policy/guide")
    assert r.status_code == 200
    assert 'action="/policy/guide/result"' in r.text and "novalidate" in r.text
    for name in ("death_date", "place", "hukou", "pension_type", "contribution_years", "years_drawing_pension",
                 "local_basic_pension", "has"):
        assert f'name="{name}"' in r.text, name
    assert 'type="date"' in r.text and "（选填）" in r.text
    assert "<title>错误" not in r.text


def test_guide_validation_keeps_values(client: TestClient) -> None:
    r = client.get("/policy/guide/result", params={"death_date": "2026-13-40", "place": "home", "contribution_years": "很多",
                                                   "has": "veteran"})
    assert r.status_code == 200
    assert "<title>错误：" in r.text
    assert "请修改以下问题" in r.text
    assert 'href="#f-death_date"' in r.text and "请输入正确的去世日期，例如 2026-11-03" in r.text
    assert 'href="#f-pension_type"' in r.text and 'href="#f-hukou"' in r.text
    assert "请输入缴费年限" in r.text
    assert 'value="很多"' in r.text and 'value="2026-13-40"' in r.text  # values kept
    assert re.search(r'value="home" checked', r.text) and re.search(r'value="veteran" checked', r.text)
    future = (clock.today() + timedelta(days=3)).isoformat()
    r = client.get("/policy/guide/result",
                   params={"death_date": future, "place": "home", "hukou": "wenzhou", "pension_type": "none"})
    assert "去世日期不能晚于今天" in r.text


# Eight situations worked out by hand from DOMAIN.md §3 (entries 10-13) and the registration notes.
# 丧葬补助金 = 2 × base; 抚恤金 months: <5 yrs 3, 5-<10 6, 10-15 9, >15 9 + 1 per full year, max 24;
# retirees minus the years of pension drawn (part-years pro rata), at least 9; 城乡居保 = 20 × 基础养老金.
CASES = [
    pytest.param(
        {"place": "home", "hukou": "wenzhou", "pension_type": "enterprise_retired", "contribution_years": "30",
         "years_drawing_pension": "5.5"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助金（估算）": yuan(2), "抚恤金（估算）": yuan("18.5")},  # 24 - 5.5 = 18.5 months
        id="retiree-30y-drawing-5.5y"),
    pytest.param(
        {"place": "hospital", "hukou": "wenzhou", "pension_type": "enterprise_working", "contribution_years": "12"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助金（估算）": yuan(2), "抚恤金（估算）": yuan(9)},  # 10-15 years: 9 months
        id="employee-12y"),
    pytest.param(
        {"place": "unnatural", "hukou": "wenzhou", "pension_type": "enterprise_working", "contribution_years": "4",
         "has": ["provident_fund"]},
        ["certificate", "cremation", "hukou", "pension", "medical", "provident"],
        {"丧葬补助金（估算）": yuan(2), "抚恤金（估算）": yuan(3)},  # under 5 years: 3 months
        id="employee-4y-accident-provident"),
    pytest.param(
        {"place": "home", "hukou": "wenzhou", "pension_type": "enterprise_retired", "contribution_years": "20",
         "years_drawing_pension": "10"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助金（估算）": yuan(2), "抚恤金（估算）": yuan(9)},  # 9+5=14, minus 10 = 4 -> minimum 9
        id="retiree-minimum-9-months"),
    pytest.param(
        {"place": "hospital", "hukou": "wenzhou", "pension_type": "enterprise_working", "contribution_years": "35"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助金（估算）": yuan(2), "抚恤金（估算）": yuan(24)},  # capped at 24 months
        id="employee-35y-capped"),
    pytest.param(
        {"place": "home", "hukou": "wenzhou", "pension_type": "resident", "local_basic_pension": "350"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助费（估算）": "约 7,000.00 元"},  # 350 × 20
        id="resident-350"),
    pytest.param(
        {"place": "hospital", "hukou": "wenzhou", "pension_type": "public_institution"},
        ["certificate", "cremation", "hukou", "medical"],
        {},  # handled by the employer, no estimate
        id="public-institution"),
    pytest.param(
        {"place": "home", "hukou": "wenzhou", "pension_type": "none", "has": ["disability", "assistance"]},
        ["certificate", "cremation", "hukou", "disability", "assistance"],
        {},
        id="uninsured-disability-dibao"),
    pytest.param(
        {"place": "abroad", "hukou": "wenzhou", "pension_type": "none", "has": ["veteran"]},
        ["certificate", "hukou", "veteran"],  # no cremation in Wenzhou
        {},
        id="abroad-veteran"),
    pytest.param(
        {"place": "hospital", "hukou": "other", "pension_type": "enterprise_retired", "contribution_years": "16"},
        ["certificate", "cremation", "hukou", "pension", "medical"],
        {"丧葬补助金（估算）": yuan(2)},  # no drawing years: only the grant is estimated
        id="non-local-retiree-no-drawing-years"),
]


@pytest.mark.parametrize(("answers", "matters", "amounts"), CASES)
def test_guide_situations(client: TestClient, answers: dict, matters: list[str], amounts: dict[str, str]) -> None:
    r = client.get("/policy/guide/result", params={"death_date": DEATH, **answers})
    assert r.status_code == 200, r.text[:500]
    assert "<title>错误" not in r.text
    assert matters_on(r.text) == matters
    assert amounts_on(r.text) == amounts
    if amounts:
        assert "估算" in r.text and "依据：" in r.text and "怎么算：" in r.text
    if "hukou" in matters:
        assert "最晚：2026年12月3日" in r.text  # 30 days after 2026-11-03


def test_guide_notes_for_special_cases(client: TestClient) -> None:
    r = client.get("/policy/guide/result", params={"death_date": DEATH, "place": "hospital", "hukou": "wenzhou",
                                                   "pension_type": "public_institution"})
    assert "机关事业单位人员的丧葬费和抚恤金" in r.text and "原单位" in r.text
    r = client.get("/policy/guide/result", params={"death_date": DEATH, "place": "abroad", "hukou": "wenzhou",
                                                   "pension_type": "none"})
    assert "户口注销（境外死亡）" in r.text and "使领馆" in r.text
    r = client.get("/policy/guide/result", params={"death_date": DEATH, "place": "hospital", "hukou": "other",
                                                   "pension_type": "enterprise_retired", "contribution_years": "16"})
    assert "户口注销（向户籍地办理）" in r.text and "抚恤金需要领取养老金的年限才能估算" in r.text


def test_guide_start_application_carries_answers(client: TestClient) -> None:
    r = client.get("/policy/guide/result", params={"death_date": DEATH, "place": "home", "hukou": "wenzhou",
                                                   "pension_type": "enterprise_retired", "contribution_years": "30",
                                                   "has": ["veteran", "provident_fund"]})
    m = re.search(r'<a class="button button--start" href="([^"]+)">用这些答案开始申请</a>', r.text)
    assert m
    url = urlsplit(m.group(1).replace("&amp;", "&"))
    assert url.path == "/apply"
    q = parse_qs(url.query)
    assert q["scenario"] == ["home"] and q["pension_type"] == ["enterprise_retired"] and q["death_date"] == [DEATH]
    assert q["veteran"] == ["1"] and q["provident_fund"] == ["1"] and q["hukou_in_wenzhou"] == ["1"]
    assert q["matters"] == ["cremation,hukou,pension,medical,provident"]
    # 修改 goes back to the questions with the answers filled in
    back = client.get("/policy/guide", params={"death_date": DEATH, "place": "home", "hukou": "wenzhou",
                                                "pension_type": "enterprise_retired", "has": "veteran"})
    assert 'value="2026-11-03"' in back.text and re.search(r'value="veteran" checked', back.text)
    assert "请修改以下问题" not in back.text


def test_plan_from_date_only(client: TestClient) -> None:
    r = client.get("/policy/plan", params={"death_date": DEATH})
    assert r.status_code == 200
    assert "我的办理计划" in r.text
    assert "2026年12月3日（星期四）" in r.text and "户口注销的最后期限" in r.text
    assert "2026年11月6日" in r.text  # cremation suggested within 3 days
    dates = re.findall(r'<time datetime="(\d{4}-\d\d-\d\d)">', r.text)
    assert dates == sorted(dates) and dates[0] == DEATH
    assert 'href="/policy/plan.ics?death_date=2026-11-03"' in r.text


def test_plan_asks_for_the_date(client: TestClient) -> None:
    r = client.get("/policy/plan")
    assert r.status_code == 200 and 'name="death_date"' in r.text and "<title>错误" not in r.text
    r = client.get("/policy/plan", params={"death_date": "昨天"})
    assert "<title>错误：" in r.text and "请输入正确的去世日期" in r.text
    assert client.get("/policy/plan.ics", params={"death_date": "昨天"}).status_code == 400


def test_plan_ics_parses(client: TestClient) -> None:
    params = {"death_date": DEATH, "place": "home", "hukou": "wenzhou", "pension_type": "enterprise_retired",
              "contribution_years": "30", "has": "provident_fund"}
    page = client.get("/policy/plan", params=params)
    titles = re.findall(r'<h2 class="plan-title">([^<]+)</h2>', page.text)
    r = client.get("/policy/plan.ics", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="shenhou-plan-20261103.ics"'
    cal = Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == titles
    hukou = next(e for e in events if str(e["SUMMARY"]) == "户口注销的最后期限")
    assert hukou.decoded("DTSTART") == date(2026, 12, 3)
    assert "提取住房公积金余额" in titles
    assert str(hukou["URL"]).endswith("/policy/hukou-cancellation")
