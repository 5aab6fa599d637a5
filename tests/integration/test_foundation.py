"""The foundation's promises: pages, errors, security baseline, health, migrations."""
from __future__ import annotations

import importlib.util

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from portal.app import create_app
from portal.config import Settings
from portal.migrate import check
from portal.web import registry


def test_home_page_is_chinese_and_phone_ready(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert '<html lang="zh-CN"' in r.text
    assert 'name="viewport"' in r.text
    assert "身后一件事" in r.text and "开始申请" in r.text
    assert 'href="#main"' in r.text  # skip link


def test_security_headers(client: TestClient) -> None:
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_unknown_url_gets_chinese_404(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404
    assert "找不到这个页面" in r.text
    assert "Traceback" not in r.text


def test_cross_site_post_is_refused(client: TestClient, csrf: str) -> None:
    data = {"csrf_token": csrf, "elder": "1", "next": "/"}
    r = client.post("/prefs/elder", data=data, headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/prefs/elder", data=data, headers={"origin": "https://evil.example"})
    assert r.status_code == 403


def test_post_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/")
    r = client.post("/prefs/elder", data={"elder": "1"})
    assert r.status_code == 403
    assert "页面已过期" in r.text


def test_elder_mode_switch_is_remembered(client: TestClient, csrf: str) -> None:
    r = client.post("/prefs/elder", data={"csrf_token": csrf, "elder": "1", "next": "/policy"},
                    headers={"origin": "http://testserver"})
    assert r.status_code == 303 and r.headers["location"] == "/policy"
    assert "httponly" in r.headers["set-cookie"].lower()
    assert '<html lang="zh-CN" class="elder"' in client.get("/").text


def test_elder_switch_refuses_open_redirect(client: TestClient, csrf: str) -> None:
    r = client.post("/prefs/elder", data={"csrf_token": csrf, "elder": "1", "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_oversized_body_gets_413(client: TestClient, csrf: str) -> None:
    r = client.post("/prefs/elder", content=b"x" * (2 * 1024 * 1024),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_untrusted_host_is_refused(client: TestClient) -> None:
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_session_cookie_flags(client: TestClient) -> None:
    assert "set-cookie" not in client.get("/").headers  # public pages start no session
    r = client.get("/login")  # a login does
    cookie = r.headers.get("set-cookie", "").lower()
    assert "portal_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_healthz_checks_database(client: TestClient) -> None:
    r = client.get("/healthz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok" and body["database"] == "ok"
    assert body["jobs"] == {"due": 0, "oldest_due_seconds": None, "dead": 0, "stuck": False}


def test_models_and_migrations_agree(engine) -> None:  # type: ignore[no-untyped-def]
    check(engine)  # raises if autogenerate would produce a diff


def test_server_error_is_a_chinese_page_without_stack_trace(app) -> None:  # type: ignore[no-untyped-def]
    from starlette.routing import Route

    def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    app.router.routes.append(Route("/boom", boom))
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert "系统暂时出了问题" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


def test_every_listed_area_exists() -> None:
    missing = [name for name in registry.AREAS if importlib.util.find_spec(name) is None]
    assert not missing, missing


def test_a_listed_area_that_is_missing_stops_start_up(test_env: dict[str, str], engine: Engine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "AREAS", (*registry.AREAS, "portal.web.no_such_area"))
    with pytest.raises(ModuleNotFoundError, match="portal.web.no_such_area"):
        create_app(Settings.from_env(test_env), engine=engine)
