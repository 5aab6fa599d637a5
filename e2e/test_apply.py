"""一表申请 in a real browser at phone size: every scenario, both certificate formats, no JavaScript too.

Each journey logs in through the stand-in provider's page, answers every screen by its labels,
checks axe and sideways scrolling on every screen, and submits. Screenshots of the typical
journey (and of an error state) go to e2e/artifacts/apply-*.png.
"""
from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot
from e2e.test_login import login_in_browser

RECENT = date.today() - timedelta(days=2)
OLD = date(2026, 6, 20)
SCENARIO_LABELS = {
    "home": "在家中、养老机构等未经救治的正常死亡",
    "hospital": "在医疗机构死亡",
    "unnatural": "非正常死亡（公安机关处理）",
}


def _id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


def screen(page: Page, name: str | None, *, js: bool = True) -> None:
    """Every screen: zero axe violations, no sideways scroll, one h1; a screenshot when named.

    axe and the scroll check run scripts in the page, which a context without JavaScript
    cannot do; the same HTML is checked by the journeys with JavaScript on.
    """
    if js:
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
    expect(page.locator("h1")).to_have_count(1)
    if name:
        shot(page, name)


def journey(page: Page, persona: str, scenario: str, died: date, deceased_id: str, *,
            shots: str | None = None, js: bool = True) -> str:
    """The whole application as a family does it; returns the 编号."""
    n = 0

    def step(name: str) -> None:
        nonlocal n
        n += 1
        screen(page, f"{shots}-{n:02d}-{name}" if shots else None, js=js)

    def go_on() -> None:
        page.get_by_role("button", name="继续", exact=True).click()

    login_in_browser(page, persona, "/apply")
    page.wait_for_url(re.compile(r".*/apply$"))
    step("start")
    page.get_by_role("button", name="开始申请").click()

    expect(page.locator("h1")).to_have_text("逝者是在什么情况下去世的？")
    step("scenario")
    page.get_by_label(SCENARIO_LABELS[scenario]).check()
    go_on()

    expect(page.locator("h1")).to_have_text("逝者的信息")
    if shots:  # the error pattern, once
        go_on()
        if js:  # portal.js moves focus to the summary
            expect(page.locator(".error-summary")).to_be_focused()
        expect(page).to_have_title(re.compile("^错误："))
        step("deceased-errors")
    page.get_by_label("逝者姓名").fill("林阿婆")
    page.get_by_label("逝者身份证号码").fill(deceased_id)
    if js:  # htmx checks the number as it is left and shows what it reads from it
        page.get_by_label("逝者身份证号码").press("Tab")
        expect(page.locator("#f-d_id-derived")).to_contain_text("根据身份证号码")
    page.get_by_label("民族").select_option(label="汉族")
    page.get_by_label("户籍所在地（乡镇、街道）").select_option(value="330302:五马街道")
    page.get_by_label("户籍详细地址").fill("解放街188号")
    step("deceased")
    go_on()

    expect(page.locator("h1")).to_have_text("逝者是什么时候去世的？")
    page.locator("#f-death_date").fill(died.isoformat())
    page.locator("#f-death_time").fill("06:30")
    page.get_by_label("死亡原因").fill("心力衰竭")
    step("death")
    go_on()

    expect(page.locator("h1")).to_contain_text("的编号是什么？")
    number = page.get_by_label("证明编号")
    if scenario != "unnatural" and died >= date(2026, 7, 1):
        expect(number).to_have_value(deceased_id)  # prefilled: the new certificate uses the ID number
    else:
        expect(number).to_have_value("")
        number.fill("WZ-2026-004321")
    step("certificate")
    go_on()

    expect(page.locator("h1")).to_have_text("遗体是否已经运到殡仪馆？")
    if scenario == "hospital":
        page.get_by_label("是，已经在殡仪馆").check()
        page.get_by_label("温州市殡仪馆").check()
    else:
        page.get_by_label("否，需要殡仪馆上门接运").check()
        expect(page.get_by_label("遗体接运地址")).to_have_value("鹿城区五马街道解放街188号")
        page.locator("#f-pickup_date").fill(died.isoformat())
        page.locator("#f-pickup_time").fill("09:00")
    step("funeral")
    go_on()

    expect(page.locator("h1")).to_have_text("骨灰打算安放在哪里？")
    page.get_by_label("经营性公墓").check()
    page.get_by_label("请填写公墓名称").fill("仙岩公墓")
    page.get_by_label("我承诺文明治丧").check()
    step("ashes")
    go_on()

    expect(page.locator("h1")).to_have_text("要办理哪些事项？")
    page.get_by_label("企业职工（已退休）").check()
    for matter in ("火化前期手续办理", "亡故人户口注销", "医疗保险个人账户清算", "养老保险停发、丧葬费和抚恤金申领"):
        expect(page.get_by_role("checkbox", name=re.compile(matter))).to_be_checked()
    step("matters")
    go_on()

    expect(page.locator("h1")).to_have_text("您的信息")
    page.get_by_label("您和逝者是什么关系？").select_option(label="子女")
    page.get_by_label("您的联系地址").fill("鹿城区松台街道广场路1号")
    step("applicant")
    go_on()

    expect(page.locator("h1")).to_have_text("由谁领取丧葬费和抚恤金？")
    page.get_by_label(re.compile("^我本人")).check()
    page.get_by_label("开户银行").fill("中国农业银行")
    page.get_by_label("银行卡号或存折账号").fill("6222 0212 3456 7890 128")
    step("recipient")
    go_on()

    expect(page.locator("h1")).to_have_text("提交前请核对您的申请")
    expect(page.locator("main")).to_contain_text("林阿婆")
    page.get_by_label("我已阅读并同意以上承诺").check()
    step("check")
    page.get_by_role("button", name="确认并提交申请").click()

    expect(page.locator("h1")).to_have_text("申请已提交")
    step("confirmation")
    code = page.locator(".number").inner_text().strip()
    assert re.fullmatch(r"330302-\d{8}-\d{4}", code), code
    expect(page.get_by_role("link", name="下载回执（PDF）")).to_be_visible()
    # safe to bookmark: reloading shows the same page, nothing is submitted twice
    page.reload()
    expect(page.locator(".number")).to_have_text(code)
    return code


def test_typical_home_death_after_july_2026(page: Page) -> None:
    journey(page, "linxiaoyan", "home", RECENT, _id("33030219400101012"), shots="apply")


@pytest.mark.parametrize("persona,scenario,died,first17", [
    ("zhengzhe", "home", OLD, "33030219410202013"),
    ("leikun", "hospital", RECENT, "33030219420303014"),
    ("ayiguli", "hospital", OLD, "33030219430404015"),
    ("zhengzhe", "unnatural", RECENT, "33030219440505016"),
    ("leikun", "unnatural", OLD, "33030219450606017"),
])
def test_every_scenario_and_certificate_format(page: Page, persona: str, scenario: str, died: date,
                                              first17: str) -> None:
    journey(page, persona, scenario, died, _id(first17))


def test_whole_journey_without_javascript(browser: Browser, base_url: str, phone: dict) -> None:
    context = browser.new_context(java_script_enabled=False, **phone, base_url=base_url, locale="zh-CN")
    try:
        page = context.new_page()
        journey(page, "ayiguli", "home", RECENT, _id("33030219460707018"), js=False, shots="apply-nojs")
    finally:
        context.close()


def test_other_citizen_sees_no_confirmation(browser: Browser, base_url: str, phone: dict, page: Page) -> None:
    journey(page, "linxiaoyan", "hospital", RECENT, _id("33030219470808019"))
    url = page.url
    context = browser.new_context(**phone, base_url=base_url, locale="zh-CN")
    try:
        other = context.new_page()
        login_in_browser(other, "leikun", "/")
        response = other.goto(url)
        assert response is not None and response.status == 404
    finally:
        context.close()


def test_receipt_downloads_on_the_phone_and_its_link_verifies_it(page: Page, tmp_path: Path) -> None:
    """The family downloads the receipt; an office follows the QR code's address printed on it."""
    code = journey(page, "leikun", "hospital", RECENT, _id("33030219480909020"))
    with page.expect_download() as info:
        page.get_by_role("link", name="下载回执（PDF）").click()
    download = info.value
    assert download.suggested_filename == f"身后一件事回执-{code}.pdf"
    pdf = tmp_path / "receipt.pdf"
    download.save_as(pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert code in text and "丧属保存联" in text and "申请人承诺" in text
    verify_url = re.search(r"https?://\S+/verify/[A-Za-z0-9_-]{32}", text)
    assert verify_url, text[-400:]

    page.goto(verify_url.group(0))
    expect(page.get_by_role("heading", name="真实有效，且是最新版本")).to_be_visible()
    expect(page.locator(".verify-facts")).to_contain_text(code)
    expect(page.locator(".verify-facts")).not_to_contain_text("33030219480909020")  # no ID number
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    shot(page, "verify-genuine-phone")
