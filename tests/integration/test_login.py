"""Portal side of the login: real OIDC round trips against the embedded stand-in provider."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from starlette.testclient import TestClient

from auth.provider.config import load_or_create_key
from auth.web import build_oauth
from portal.app import create_app
from portal.config import Settings
from tests.conftest import csrf_of
from tests.helpers import _path, login, provider_login_form


def test_family_login_round_trip_shows_name_and_masked_id(client: TestClient) -> None:
    assert login(client, "chenjianguo", "/my") == "/my"
    page = client.get("/").text
    assert "陈建国" in page
    assert "3303**********031X" in page  # masked 身份证号 in the header
    assert "33030219620315031X" not in page


def test_staff_login_lands_in_back_office(client: TestClient, demo_staff: None) -> None:
    assert login(client, "clerk") == "/admin"


def test_staff_role_is_not_taken_from_claims(client: TestClient) -> None:
    # Without a staff_member row, a staff persona is an ordinary citizen.
    assert login(client, "clerk") == "/"


def test_login_starts_a_fresh_session(client: TestClient) -> None:
    token_before = csrf_of(client)
    login(client, "linxiaoyan")
    after = client.get("/").text
    token_after = after.split('name="csrf_token" value="')[1].split('"')[0]
    assert token_before != token_after


def test_logout_clears_session_and_ends_provider_session(client: TestClient) -> None:
    login(client, "chenjianguo")
    page = client.get("/").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    end_session = out.headers["location"]
    assert "/idp/logout" in end_session and "id_token_hint" not in end_session  # no token in a URL
    back = client.get(_path(end_session))
    assert back.status_code in (302, 303) and back.headers["location"] == "http://testserver/"
    assert "陈建国" not in client.get("/").text
    # The provider session is over too: the next login asks for the password again.
    start = client.get("/login")
    assert 'name="password"' in client.get(_path(start.headers["location"])).text


def _authorize_and_post(client: TestClient, username: str = "chenjianguo") -> str:
    start = client.get("/login")
    action, fields = provider_login_form(client, start.headers["location"])
    posted = client.post(_path(action), data={**fields, "username": username, "password": "demo1234"})
    return posted.headers["location"]


def test_tampered_state_is_refused(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    callback = _authorize_and_post(client)
    query = parse_qs(urlsplit(callback).query)
    r = client.get(f"/auth/callback?code={query['code'][0]}&state=forged-state")
    assert r.status_code == 400 and "登录没有成功" in r.text
    assert "login refused" in caplog.text
    assert "陈建国" not in client.get("/").text


def test_replayed_code_is_refused(client: TestClient) -> None:
    callback = _authorize_and_post(client)
    assert client.get(_path(callback)).status_code == 303
    replay = client.get(_path(callback))
    assert replay.status_code == 400 and "登录没有成功" in replay.text


class _ResigningTransport(httpx.AsyncBaseTransport):
    """Passes requests to the app but re-signs the id_token of token responses with changed claims."""

    def __init__(self, app, key_path, changes: dict) -> None:  # type: ignore[no-untyped-def]
        self.inner = httpx.ASGITransport(app=app)
        self.key = load_or_create_key(key_path)
        self.changes = changes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/token"):
            return response
        body = json.loads(await response.aread())
        claims = jwt.decode(body["id_token"], self.key).claims
        claims.update(self.changes)
        body["id_token"] = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return httpx.Response(200, json=body)


@pytest.mark.parametrize("changes", [
    {"aud": "some-other-client"},
    {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    {"iss": "http://evil.example/idp"},
    {"nonce": "not-the-nonce"},
], ids=["wrong-audience", "expired", "wrong-issuer", "wrong-nonce"])
def test_bad_id_token_is_refused(app, settings: Settings, changes: dict, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    app.state.oauth = build_oauth(settings, transport=_ResigningTransport(app, settings.var_dir / "idp_signing_key.pem", changes))
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        callback = _authorize_and_post(c)
        r = c.get(_path(callback))
        assert r.status_code == 400 and "登录没有成功" in r.text
        assert "login refused" in caplog.text
        assert "陈建国" not in c.get("/").text


def test_provider_unreachable_gets_a_chinese_page(test_env: dict[str, str], engine) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env({**test_env, "OIDC_ISSUER": "http://127.0.0.1:9/idp"})
    app = create_app(settings, engine=engine)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        r = c.get("/login")
    assert r.status_code == 503
    assert "暂时无法连接政务服务网" in r.text and "再试一次" in r.text


def test_unverified_persona_may_log_in(client: TestClient) -> None:
    login(client, "unverified")
    assert "赵一鸣" in client.get("/").text


def test_passport_persona_may_log_in(client: TestClient) -> None:
    login(client, "passport")
    assert "周安娜" in client.get("/").text
