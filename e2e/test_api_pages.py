"""The integrators' reference page and the administrators' API client page, at phone width:
accessible, no sideways scrolling, and a client opened there works against the running portal."""
from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot
from e2e.test_login import login_in_browser


def test_reference_page_reads_on_a_phone(page: Page) -> None:
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="身后一件事 · 部门系统接口")).to_be_visible()
    expect(page.get_by_text("/api/v1/problems/validation").first).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "api-docs-phone")


def test_admin_opens_a_client_that_gets_a_token(page: Page, base_url: str) -> None:
    login_in_browser(page, "admin", "/admin/api-clients")
    page.wait_for_url(re.compile(r"/admin/api-clients$"))
    page.get_by_label("客户端名称").fill("鹿城区医保局业务系统")
    page.get_by_label("部门").select_option("yibao")
    page.get_by_label("县（市、区）").select_option("330302")
    page.get_by_role("button", name="开通", exact=True).click()
    shown = page.locator("section.notice dd code")
    expect(shown.first).to_be_visible()
    client_id, secret = shown.nth(0).inner_text(), shown.nth(1).inner_text()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "api-clients-phone")
    answer = httpx.post(f"{base_url}/api/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    me = httpx.get(f"{base_url}/api/v1/me", headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
    assert me.json()["county_name"] == "鹿城区"
