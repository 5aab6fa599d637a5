"""委托 and shared progress, and the phone for texts, in a real browser at phone size (issue 15,
items 3 and 4): the applicant gives a close relative read-only progress, the relative sees it and
nothing to change, the applicant revokes it and the relative's next page is gone; the applicant
asks for texts on another number. Every page is checked with axe and for sideways scrolling."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot
from e2e.test_login import login_in_browser


def screen(page: Page, name: str) -> None:
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    expect(page.locator("h1")).to_have_count(1)
    shot(page, name)


def test_read_only_progress_for_a_relative_then_revoked(browser: Browser, base_url: str, phone: dict) -> None:
    owner_ctx = browser.new_context(base_url=base_url, **phone, locale="zh-CN")
    owner = owner_ctx.new_page()
    login_in_browser(owner, "chenjianguo", "/my")
    owner.wait_for_url(re.compile(r".*/my$"))
    owner.locator(".my-app").filter(has=owner.get_by_role("link", name=re.compile("查看进度"))).first \
        .get_by_role("link", name=re.compile("查看进度")).click()
    owner.get_by_role("link", name="授权亲属代办或查看进度").click()
    expect(owner.locator("h1")).to_have_text("授权亲属代办或查看进度")
    owner.get_by_role("button", name="授权").click()  # nothing chosen: every field says what to do
    expect(owner).to_have_title(re.compile("^错误："))
    screen(owner, "relatives-01-errors-phone")
    owner.get_by_label(re.compile("^只让他（她）看办理进度")).check()
    owner.get_by_label("亲属姓名").fill("林晓燕")
    owner.get_by_label("他（她）和逝者的关系").select_option(label="子女")
    owner.get_by_label("亲属的身份证号码").fill("330381197508220462")
    owner.get_by_label("亲属的手机号码").fill("19900000002")
    owner.get_by_label(re.compile("^我同意让这位亲属")).check()
    owner.get_by_role("button", name="授权").click()
    expect(owner.locator("main")).to_contain_text("已授权林晓燕查看进度")
    screen(owner, "relatives-02-granted-phone")

    relative_ctx = browser.new_context(base_url=base_url, **phone, locale="zh-CN")
    relative = relative_ctx.new_page()
    login_in_browser(relative, "linxiaoyan", "/my")
    relative.wait_for_url(re.compile(r".*/my$"))
    expect(relative.locator("main")).to_contain_text("亲属授权给您的申请")
    screen(relative, "relatives-03-my-list-phone")
    relative.locator(".my-app", has_text="陈建国授权您查看进度").get_by_role("link", name=re.compile("查看进度")).click()
    expect(relative.locator("main")).to_contain_text("不能修改内容")
    expect(relative.get_by_role("link", name=re.compile("^修改"))).to_have_count(0)
    screen(relative, "relatives-04-read-only-phone")
    shared_url = relative.url

    owner.get_by_role("button", name="取消授权").click()
    expect(owner.locator("main")).to_contain_text("立即生效")
    response = relative.goto(shared_url)
    assert response is not None and response.status == 404  # at once, in the same session
    for c in (owner_ctx, relative_ctx):
        c.close()


def test_texts_to_another_phone_page(page: Page) -> None:
    login_in_browser(page, "zhengzhe", "/my/phone")
    page.wait_for_url(re.compile(r".*/my/phone$"))
    expect(page.locator("main")).to_contain_text("199****0004")
    page.get_by_label("接收短信的手机号码").fill("123")
    page.get_by_role("button", name="发送验证码").click()
    expect(page).to_have_title(re.compile("^错误："))
    page.get_by_label("接收短信的手机号码").fill("138 0013 8000")
    page.get_by_role("button", name="发送验证码").click()
    expect(page.locator("main")).to_contain_text("验证码已发到 138****8000")
    expect(page.get_by_label("短信验证码")).to_be_visible()
    screen(page, "phone-01-code-phone")
    page.get_by_label("短信验证码").fill("000000")
    page.get_by_role("button", name="确认", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text("验证码")
    screen(page, "phone-02-wrong-code-phone")
