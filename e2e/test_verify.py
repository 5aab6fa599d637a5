"""The public verification page on a phone: an unknown token says so plainly, accessibly."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot


def test_unknown_receipt_token_at_phone_width(page: Page) -> None:
    response = page.goto("/verify/this-token-was-never-issued-xxxxxxxx")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("身后“一件事”回执核验")
    expect(page.get_by_role("heading", name="查无此回执")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "verify-unknown-phone")
