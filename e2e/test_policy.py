"""政策咨询 at phone size: search-as-you-type, an article, the guide end to end, no JS needed."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot


def test_index_and_search_as_you_type(page: Page) -> None:
    page.goto("/policy")
    expect(page.locator("h1")).to_have_text("政策咨询")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    page.get_by_text("在医院去世").first.click()  # open one group of the index
    expect(page.locator("#situation-hospital .link-list a").first).to_be_visible()
    page.get_by_label("搜索政策").press_sequentially("户口", delay=60)
    first = page.locator("#search-results .result-title a").first
    expect(first).to_have_attribute("href", "/policy/hukou-cancellation")
    expect(page.locator("#search-results mark").first).to_have_text("户口")
    expect(page).to_have_url(re.compile(r"/policy/search\?q=%E6%88%B7%E5%8F%A3$"))
    assert page.locator("h1").count() == 1  # only the results block was swapped in
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-search-as-you-type")
    page.get_by_label("搜索政策").fill("火化")
    expect(page.locator("#search-results .result-title a").first).to_have_attribute("href", "/policy/cremation-materials")
    first.click()
    expect(page.locator("h1")).to_have_text("办理火化要带什么")


def test_article_at_360px(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/policy/hukou-cancellation")
    expect(page.locator("h1")).to_have_text("户口注销：什么时候办、怎么办")
    expect(page.get_by_text("请以当地最新规定为准（需当地核实）")).to_be_visible()
    expect(page.get_by_role("heading", name="政策依据")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-article")
    page.goto("/policy/enterprise-employee-benefits")  # has a table
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-article-table")


def test_guide_end_to_end(page: Page) -> None:
    page.goto("/policy/guide")
    expect(page.locator("h1")).to_have_text("看看您家可以办什么、能领多少")
    assert_accessible(page)
    page.get_by_role("button", name="查看结果").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    assert page.title().startswith("错误：")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-guide-errors")

    page.fill("#f-death_date", "2026-11-03")
    page.get_by_label("在家中或养老机构").check()
    page.get_by_label("户口在温州").check()
    page.get_by_label("企业职工（已退休）").check()
    page.get_by_label("累计缴费年限").fill("30")
    page.get_by_label("已经领取养老金的年限").fill("5.5")
    page.get_by_label("缴存过住房公积金").check()
    page.get_by_role("button", name="查看结果").click()

    expect(page.locator("h1")).to_have_text("您家需要办理的事项")
    expect(page.get_by_text("最晚：2026年12月3日")).to_be_visible()
    expect(page.get_by_role("heading", name="抚恤金（估算）")).to_be_visible()
    expect(page.locator(".estimate-amount").nth(1)).to_contain_text("111,000.00")  # 6000 × 18.5 (placeholder base)
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-guide-result")
    start = page.get_by_role("link", name="用这些答案开始申请")
    href = start.get_attribute("href") or ""
    assert href.startswith("/apply?") and "scenario=home" in href and "provident_fund=1" in href

    page.get_by_role("link", name="查看按日期排好的办理计划").click()
    expect(page.locator("h1")).to_have_text("我的办理计划")
    expect(page.get_by_role("heading", name="提取住房公积金余额")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "policy-plan")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载到手机日历（.ics）").click()
    download = info.value
    assert download.suggested_filename == "shenhou-plan-20261103.ics"
    assert "BEGIN:VCALENDAR" in open(download.path(), encoding="utf-8").read()
    page.emulate_media(media="print")
    shot(page, "policy-plan-print")


def test_policy_without_javascript(browser: Browser, phone: dict, base_url: str) -> None:
    context = browser.new_context(**phone, java_script_enabled=False, base_url=base_url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10000)
    try:
        page.goto("/policy")
        page.get_by_label("搜索政策").fill("公积")
        page.get_by_role("button", name="搜索", exact=True).click()
        expect(page).to_have_url(re.compile(r"/policy/search\?q="))
        expect(page.locator(".result-title a").first).to_have_attribute("href", "/policy/provident-fund")
        # (no axe here: axe-core runs as page script, which this context disables; same pages are checked above)
        page.goto("/policy/guide")
        page.fill("#f-death_date", "2026-11-03")
        page.get_by_label("在境外").check()
        page.get_by_label("户口在温州").check()
        page.get_by_label("未参保/不清楚").check()
        page.get_by_role("button", name="查看结果").click()
        expect(page.get_by_role("heading", name="户口注销（境外死亡）")).to_be_visible()
    finally:
        context.close()
