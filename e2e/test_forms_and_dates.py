"""Issue 11 items 13–17 in a real phone-sized browser, on the demo data (nothing here changes it).

The live character count (static/js/portal.js) counts down and past the limit without cutting a
paste short; the server then says the text is too long and keeps it. The progress page shows a
date for every matter (预计 for the one waiting on another), the correction page repeats the
department's reason, and the clerk's page has one id per field. Screenshots: e2e/artifacts/ux-*.png.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot
from e2e.test_login import login_in_browser

LONG = "请补充户口簿" * 833 + "请补"  # 5,000 characters, as if pasted from a long document


def test_live_count_never_cuts_a_paste_short(page: Page) -> None:
    login_in_browser(page, "clerk", "/admin/window")
    page.wait_for_url(re.compile(r".*/admin/window"))
    page.get_by_role("row", name=re.compile("王秀英")).get_by_role("link").click()  # demo: just submitted
    expect(page.locator("h1")).to_contain_text("申请")
    page.locator("summary", has_text="退回家属修改").click()
    reason = page.get_by_label("需要家属补充或修改什么")
    count = page.locator("#f-return-reason-count")
    expect(count).to_have_text("还可以填写 300 个字")
    reason.press_sequentially("请补充户口簿")
    expect(count).to_have_text("还可以填写 294 个字")
    reason.fill(LONG)
    expect(count).to_have_text("超出了 4700 个字，请精简一些")
    assert len(reason.input_value()) == 5000  # nothing was cut off
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "ux-clerk-application-count-phone")

    page.get_by_role("button", name="退回家属").click()  # the server refuses it in words; nothing is saved
    expect(page.locator(".error-summary")).to_contain_text("最多可以写300个字，现在有5000个字")
    expect(page.locator(".error-summary")).to_be_focused()
    reason = page.locator("#f-return-reason")
    assert len(reason.input_value()) == 5000 and reason.get_attribute("aria-invalid") == "true"
    expect(page.locator("#f-return-reason-count")).to_have_text("超出了 4700 个字，请精简一些")
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), "duplicate ids on the clerk's page"
    assert_accessible(page)
    shot(page, "ux-clerk-application-too-long-phone")


def test_progress_page_dates_every_matter(page: Page) -> None:
    login_in_browser(page, "linxiaoyan", "/my")  # demo: accepted today; 人社 waits on 医保 (注2)
    page.wait_for_url(re.compile(r".*/my$"))
    page.locator(".my-app", has_text="林国平").get_by_role("link", name=re.compile("查看进度")).click()
    rows = page.locator(".task-list > li")
    expect(rows.first).to_be_visible()
    for i in range(rows.count()):
        expect(rows.nth(i).locator(".task-date")).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"))
    pension = page.locator(".task-list > li", has_text="养老保险停发")
    expect(pension.locator(".task-date")).to_contain_text("预计办结")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "ux-progress-phone")


def test_correction_page_repeats_the_reason(page: Page) -> None:
    login_in_browser(page, "zhengzhe", "/my")  # demo: 公安 returned the 户口 matter (certificate number)
    page.wait_for_url(re.compile(r".*/my$"))
    page.locator(".my-app", has_text="郑志远").get_by_role("link", name=re.compile("查看进度")).click()
    page.get_by_role("link", name="修改死亡证明").click()
    page.wait_for_url(re.compile(r".*/fix/certificate$"))
    notice = page.locator(".correction-requests")
    expect(notice).to_contain_text("死亡证明编号与医院登记的不一致")
    expect(notice).to_contain_text("公安局")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "ux-correction-phone")
