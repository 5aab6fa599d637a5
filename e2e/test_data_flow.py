"""数据先行 end to end: department systems push facts over the API and the family's case moves.

Its own portal (migrate, seed-demo, serve) plus the background worker, texting through the fake
SMS gateway (tests/fake_sms_gateway.py); the facts come from the reference client
(`python -m portal.simulate`) as separate processes with their own client credentials.

1. A family submits, the window accepts, the funeral home's system reports the cremation and 医保
   the settlement: the family's open progress page shows 火化 done and the 人社 matter unlocked
   without a reload and without an officer's click; the same event sent again changes nothing.
2. A hospital reports a death nobody has applied for: a proactive case with the 户口 and benefit-
   stop tasks, and a text inviting the next of kin; the family follows the link and joins the case.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import ROOT, _free_port, assert_accessible, assert_no_horizontal_scroll, shot, wait_until_up
from e2e.test_backoffice import DESKTOP, POLL_WAIT_MS, family_submits
from e2e.test_login import login_in_browser
from tests.fake_sms_gateway import Gateway, running

DIED = date.today() - timedelta(days=2)  # as family_submits states it, at 06:30
PROACTIVE_ID = "330302193803030027"  # fictional, valid check digit


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with running(Gateway()) as gw:
        yield gw


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, gateway: Gateway) -> Iterator[dict[str, str]]:
    """A portal and its worker on a free port; the texts go to the fake gateway."""
    port = _free_port()
    var = tmp_path_factory.mktemp("flow-var")
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VAR_DIR": str(var), "PORT": str(port), "BASE_URL": base, "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": f"sqlite:///{var / 'flow.db'}", "SMS_GATEWAY_URL": gateway.url,
           "SMS_GATEWAY_KEY": gateway.key, "JOB_POLL_SECONDS": "0.5", "PRERENDER_RECEIPTS": "0"}
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    clients = {}
    for role, department in (("funeral_home", "binyiguan"), ("hospital", "weijian"), ("yibao", "yibao")):
        out = subprocess.run([sys.executable, "-m", "portal", "api-client", "add", "--name", f"{role} 参考客户端",
                              "--department", department], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        clients[role] = json.loads(out.stdout)
    log = open(var / "server.log", "w")
    procs = [subprocess.Popen([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, stdout=log, stderr=log)
             for command in ("serve", "worker")]
    try:
        wait_until_up(base, var / "server.log")
        yield {"base": base, **{f"{k}_id": v["client_id"] for k, v in clients.items()},
               **{f"{k}_secret": v["client_secret"] for k, v in clients.items()}}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        log.close()


def simulate(portal: dict[str, str], client: str, *args: str) -> list[dict]:  # type: ignore[type-arg]
    """Run the reference client as its own process; its printed answers."""
    out = subprocess.run([sys.executable, "-m", "portal.simulate", "--portal", portal["base"],
                          "--client-id", portal[f"{client}_id"], "--client-secret", portal[f"{client}_secret"], *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _context(browser: Browser, portal: dict[str, str], **kw: object) -> Page:
    return browser.new_context(base_url=portal["base"], locale="zh-CN", **kw).new_page()  # type: ignore[arg-type]


def _task(page: Page, matter: str):  # type: ignore[no-untyped-def]
    return page.locator(".task-list > li", has=page.locator(".task-name", has_text=matter))


def test_cremation_reported_by_the_funeral_home_moves_the_open_progress_page(browser: Browser, portal, phone) -> None:  # type: ignore[no-untyped-def]
    family = _context(browser, portal, **phone)
    app_id = family_submits(family)
    clerk = _context(browser, portal, viewport=DESKTOP)
    login_in_browser(clerk, "clerk", f"/admin/applications/{app_id}")
    clerk.wait_for_url(re.compile(f"/admin/applications/{app_id}$"))
    clerk.get_by_role("button", name="受理这份申请").click()
    expect(clerk.locator(".bo-flash")).to_contain_text("已受理申请")

    family.goto(f"/my/{app_id}")
    expect(_task(family, "火化前期手续办理")).to_contain_text("未开始")
    expect(_task(family, "养老保险停发、丧葬费和抚恤金申领")).to_contain_text("暂不能开始")
    family.evaluate("window.__notReloaded = true")

    died = f"{DIED.isoformat()}T06:30"
    first = simulate(portal, "funeral_home", "--twice", "funeral-home", "cremation", "--name", "陈老三",
                     "--id-number", "33030219420303001X", "--died", died)
    assert [a["status"] for a in first] == [200, 200]
    assert first[0]["answer"]["outcome"] == "applied" and not first[0]["answer"]["duplicate"]
    assert first[1]["answer"]["duplicate"] and first[1]["answer"]["outcome"] == "applied"  # the same answer
    settled = simulate(portal, "yibao", "department", "medical", "--name", "陈老三", "--id-number",
                       "33030219420303001X", "--amount", "-320.50")
    assert settled[0]["answer"]["outcome"] == "applied"

    # the open page follows by itself: 火化 done (reported by the funeral home), 人社 unlocked
    expect(_task(family, "火化前期手续办理")).to_contain_text("已办结", timeout=POLL_WAIT_MS)
    expect(_task(family, "火化前期手续办理")).to_contain_text("由殡仪馆系统自动报送")
    expect(_task(family, "医疗保险个人账户清算")).to_contain_text("已办结")
    expect(_task(family, "养老保险停发、丧葬费和抚恤金申领")).to_contain_text("未开始")
    expect(family.locator("#progress")).to_contain_text("由殡仪馆系统自动报送")
    assert family.evaluate("window.__notReloaded") is True
    assert_accessible(family)
    assert_no_horizontal_scroll(family)
    shot(family, "data-flow-progress-phone")

    # the same event once more (its own id and source, as the funeral home's retry sends it): nothing changes
    stamp = family.locator("#progress").get_attribute("data-stamp")
    again = simulate(portal, "funeral_home", "funeral-home", "cremation", "--name", "陈老三",
                     "--id-number", "33030219420303001X", "--died", died, "--event-id", first[0]["event_id"])
    assert again[0]["answer"]["duplicate"] and again[0]["answer"] == {**first[0]["answer"], "duplicate": True}
    family.reload()
    assert family.locator("#progress").get_attribute("data-stamp") == stamp

    # a contradicting fact (another date of death) changes nothing: the window clerk checks it
    other_day = f"{(DIED - timedelta(days=1)).isoformat()}T23:50"
    held = simulate(portal, "funeral_home", "funeral-home", "body-received", "--name", "陈老三", "--id-number",
                    "33030219420303001X", "--died", other_day, "--funeral-home-name", "洞头区殡仪馆",
                    "--funeral-home-code", "12330305MB0000000X")
    assert held[0]["answer"]["outcome"] == "exception"
    clerk.goto("/admin/window")
    expect(clerk.locator("main")).to_contain_text("与申请不一致")
    clerk.goto(f"/admin/applications/{app_id}")
    expect(clerk.locator("#exceptions")).to_contain_text("去世日期不一致")
    assert_accessible(clerk)
    clerk.set_viewport_size({"width": 390, "height": 844})
    assert_no_horizontal_scroll(clerk)
    shot(clerk, "case-exception-phone")
    clerk.get_by_label("核实结果").fill("已与家属核实，以死亡证明上的日期为准，殡仪馆报送有误。")
    clerk.get_by_role("button", name="标记为已处理").click()
    expect(clerk.locator("#exceptions")).to_contain_text("已处理")
    family.context.close()
    clerk.context.close()


def test_a_death_nobody_applied_for_starts_the_case_and_the_family_joins(browser: Browser, portal, gateway, phone) -> None:  # type: ignore[no-untyped-def]
    died = f"{DIED.isoformat()}T05:10"
    answer = simulate(portal, "hospital", "department", "certificate", "--name", "林阿婆", "--id-number", PROACTIVE_ID,
                      "--died", died, "--county", "330302", "--township", "五马街道", "--scenario", "hospital",
                      "--contact-name", "林晓燕", "--contact-phone", "13905770002", "--contact-relation", "child")[0]
    assert answer["answer"]["outcome"] == "proactive_case"
    number = answer["answer"]["number"]

    deadline = time.monotonic() + 20  # the worker sends the invitation through the gateway
    while time.monotonic() < deadline and not any(number in t.get("text", "") for t in gateway.delivered):
        time.sleep(0.3)
    invitation = next(t for t in gateway.delivered if number in t.get("text", ""))
    assert invitation["phone"] == "13905770002" and PROACTIVE_ID not in invitation["text"]
    link = re.search(r"https?://\S+/apply/claim/[\w-]+", invitation["text"])
    assert link, invitation["text"]

    # the departments that act regardless of the family have their tasks already
    clerk = _context(browser, portal, viewport=DESKTOP)
    login_in_browser(clerk, "clerk", "/admin/window?status=proactive")
    clerk.wait_for_url(re.compile("/admin/window"))
    clerk.goto("/admin/window?status=proactive")
    clerk.get_by_role("link", name=number).click()
    for matter in ("亡故人户口注销", "养老保险待遇停发", "低保、特困供养停发", "优抚对象待遇处理", "残疾人补贴停发、残疾人证注销"):
        expect(clerk.locator("main")).to_contain_text(matter)
    shot(clerk, "proactive-case-clerk")

    # the next of kin follows the link on a phone: the one form, already filled in with what is known
    family = _context(browser, portal, **phone)
    claim_path = "/" + link.group(0).split("/", 3)[3]
    login_in_browser(family, "linxiaoyan", claim_path)
    family.wait_for_url(re.compile(r"/apply/step/"))
    family.goto("/apply/step/deceased")
    expect(family.get_by_label("逝者姓名")).to_have_value("林阿婆")
    assert_no_horizontal_scroll(family)
    shot(family, "proactive-claim-prefilled-phone")
    family.goto("/apply/step/death")
    expect(family.get_by_label("日期", exact=True)).to_have_value(DIED.isoformat())
    expect(family.get_by_label("死亡原因")).to_have_value("病故")

    token = re.search(r'name="csrf_token" value="([^"]+)"', family.request.get("/").text()).group(1)  # type: ignore[union-attr]

    def post(url: str, pairs: list[tuple[str, str]]) -> int:
        r = family.request.post(url, data=urlencode([("csrf_token", token), *pairs]),
                                headers={"content-type": "application/x-www-form-urlencoded"}, max_redirects=0)
        return r.status

    # the family confirms the facts as shown and adds only what no department knew
    for step, pairs in (
        ("scenario", [("scenario", "hospital")]),
        ("deceased", [("d_name", "林阿婆"), ("d_id", PROACTIVE_ID), ("d_ethnicity", "01"), ("d_hukou", "330302:五马街道"),
                      ("d_address", "解放街9号"), ("d_temp", "")]),
        ("death", [("death_date", DIED.isoformat()), ("death_time", "05:10"), ("death_cause", "病故")]),
        ("certificate", [("cert_no", PROACTIVE_ID)]),
        ("funeral", [("body_at_fh", "yes"), ("funeral_home", "温州市殡仪馆")]),
        ("ashes", [("ashes_category", "commercial_cemetery"), ("ashes_place_commercial_cemetery", "仙岩公墓"),
                   ("route", ""), ("pledge", "yes")]),
        ("matters", [("pension_type", "enterprise_retired"), ("matters", "cremation"), ("matters", "medical"),
                     ("matters", "pension")]),
        ("applicant", [("a_relation", "child"), ("a_address", "鹿城区松台街道广场路1号")]),
        ("recipient", [("r_who", "self"), ("r_bank", "中国农业银行"), ("r_account", "6222021234567890128")]),
    ):
        assert post(f"/apply/step/{step}", pairs) == 303, step
    family.goto("/apply/step/check")
    key = re.search(r'name="submit_key" value="([^"]+)"', family.content()).group(1)  # type: ignore[union-attr]
    assert post("/apply/submit", [("submit_key", key), ("declaration", "yes")]) == 303
    family.goto("/my")
    expect(family.locator("main")).to_contain_text(number)  # they joined the case: the same 编号
    family.locator(".my-app", has_text=number).get_by_role("link", name=re.compile("查看进度")).click()
    for matter in ("亡故人户口注销", "养老保险待遇停发", "火化前期手续办理", "医疗保险个人账户清算"):
        expect(family.locator("#progress")).to_contain_text(matter)
    expect(family.locator("main")).to_contain_text("卫生健康局系统报送了逝者去世的信息")
    assert_accessible(family)
    shot(family, "proactive-joined-progress-phone")
    family.context.close()
    clerk.context.close()


