"""The home page on a phone: readable, accessible, no sideways scroll, 长辈版 remembered."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot


def test_home_at_phone_width(page: Page) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_have_text("身后一件事，一次办好")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "home-phone")


def test_home_at_360px(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/")
    assert_no_horizontal_scroll(page)
    box = page.get_by_role("link", name="开始申请").bounding_box()
    assert box and box["height"] >= 44


def test_elder_mode_is_remembered(page: Page) -> None:
    page.goto("/")
    size_before = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    page.get_by_role("button", name="长辈版（大字）").click()
    page.goto("/")
    size_after = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size_after >= 18 > size_before - 0.1
    assert_accessible(page)
    shot(page, "home-elder")


def test_unknown_page_is_chinese_404(page: Page) -> None:
    response = page.goto("/does-not-exist")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("找不到这个页面")
    assert_accessible(page)
