"""代办 end to end (issue 15, item 2): a window clerk, at a desktop, fills in the one application for
a passport-holding applicant with the family's own step pages, prints the 登记表 for signature
(pdftotext shows the declaration and the 编号), accepts it, a department completes its matter, and
the applicant, logging in with the same passport on a phone, sees the same case."""
from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from e2e.conftest import assert_accessible, assert_no_horizontal_scroll, shot
from e2e.test_backoffice import DESKTOP, open_task, take_and_complete
from e2e.test_login import login_in_browser

DECEASED_ID = "33030219380505003X"  # fictional, valid check digit, not used elsewhere in the e2e tests
DECLARATION_START = "申请人承诺遵守国家和地方各项殡葬政策规定文明治丧"


def _check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


assert DECEASED_ID[-1] == _check_digit(DECEASED_ID[:17])


def screen(page: Page, name: str) -> None:
    assert_accessible(page)
    expect(page.locator("h1")).to_have_count(1)
    shot(page, f"proxy-{name}")


def clerk_fills_in(clerk: Page, died: date) -> None:
    """Every screen of the one form, as the family's own, answered by the clerk."""
    def go_on() -> None:
        clerk.get_by_role("button", name="继续", exact=True).click()

    expect(clerk.locator("h1")).to_have_text("逝者是在什么情况下去世的？")
    expect(clerk.locator(".proxy-banner")).to_contain_text("周安娜")
    screen(clerk, "01-scenario")
    clerk.get_by_label("在家中、养老机构等未经救治的正常死亡").check()
    go_on()
    expect(clerk.locator("h1")).to_have_text("逝者的信息")
    clerk.get_by_label("逝者姓名").fill("周老伯")
    clerk.get_by_label("逝者身份证号码").fill(DECEASED_ID[:-1] + "1")
    go_on()  # the family's own check refuses a wrong check digit, in the same words
    expect(clerk).to_have_title(re.compile("^错误："))
    expect(clerk.locator(".error-summary")).to_contain_text("身份证")
    clerk.get_by_label("逝者身份证号码").fill(DECEASED_ID)
    clerk.get_by_label("民族").select_option(label="汉族")
    clerk.get_by_label("户籍所在地（乡镇、街道）").select_option(value="330302:五马街道")
    clerk.get_by_label("户籍详细地址").fill("解放街200号")
    screen(clerk, "02-deceased")
    go_on()
    expect(clerk.locator("h1")).to_have_text("逝者是什么时候去世的？")
    clerk.locator("#f-death_date").fill(died.isoformat())
    clerk.locator("#f-death_time").fill("05:10")
    clerk.get_by_label("死亡原因").fill("心力衰竭")
    go_on()
    expect(clerk.locator("h1")).to_contain_text("的编号是什么？")
    expect(clerk.get_by_label("证明编号")).to_have_value(DECEASED_ID)  # nothing the portal knows is asked again
    go_on()
    expect(clerk.locator("h1")).to_have_text("遗体是否已经运到殡仪馆？")
    clerk.get_by_label("是，已经在殡仪馆").check()
    clerk.get_by_label("温州市殡仪馆").check()
    go_on()
    expect(clerk.locator("h1")).to_have_text("骨灰打算安放在哪里？")
    clerk.get_by_label("经营性公墓").check()
    clerk.get_by_label("请填写公墓名称").fill("仙岩公墓")
    clerk.get_by_label("我承诺文明治丧").check()
    go_on()
    expect(clerk.locator("h1")).to_have_text("要办理哪些事项？")
    clerk.get_by_label("企业职工（已退休）").check()
    go_on()
    expect(clerk.locator("h1")).to_have_text("申请人的信息")
    expect(clerk.locator("main")).to_contain_text("护照 E9****017")
    clerk.get_by_label("您和逝者是什么关系？").select_option(label="子女")
    clerk.get_by_label("您的联系地址").fill("鹿城区五马街道解放街200号")
    screen(clerk, "03-applicant")
    go_on()
    expect(clerk.locator("h1")).to_have_text("由谁领取丧葬费和抚恤金？")
    clerk.get_by_label(re.compile("^我本人")).check()
    clerk.get_by_label("开户银行").fill("中国银行")
    clerk.get_by_label("银行卡号或存折账号").fill("6222 0212 3456 7890 128")
    go_on()
    expect(clerk.locator("h1")).to_have_text("提交前请和申请人一起核对")
    expect(clerk.locator("main")).to_contain_text("周老伯")
    screen(clerk, "04-check")
    clerk.get_by_label(re.compile("已向申请人宣读以上承诺")).check()
    clerk.get_by_role("button", name="确认并提交申请").click()


def test_clerk_fills_in_for_a_passport_holder(browser: Browser, base_url: str, phone: dict,
                                               tmp_path: Path) -> None:
    died = date.today() - timedelta(days=1)
    ctx = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    clerk = ctx.new_page()
    login_in_browser(clerk, "clerk", "/admin/proxy")
    clerk.wait_for_url(re.compile(r".*/admin/proxy$"))
    expect(clerk.locator("h1")).to_have_text("代办申请（窗口或电话）")
    clerk.get_by_role("button", name="开始填写").click()  # nothing filled in: every field says what to do
    expect(clerk).to_have_title(re.compile("^错误："))
    screen(clerk, "00-start-errors")
    clerk.get_by_label("窗口代办（家属到场）").check()
    clerk.get_by_label("申请人姓名").fill("周安娜")
    clerk.get_by_label("申请人出示的证件").select_option(label="护照")
    clerk.get_by_label("证件号码").fill("e9000 0017")
    clerk.get_by_label("申请人手机号码").fill("199 0000 0007")
    clerk.get_by_label(re.compile("^申请人在窗口当面同意")).check()
    screen(clerk, "00-start")
    clerk.get_by_role("button", name="开始填写").click()

    clerk_fills_in(clerk, died)
    expect(clerk.locator(".bo-flash")).to_contain_text("已代家属提交申请")
    heading = clerk.locator("h1").inner_text()
    number = heading.removeprefix("申请").strip()
    assert re.fullmatch(r"330302-\d{8}-\d{4}", number), heading
    expect(clerk.locator("main")).to_contain_text("窗口代办")
    screen(clerk, "05-case")

    # one search box: the deceased's 身份证号 finds the same case (posted, never in the URL)
    clerk.goto("/admin")
    clerk.get_by_label("查找案件").fill(DECEASED_ID)
    clerk.get_by_role("button", name="查找").click()
    expect(clerk.locator("h1")).to_have_text(f"申请 {number}")
    assert DECEASED_ID not in clerk.url
    clerk.goto("/admin/search")
    clerk.get_by_label("查找案件").fill("19900000999")
    clerk.get_by_role("button", name="查找").click()
    expect(clerk.locator("main")).to_contain_text("没有找到")
    screen(clerk, "05b-search-none")
    clerk.get_by_label("查找案件").fill(number)
    clerk.get_by_role("button", name="查找").click()
    expect(clerk.locator("h1")).to_have_text(f"申请 {number}")

    # the 登记表 to sign: 附件1 layout, the seed's declaration, the 编号, the passport masked
    pdf = clerk.request.get(clerk.get_by_role("link", name="打印登记表（PDF）").get_attribute("href") or "")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "form.pdf").write_bytes(pdf.body())
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "form.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    flat = re.sub(r"\s+", "", text)
    assert number in flat and DECLARATION_START in flat and "由申请人自行承担" in flat
    assert "护照E9****017" in flat and "E90000017" not in flat and "现场签名" in flat
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(tmp_path / "form.pdf"),
                    str(Path(__file__).parent / "artifacts" / "proxy-06-form")], check=True)

    # then it runs like any other case: the window accepts, 殡仪馆 completes its matter
    clerk.get_by_role("button", name="受理这份申请").click()
    expect(clerk.locator(".bo-flash")).to_contain_text("已受理申请")
    officer_ctx = browser.new_context(base_url=base_url, viewport=DESKTOP, locale="zh-CN")
    officer = officer_ctx.new_page()
    login_in_browser(officer, "officer-binyiguan", "/admin")
    officer.wait_for_url(lambda url: "/admin" in url and "login" not in url and "/idp" not in url
                         and "/auth/" not in url)
    open_task(officer, number, "火化前期手续办理")
    take_and_complete(officer)

    # the applicant logs in with the same passport on a phone and finds the same case
    family_ctx = browser.new_context(base_url=base_url, **phone, locale="zh-CN")
    family = family_ctx.new_page()
    login_in_browser(family, "passport", "/my")
    family.wait_for_url(re.compile(r".*/my$"))
    expect(family.locator("main")).to_contain_text(number)
    family.locator(".my-app", has_text=number).get_by_role("link", name=re.compile("查看进度")).click()
    expect(family.locator("#progress")).to_contain_text("已办结")
    assert_accessible(family)
    assert_no_horizontal_scroll(family)
    shot(family, "proxy-07-family-phone")
    for c in (ctx, officer_ctx, family_ctx):
        c.close()
