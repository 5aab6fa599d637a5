"""Log in and out in a real browser at phone size, through the stand-in provider's pages."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot


def login_in_browser(page: Page, username: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    expect(page.get_by_text("测试用模拟登录").first).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录", exact=True).click()


def test_family_member_logs_in_and_out(page: Page) -> None:
    page.goto("/login")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "idp-login-phone")
    page.get_by_label("用户名").fill("chenjianguo")
    page.get_by_label("密码").fill("demo1234")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".who")).to_contain_text("陈建国")
    expect(page.locator(".who")).to_contain_text("3303**********031X")
    shot(page, "home-logged-in")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()
    page.goto("/login")
    expect(page.get_by_label("密码")).to_be_visible()  # the provider session ended too


def test_wrong_password_is_explained_in_chinese(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill("chenjianguo")
    page.get_by_label("密码").fill("wrong")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_label("用户名")).to_have_value("chenjianguo")
    assert "密码" in page.locator("body").inner_text()
    assert_accessible(page)


def test_staff_member_lands_in_back_office(page: Page) -> None:
    login_in_browser(page, "clerk")
    page.wait_for_url("**/admin")
