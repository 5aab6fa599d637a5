"""Throttling (issue 11, items 4 and 12): login, step saves, search, /verify, downloads, the in-progress
check; the Chinese 429 page with Retry-After; the database storage under concurrent increments.

Windows pass by moving the throttle's clock (`portal.throttle.now`), never by sleeping.
"""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from limits import parse
from limits.errors import ConfigurationError
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient
from stdnum.cn import ric

from auth.web import build_oauth
from portal import throttle
from portal.app import create_app
from portal.config import DECLARED, ROOT, Settings
from portal.models import Application, Event, ThrottleCounter
from portal.services.applications import IN_PROGRESS_CHECK
from tests.conftest import csrf_from
from tests.helpers import DEMO_PASSWORD, _path, login, provider_login_form
from tests.integration.test_apply_support import DECEASED_ID, full_application, post_step, start, typical

Clock = Callable[[float], None]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Move the throttle's clock forward by some seconds."""
    offset = [0.0]
    monkeypatch.setattr(throttle, "now", lambda: time.time() + offset[0])

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


@pytest.fixture
def portal_with(app, test_env: dict[str, str], engine: Engine) -> Iterator[Callable[..., TestClient]]:  # type: ignore[no-untyped-def]
    """A client of a portal whose RATE_LIMIT_<NAME> settings are given (tables are emptied by `app`)."""
    opened: list[TestClient] = []

    def make(**limits: str) -> TestClient:
        env = {**test_env, **{f"RATE_LIMIT_{name.upper()}": value for name, value in limits.items()}}
        settings = Settings.from_env(env)
        application = create_app(settings, engine=engine)
        application.state.oauth = build_oauth(settings, transport=httpx.ASGITransport(app=application))
        client = TestClient(application, base_url="http://testserver", follow_redirects=False)
        opened.append(client.__enter__())
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def assert_throttled(response: Any, *, within: int) -> None:
    """429, Retry-After, and the warm Chinese page that says when to try again."""
    assert response.status_code == 429, (response.status_code, response.text[:300])
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= within
    assert "请稍后再试" in response.text and "再试" in response.text
    assert re.search(r"请在.*(秒|分钟|小时)后", response.text), response.text[:800]
    assert "12345" in response.text


def valid_id(n: int) -> str:
    body = f"33030219500101{n:03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18


# --- login at the stand-in provider ----------------------------------------------------------


def _login_form(client: TestClient) -> tuple[str, dict[str, str]]:
    start_login = client.get("/login?next=/")
    return provider_login_form(client, start_login.headers["location"])


def test_wrong_passwords_lock_the_username_then_even_the_right_one_waits(client: TestClient, clock: Clock) -> None:
    action, fields = _login_form(client)
    codes = []
    for _ in range(100):
        r = client.post(_path(action), data={**fields, "username": "admin", "password": "wrong-guess"})
        codes.append(r.status_code)
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
    assert "登录失败的次数太多了" in r.text and re.search(r"请在\d+分钟后", r.text)
    assert 0 < int(r.headers["retry-after"]) <= 15 * 60

    right = client.post(_path(action), data={**fields, "username": "admin", "password": DEMO_PASSWORD})
    assert right.status_code == 429 and "登录失败的次数太多了" in right.text  # the right one waits too

    clock(15 * 60 + 1)  # the window passes
    right = client.post(_path(action), data={**fields, "username": "admin", "password": DEMO_PASSWORD})
    assert right.status_code in (302, 303) and "/auth/callback" in right.headers["location"]


def test_failed_logins_are_limited_per_client_ip_across_usernames(client: TestClient) -> None:
    action, fields = _login_form(client)
    for n in range(30):
        r = client.post(_path(action), data={**fields, "username": f"nobody-{n}", "password": "x"})
        assert r.status_code == 200, n
    r = client.post(_path(action), data={**fields, "username": "chenjianguo", "password": DEMO_PASSWORD})
    assert r.status_code == 429 and "登录失败的次数太多了" in r.text


def test_successful_logins_never_count_and_clear_earlier_failures(client: TestClient) -> None:
    for _ in range(3):
        action, fields = _login_form(client)
        for _ in range(4):  # four slips, then the right password, again and again
            client.post(_path(action), data={**fields, "username": "linxiaoyan", "password": "typo"})
        assert client.post(_path(action), data={**fields, "username": "linxiaoyan", "password": DEMO_PASSWORD}
                           ).status_code in (302, 303)
        client.cookies.clear()
    for _ in range(20):
        assert login(client, "linxiaoyan") == "/"
        client.cookies.clear()  # log in at the provider again, with the password


# --- search, /verify, downloads, step saves --------------------------------------------------


def test_search_past_its_limit_is_refused_in_chinese_until_the_window_passes(portal_with, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    client = portal_with(search="3 per minute")
    for q in ("火化", "户口", "抚恤"):  # each one searched (a repeated query is answered from the page cache)
        assert client.get(f"/policy/search?q={q}").status_code == 200
    assert client.get("/policy/search?q=火化").status_code == 200  # already found: costs nothing
    assert_throttled(client.get("/policy/search?q=丧葬费"), within=60)
    fragment = client.get("/policy/search?q=丧葬费", headers={"HX-Request": "true"})
    assert fragment.status_code == 429 and fragment.headers["retry-after"]
    assert "<html" not in fragment.text and "请在" in fragment.text  # a small fragment for htmx
    clock(61)
    assert client.get("/policy/search?q=丧葬费").status_code == 200


def test_verify_is_limited_per_client_ip(portal_with) -> None:  # type: ignore[no-untyped-def]
    client = portal_with(verify="2 per minute")
    for _ in range(2):
        assert client.get("/verify/not-a-real-token").status_code == 404
    assert_throttled(client.get("/verify/not-a-real-token"), within=60)


def test_downloads_are_limited_per_account(portal_with, demo_staff: None) -> None:  # type: ignore[no-untyped-def]
    family = portal_with(download="2 per minute")
    app_id = full_application(family)
    for _ in range(2):
        assert family.get(f"/my/{app_id}/receipt.pdf").status_code == 200
    assert_throttled(family.get(f"/my/{app_id}/receipt.pdf"), within=60)

    clerk = TestClient(family.app, base_url="http://testserver", follow_redirects=False)
    with clerk:
        login(clerk, "clerk")  # another account has its own count
        token = csrf_from(clerk.get(f"/admin/applications/{app_id}").text)
        form = {"csrf_token": token, "archive_reason": "乡镇存档"}
        for _ in range(2):
            assert clerk.post(f"/admin/applications/{app_id}/archive.pdf", data=form).status_code == 200
        assert_throttled(clerk.post(f"/admin/applications/{app_id}/archive.pdf", data=form), within=60)


def test_step_saves_and_save_for_later_are_limited_per_account(portal_with, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    client = portal_with(step_save="3 per minute")
    start(client)
    assert post_step(client, "scenario", {"scenario": "home"}).status_code == 303
    assert post_step(client, "scenario", {"scenario": "hospital"}, action="save").status_code == 303
    assert post_step(client, "scenario", {"scenario": "home"}).status_code == 303
    refused = post_step(client, "scenario", {"scenario": "abroad"}, action="save")
    assert_throttled(refused, within=60)
    assert "这一次没有保存" in refused.text
    assert client.get("/apply/step/scenario").status_code == 200  # reading is never limited


# --- the in-progress check (item 12) ---------------------------------------------------------


def _deceased(n: int | None = None, **extra: str) -> dict[str, str]:
    data = dict(typical()["deceased"])
    if n is not None:
        data["d_id"] = valid_id(n)
    return {**data, **extra}


def test_in_progress_check_is_tight_per_account_and_audited(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    full_application(client)  # chenjianguo's case for DECEASED_ID is in progress
    stranger = TestClient(app, base_url="http://testserver", follow_redirects=False)
    with stranger:
        start(stranger, "linxiaoyan")
        post_step(stranger, "scenario", {"scenario": "home"})
        r = post_step(stranger, "deceased", _deceased())  # 1: finds the case
        assert r.headers["location"] == "/apply/in-progress"
        assert stranger.get("/apply/in-progress").status_code == 200  # showing it again is free
        assert post_step(stranger, "deceased", _deceased()).status_code == 303  # same number: free
        for n in range(1, 4):  # 2-4: new numbers, nothing in progress
            assert post_step(stranger, "deceased", _deceased(n)).headers["location"] != "/apply/in-progress"
        assert post_step(stranger, "deceased", _deceased(4), action="save").status_code == 303  # 5
        refused = post_step(stranger, "deceased", _deceased())  # 6: refused, before any look-up
        assert_throttled(refused, within=3600)
        assert "逝者身份证号码" in refused.text and "没有保存" in refused.text
        assert_throttled(stranger.get("/apply/in-progress"), within=3600)
        with Session(engine) as s:  # the refused number was not saved
            draft = s.scalar(select(Application).where(Application.status == "draft"))
            assert draft is not None
        assert DECEASED_ID not in str(app.state.services.vault.open_bytes(draft.draft_blob))

    with Session(engine) as s:
        events = s.scalars(select(Event).where(Event.tag == IN_PROGRESS_CHECK).order_by(Event.id)).all()
        case_id = s.scalar(select(Application.id).where(Application.status == "submitted"))
    found = [e for e in events if e.after and e.after.get("found")]
    assert len(events) >= 6 and len(found) >= 3  # every look-up, hits and misses
    assert all(e.actor_name == "林晓燕" and e.application_id == case_id for e in found)
    assert all(not e.public for e in events)
    for e in events:  # never the number itself, not even masked
        logged = f"{e.summary} {e.before} {e.after}"
        assert not re.search(r"\d{6,}", logged), logged


def test_in_progress_window_passes(app, client: TestClient, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    start(client)
    post_step(client, "scenario", {"scenario": "home"})
    for n in range(5):
        assert post_step(client, "deceased", _deceased(n)).status_code == 303
    assert post_step(client, "deceased", _deceased(9)).status_code == 429
    clock(3601)
    assert post_step(client, "deceased", _deceased(9)).status_code == 303


# --- the database storage --------------------------------------------------------------------


def _storage(engine: Engine) -> throttle.DatabaseStorage:
    return throttle.DatabaseStorage(engine)


def test_storage_counts_every_concurrent_increment_once(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    storage = _storage(engine)
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(40):
            value = storage.incr("test/concurrent", 60)
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 321))  # atomic: no lost update, no repeated count
    assert storage.get("test/concurrent") == 320


def test_limiter_over_the_storage_allows_exactly_the_limit_under_concurrency(app, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    limiter = FixedWindowRateLimiter(_storage(engine))
    item = parse("25 per minute")
    allowed: list[bool] = []

    def worker() -> None:
        for _ in range(10):
            allowed.append(limiter.hit(item, "test", "burst"))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 25 and len(allowed) == 60


def test_storage_windows_expire_clear_and_purge(app, engine: Engine, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    storage = _storage(engine)
    assert storage.check()
    assert [storage.incr("test/a", 10) for _ in range(3)] == [1, 2, 3]
    assert storage.get_expiry("test/a") > throttle.now()
    clock(11)
    assert storage.get("test/a") == 0
    assert storage.incr("test/a", 10) == 1  # a new window
    storage.incr("test/b", 5)
    storage.clear("test/a")
    assert storage.get("test/a") == 0 and storage.get("test/b") == 1
    clock(6)
    storage.purge()
    with Session(engine) as s:
        assert s.scalar(select(ThrottleCounter).where(ThrottleCounter.key == "test/b")) is None
    storage.incr("test/c", 5)
    assert storage.reset() == 1


def test_the_table_holds_no_ip_username_or_account_in_clear(client: TestClient, engine: Engine) -> None:
    action, fields = _login_form(client)
    client.post(_path(action), data={**fields, "username": "chenjianguo", "password": "wrong"})
    client.get("/policy/search?q=火化")
    with Session(engine) as s:
        keys = list(s.scalars(select(ThrottleCounter.key)))
    assert keys and not any("testclient" in k or "chenjianguo" in k or "account" in k for k in keys)


def test_a_storage_that_fails_lets_families_through() -> None:
    class Broken(throttle.DatabaseStorage):
        def __init__(self) -> None:  # no engine at all
            pass

        def incr(self, key: str, expiry: int, amount: int = 1) -> int:
            raise OSError("storage unreachable")

        def get(self, key: str) -> int:
            raise OSError("storage unreachable")

    checker = throttle.Throttle(Broken(), {}, "secret")
    assert checker.hit("search", "ip:1.2.3.4").allowed and checker.test("search", "ip:1.2.3.4").allowed


# --- settings ---------------------------------------------------------------------------------


def test_every_limit_is_a_documented_setting_with_its_default() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    for name, limit in throttle.LIMITS.items():
        assert f"| `RATE_LIMIT_{name.upper()}` | `{limit.default}` |" in doc, name
    assert "RATE_LIMIT_STORAGE" in DECLARED and "| `RATE_LIMIT_STORAGE` | `db` |" in doc


def test_a_wrong_limit_setting_stops_start_up(test_env: dict[str, str], engine: Engine) -> None:
    for bad in ({"RATE_LIMIT_SEARCHES": "5 per minute"}, {"RATE_LIMIT_SEARCH": "often"}):
        with pytest.raises(ConfigurationError):
            create_app(Settings.from_env({**test_env, **bad}), engine=engine)


def test_other_storages_come_from_a_limits_uri(test_env: dict[str, str], engine: Engine) -> None:
    settings = Settings.from_env({**test_env, "RATE_LIMIT_STORAGE": "memory://"})
    application = create_app(settings, engine=engine)
    assert type(application.state.services.extras["throttle"].storage).__name__ == "MemoryStorage"
