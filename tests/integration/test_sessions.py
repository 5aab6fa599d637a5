"""Server-side sessions: an opaque id in the cookie, revocable rows, idle and absolute timeouts.

Time is moved through the session store's clock; nothing sleeps.
"""
from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from sqlalchemy import func, select
from starlette.testclient import TestClient

from portal.db import transaction
from portal.models import StaffMember, WebSession
from portal.services import workflow as wf
from tests.conftest import csrf_from
from tests.helpers import _path, login
from tests.integration.factories import staff

COOKIE = "portal_session"
CHEN_ID, CHEN_PHONE = "33030219620315031X", "19900000001"


class Clock:
    """A settable clock for the session store."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _clock(app) -> Clock:  # type: ignore[no-untyped-def]
    clock = Clock()
    app.state.session_store.clock = clock
    return clock


def _signed_in(client: TestClient, path: str = "/my") -> bool:
    answer = client.get(path)
    return answer.status_code == 200


def _logout(client: TestClient) -> str:
    out = client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
    assert out.status_code == 303
    return out.headers["location"]


def test_cookie_holds_only_an_opaque_id_and_the_database_only_its_hash(client, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "chenjianguo")
    value = client.cookies[COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), value
    with db() as s:
        stored = list(s.scalars(select(WebSession.id_hash)))
    assert len(stored) == 1 and value not in stored[0]


def test_a_cookie_captured_before_logout_is_refused_after(client) -> None:  # type: ignore[no-untyped-def]
    login(client, "chenjianguo")
    captured = client.cookies[COOKIE]
    assert _signed_in(client)
    _logout(client)
    client.cookies.set(COOKIE, captured)
    mine = client.get("/my")
    assert mine.status_code == 303 and mine.headers["location"].startswith("/login")
    assert "陈建国" not in client.get("/").text


def test_an_admins_cookie_captured_before_logout_no_longer_opens_admin(client, demo_staff) -> None:  # type: ignore[no-untyped-def]
    login(client, "admin")
    captured = client.cookies[COOKIE]
    assert client.get("/admin/staff").status_code == 200
    _logout(client)
    client.cookies.set(COOKIE, captured)
    again = client.get("/admin/staff")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_deactivating_a_staff_member_ends_their_live_session(app, db) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as clerk:
        login(clerk, "clerk")
        assert clerk.get("/admin").status_code == 200
        with transaction(db) as s:
            member = s.scalar(select(StaffMember).where(StaffMember.sub == "zj-u-0101"))
            wf.set_staff_active(s, member.id, member.version, False, staff(s, "admin"))
        after = clerk.get("/my")  # not merely 403 in the back office: signed out entirely
        assert after.status_code == 303 and after.headers["location"].startswith("/login")
        with db() as s:
            assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.account_id.isnot(None))) == 0


def test_idle_timeout_ends_a_session(client, app, settings) -> None:  # type: ignore[no-untyped-def]
    clock = _clock(app)
    login(client, "chenjianguo")
    clock.advance(seconds=settings.session_idle_seconds - 30)
    assert _signed_in(client)
    clock.advance(seconds=settings.session_idle_seconds + 1)
    mine = client.get("/my")
    assert mine.status_code == 303 and mine.headers["location"].startswith("/login")


def test_activity_slides_the_idle_timer_but_not_the_absolute_limit(client, app, settings) -> None:  # type: ignore[no-untyped-def]
    clock = _clock(app)
    login(client, "chenjianguo")
    step = settings.session_idle_seconds * 0.8
    elapsed = 0.0
    while elapsed + step < settings.session_max_seconds:
        clock.advance(seconds=step)
        elapsed += step
        assert _signed_in(client), f"signed out after {elapsed:.0f} s of steady activity"
    assert elapsed > settings.session_idle_seconds * 3  # the idle timer really slid
    clock.advance(seconds=settings.session_max_seconds - elapsed + 1)
    assert not _signed_in(client)


def test_expired_sessions_are_purged(client, app, db, settings) -> None:  # type: ignore[no-untyped-def]
    clock = _clock(app)
    login(client, "chenjianguo")
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        login(other, "linxiaoyan")
    clock.advance(seconds=settings.session_max_seconds + 1)
    removed = app.state.session_store.purge()
    assert removed >= 2
    with db() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0


def test_a_request_that_keeps_nothing_creates_no_session(client, db) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/healthz")
    assert answer.status_code == 200 and "set-cookie" not in answer.headers
    with db() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0


def _b64_texts(value: str, depth: int = 3) -> list[str]:
    """The value and every base64 piece in it, decoded (a JWT inside a signed cookie too)."""
    out = [value, unquote(value)]
    if depth == 0:
        return out
    for piece in re.findall(r"[A-Za-z0-9_\-+/]{12,}", unquote(value)):
        try:
            decoded = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
        out.extend(_b64_texts(decoded, depth - 1))
    return out


def test_no_cookie_or_redirect_carries_a_personal_number_or_the_id_token(client) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def watch(response) -> None:  # type: ignore[no-untyped-def]
        seen.extend(response.headers.get_list("set-cookie"))
        if "location" in response.headers:
            seen.append(response.headers["location"])

    client.event_hooks["response"].append(watch)
    login(client, "chenjianguo", "/my")
    client.get("/my")
    end_session = _logout(client)
    back = client.get(_path(end_session))  # the stand-in ends its session without an id_token_hint
    assert len(seen) > 5
    for item in seen:
        for text in _b64_texts(item):
            assert CHEN_ID not in text and CHEN_PHONE not in text, item
    for item in seen:
        if item.startswith(COOKIE + "="):
            assert "eyJ" not in item, item  # no JSON or JWT in the portal's cookie
    assert "id_token_hint" not in end_session and "client_id=" in end_session
    assert back.status_code in (302, 303) and back.headers["location"] == "http://testserver/"


def test_session_rows_hold_no_raw_id_token(client, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "chenjianguo")
    with db() as s:
        data = s.scalars(select(WebSession.data)).one()
    assert "id_token" not in data and CHEN_ID not in str(data) and CHEN_PHONE not in str(data)


def test_login_replaces_the_session_id(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")  # the session starts here (public pages start none)
    before = client.cookies[COOKIE]
    login(client, "chenjianguo")
    assert client.cookies[COOKIE] != before
    client.cookies.set(COOKIE, before)
    assert not _signed_in(client)
