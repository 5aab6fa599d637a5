"""死讯简况 end to end (issue 15, item 1), against a live portal whose texts go through a real
HTTP SMS gateway on 127.0.0.1 (tests/fake_sms_gateway.py) and a real worker run.

A grid worker reports a death at home; the health centre's officer sees the 24-hour visit task;
the next of kin receives the invitation text with a link; following it and logging in, they find
the case with the reported facts filled in and finish it. The same family journey from a cold
start (no report) is run by another family, and both are counted: screens submitted and fields
the family had to type or choose. The figures are printed and written to e2e/artifacts.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from e2e.conftest import ARTIFACTS, ROOT, _free_port, assert_accessible, assert_no_horizontal_scroll, shot, wait_until_up
from e2e.test_backoffice import DESKTOP
from e2e.test_login import login_in_browser
from tests.fake_sms_gateway import Gateway, running

REPORTED_ID = "330302193606060040"  # fictional, valid check digit
COLD_ID = "330302193707070037"
KIN = ("leikun", "19900000005")  # the next of kin the grid worker names (auth/personas.toml)


def _check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


assert REPORTED_ID[-1] == _check_digit(REPORTED_ID[:17]) and COLD_ID[-1] == _check_digit(COLD_ID[:17])


@dataclass
class Portal:
    base: str
    env: dict[str, str]
    gateway: Gateway

    def work(self) -> None:
        """One worker run: every due job (the texts) through the gateway."""
        subprocess.run([sys.executable, "-m", "portal", "worker", "--once"], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    with running(Gateway()) as gw:
        port = _free_port()
        var = tmp_path_factory.mktemp("e2e-report")
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "VAR_DIR": str(var), "PORT": str(port), "BASE_URL": base,
               "DATABASE_URL": f"sqlite:///{var / 'e2e.db'}", "PYTHONUNBUFFERED": "1",
               "SMS_GATEWAY_URL": gw.url, "SMS_GATEWAY_KEY": gw.key}
        for command in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        log = open(var / "server.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "portal", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            wait_until_up(base, var / "server.log")
            yield Portal(base, env, gw)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


@dataclass
class Burden:
    screens: int = 0  # forms the family submitted (开始申请, each 继续, 确认并提交)
    typed: int = 0  # fields the family had to type, choose or tick


def _set(burden: Burden, field: Locator, value: str, kind: str = "fill") -> None:
    """Give a field its value only when the page does not already have it (prefilled by the portal)."""
    if kind == "check":
        if not field.is_checked():
            field.check()
            burden.typed += 1
        return
    if field.input_value() == "":
        if kind == "select":
            field.select_option(value=value)
        else:
            field.fill(value)
        burden.typed += 1


def _go_on(page: Page, burden: Burden, button: str = "继续") -> None:
    page.get_by_role("button", name=button, exact=True).click()
    burden.screens += 1


def finish(page: Page, deceased_id: str, died: date, burden: Burden) -> str:
    """The one application from whatever step the portal opens, answering only what is not there yet."""
    while True:
        page.wait_for_load_state()
        match = re.search(r"/apply/step/(\w+)$", page.url)
        assert match, page.url
        step = match.group(1)
        if step == "check":
            break
        if step == "scenario":
            _set(burden, page.get_by_label("在家中、养老机构等未经救治的正常死亡"), "", "check")
        elif step == "deceased":
            _set(burden, page.get_by_label("逝者姓名"), "雷阿公")
            _set(burden, page.get_by_label("逝者身份证号码"), deceased_id)
            _set(burden, page.get_by_label("民族"), "01", "select")
            _set(burden, page.get_by_label("户籍所在地（乡镇、街道）"), "330302:五马街道", "select")
            _set(burden, page.get_by_label("户籍详细地址"), "解放街66号")
        elif step == "death":
            _set(burden, page.locator("#f-death_date"), died.isoformat())
            _set(burden, page.locator("#f-death_time"), "03:20")
            _set(burden, page.get_by_label("死亡原因"), "心力衰竭")
        elif step == "certificate":
            _set(burden, page.get_by_label("证明编号"), deceased_id)
        elif step == "funeral":
            _set(burden, page.get_by_label("否，需要殡仪馆上门接运"), "", "check")
            _set(burden, page.get_by_label("遗体接运地址"), "鹿城区五马街道解放街66号")
            _set(burden, page.locator("#f-pickup_date"), died.isoformat())
            _set(burden, page.locator("#f-pickup_time"), "09:00")
        elif step == "ashes":
            _set(burden, page.get_by_label("经营性公墓"), "", "check")
            _set(burden, page.get_by_label("请填写公墓名称"), "仙岩公墓")
            _set(burden, page.get_by_label("我承诺文明治丧"), "", "check")
        elif step == "matters":
            _set(burden, page.get_by_label("企业职工（已退休）"), "", "check")
        elif step == "applicant":
            _set(burden, page.get_by_label("您和逝者是什么关系？"), "child", "select")
            _set(burden, page.get_by_label("您的联系地址"), "鹿城区五马街道解放街66号")
        elif step == "recipient":
            _set(burden, page.get_by_label(re.compile("^我本人")), "", "check")
            _set(burden, page.get_by_label("开户银行"), "中国农业银行")
            _set(burden, page.get_by_label("银行卡号或存折账号"), "6222021234567890128")
        _go_on(page, burden)
    expect(page.locator("main")).to_contain_text("雷阿公")
    _set(burden, page.get_by_label("我已阅读并同意以上承诺"), "", "check")
    _go_on(page, burden, "确认并提交申请")
    expect(page.locator("h1")).to_have_text("申请已提交")
    return page.locator(".number").inner_text().strip()


def test_grid_worker_report_to_a_family_who_finishes_in_fewer_screens(browser: Browser, portal: Portal,
                                                                        phone: dict) -> None:
    died = date.today() - timedelta(days=1)
    staff_ctx = browser.new_context(base_url=portal.base, viewport=DESKTOP, locale="zh-CN")
    grid = staff_ctx.new_page()
    login_in_browser(grid, "grid", "/admin/report")
    grid.wait_for_url(re.compile(r".*/admin/report$"))
    expect(grid.locator("h1")).to_have_text("报告去世信息（死讯简况）")
    grid.get_by_label("逝者姓名").fill("雷阿公")
    grid.get_by_label("逝者身份证号码").fill(REPORTED_ID)
    grid.get_by_label("户籍所在地（乡镇、街道）").select_option(value="330302:五马街道")
    grid.get_by_label("去世日期").fill(died.isoformat())
    grid.get_by_label("去世时间").fill("03:20")
    grid.get_by_label("去世地点").fill("鹿城区五马街道解放街66号")
    grid.get_by_label("在家中、养老机构等未经救治的正常死亡").check()
    grid.get_by_label("家属姓名").fill("雷堃")
    grid.get_by_label("家属手机号码").fill(KIN[1])
    grid.get_by_label("家属和逝者的关系").select_option(label="子女")
    assert_accessible(grid)
    shot(grid, "report-01-form")
    grid.get_by_role("button", name="提交报告").click()
    expect(grid.locator(".bo-flash")).to_contain_text("已主动启动办理")
    expect(grid.locator(".bo-flash")).to_contain_text("卫生院须在")
    number = re.search(r"编号 (\S+)：", grid.locator(".bo-flash").inner_text()).group(1)  # type: ignore[union-attr]
    shot(grid, "report-02-filed")

    # the health centre's officer sees the home visit, due within 24 hours
    health = staff_ctx.new_page()
    health.context.clear_cookies()
    login_in_browser(health, "officer-weijian", "/admin/tasks")
    health.wait_for_url(re.compile(r".*/admin/tasks"))
    row = health.get_by_role("row", name=re.compile(number))
    expect(row).to_contain_text("死亡医学证明核验")
    row.get_by_role("link").first.click()
    expect(health.locator("main")).to_contain_text("24小时内派医生上门")
    assert_accessible(health)
    shot(health, "report-03-health-task")

    # the next of kin's text, through the real gateway
    portal.work()
    texts = [c["text"] for c in portal.gateway.delivered if c["phone"] == KIN[1]]
    assert texts, portal.gateway.delivered
    body = texts[-1]
    assert number in body and "30日内" in body and "火化预约" in body
    link = re.search(r"(http://127\.0\.0\.1:\d+/apply/claim/[A-Za-z0-9_-]+)", body)
    assert link, body

    family_ctx = browser.new_context(base_url=portal.base, **phone, locale="zh-CN")
    family = family_ctx.new_page()
    family.goto(link.group(1))
    family.get_by_label("用户名").fill(KIN[0])
    family.get_by_label("密码").fill("demo1234")
    family.get_by_role("button", name="登录", exact=True).click()
    family.wait_for_url(re.compile(r".*/apply/step/\w+$"))
    assert not family.url.endswith("/scenario")  # what the report answered is not asked again
    assert_accessible(family)
    assert_no_horizontal_scroll(family)
    shot(family, "report-04-family-first-screen")
    reported = Burden()
    done_number = finish(family, REPORTED_ID, died, reported)
    assert done_number == number  # the same case, the same 编号
    shot(family, "report-05-family-done")

    # the same journey from a cold start, by another family for another deceased
    cold_ctx = browser.new_context(base_url=portal.base, **phone, locale="zh-CN")
    cold_page = cold_ctx.new_page()
    login_in_browser(cold_page, "zhengzhe", "/apply")
    cold_page.wait_for_url(re.compile(r".*/apply$"))
    cold = Burden()
    _go_on(cold_page, cold, "开始申请")
    finish(cold_page, COLD_ID, died, cold)

    figures = {"after_report": {"screens": reported.screens, "typed": reported.typed},
               "cold_start": {"screens": cold.screens, "typed": cold.typed}}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    Path(ARTIFACTS / "family-burden.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    print(f"\nfamily burden: {figures}")
    assert reported.screens < cold.screens and reported.typed < cold.typed
    for c in (staff_ctx, family_ctx, cold_ctx):
        c.close()
