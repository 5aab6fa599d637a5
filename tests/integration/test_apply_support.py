"""Shared helpers for the 一表申请 tests: log in, start a draft, answer steps (no tests here)."""
from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_from
from tests.helpers import login

# Fictional deceased with valid GB 11643 check characters.
DECEASED_ID = "330302194001010010"  # 男, 1940-01-01
DECEASED_ID_2 = "330302193805050021"  # 女, 1938-05-05
DECEASED_ID_X = "33038119450707018X"  # 男, 1945-07-07
RECIPIENT_ID = "330302196001010044"  # 女, 1960-01-01
GOOD_ACCOUNT = "6222021234567890128"  # passes Luhn
BAD_LUHN_ACCOUNT = "6222021234567890123"

RECENT = date.today() - timedelta(days=2)  # after 2026-07-01: new certificate format
OLD = date(2026, 6, 20)  # before 2026-07-01: old free-text serial


def typical(death: date = RECENT, deceased_id: str = DECEASED_ID, scenario: str = "home") -> dict[str, dict[str, Any]]:
    """Home death, retiree, four matters, the applicant receives the money."""
    return {
        "scenario": {"scenario": scenario},
        "deceased": {"d_name": "陈老三", "d_id": deceased_id, "d_ethnicity": "01",
                     "d_hukou": "330302:五马街道", "d_address": "解放街188号", "d_temp": ""},
        "death": {"death_date": death.isoformat(), "death_time": "06:30", "death_cause": "肺癌"},
        "certificate": {"cert_no": deceased_id if death >= date(2026, 7, 1) and scenario != "unnatural" else "WZ-2026-001234"},
        "funeral": {"body_at_fh": "no", "pickup_address": "鹿城区五马街道解放街188号",
                    "pickup_date": death.isoformat(), "pickup_time": "09:00"},
        "ashes": {"ashes_category": "commercial_cemetery", "ashes_place_commercial_cemetery": "仙岩公墓",
                  "route": "", "pledge": "yes"},
        "matters": {"pension_type": "enterprise_retired", "matters": ["cremation", "hukou", "medical", "pension"]},
        "applicant": {"a_relation": "child", "a_address": "鹿城区松台街道广场路1号"},
        "recipient": {"r_who": "self", "r_bank": "中国农业银行", "r_account": GOOD_ACCOUNT},
    }


def csrf(client: TestClient) -> str:
    return csrf_from(client.get("/").text)


def start(client: TestClient, user: str = "chenjianguo") -> str:
    """Log in and open (or resume) a draft; returns where /apply/start sent us."""
    if "退出登录" not in client.get("/").text:
        login(client, user, "/apply")
    r = client.post("/apply/start", data={"csrf_token": csrf(client)})
    assert r.status_code == 303, r.text[:400]
    return r.headers["location"]


def post_step(client: TestClient, step: str, data: dict[str, Any], *, back: bool = False,
              action: str | None = None) -> Any:
    page = client.get(f"/apply/step/{step}")
    token = csrf(client)
    if page.status_code == 200:  # use the token the page itself carries, as a browser does
        match = re.search(r'class="apply-form">\s*<input type="hidden" name="csrf_token" value="([^"]*)"', page.text)
        assert match and match.group(1), "the step form carries no CSRF token"
        token = match.group(1)
    payload: dict[str, Any] = {"csrf_token": token, **data}
    if action:
        payload["action"] = action
    url = f"/apply/step/{step}" + ("?back=check" if back else "")
    return client.post(url, data=payload)


def answer_all(client: TestClient, answers: dict[str, dict[str, Any]], *, until: str | None = None) -> None:
    """Answer the steps in order, following the redirects the portal gives."""
    for step, data in answers.items():
        if step == until:
            return
        r = post_step(client, step, data)
        assert r.status_code == 303, (step, errors_in(r.text), r.text[:300])


def submit_key(client: TestClient) -> str:
    page = client.get("/apply/step/check")
    assert page.status_code == 200, page.headers.get("location")
    match = re.search(r'name="submit_key" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def submit(client: TestClient, key: str | None = None) -> Any:
    key = key or submit_key(client)
    page = client.get("/apply/step/check")
    token = csrf(client)
    if page.status_code == 200:
        match = re.search(r'action="/apply/submit" novalidate>\s*<input type="hidden" name="csrf_token" value="([^"]*)"', page.text)
        assert match and match.group(1), "the submit form carries no CSRF token"
        token = match.group(1)
    return client.post("/apply/submit", data={"csrf_token": token, "submit_key": key, "declaration": "yes"})


def full_application(client: TestClient, user: str = "chenjianguo", **kw: Any) -> int:
    """Log in, answer everything, submit; returns the application id."""
    start(client, user)
    answer_all(client, typical(**kw))
    r = submit(client)
    assert r.status_code == 303, r.text[:500]
    match = re.match(r"/apply/(\d+)/done", r.headers["location"])
    assert match, r.headers["location"]
    return int(match.group(1))


def errors_in(html: str) -> list[str]:
    """The messages of the error summary."""
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    if not box:
        return []
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r"<li>(.*?)</li>", box.group(0), re.S)]
