"""Stand-in 浙江政务服务网 OpenID provider (auth/provider), driven by raw HTTP."""
from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import stat
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from auth.provider.app import create_provider_app
from auth.provider.config import DEFAULT_PERSONAS_PATH, ClientConfig, ProviderConfig, load_or_create_key
from auth.provider.models import IdpAccessToken, IdpAuthCode, utcnow
from auth.provider.personas import PersonaFileError, load_personas, parse_personas
from portal.db import Base, make_engine, make_sessionmaker

CLIENT_ID = "shenhou-portal"
SECRET = "test-client-secret"
REDIRECT = "http://portal.test/auth/callback"
POST_LOGOUT = "http://portal.test/"


@pytest.fixture(scope="module")
def key_path(tmp_path_factory):
    """One RSA key per module: generating 2048-bit keys is the slowest step."""
    path = tmp_path_factory.mktemp("idpkey") / "idp_signing_key.pem"
    load_or_create_key(path)
    return path


def make_config(key_path, issuer="http://testserver", **overrides) -> ProviderConfig:
    values = dict(
        issuer=issuer,
        key_path=key_path,
        clients=[ClientConfig(client_id=CLIENT_ID, client_secret=SECRET, redirect_uris=[REDIRECT],
                              post_logout_redirect_uris=[POST_LOGOUT], client_name="身后一件事")],
        personas_path=DEFAULT_PERSONAS_PATH,
        show_personas=True,
        session_secret="test-session-secret-0123456789",
    )
    values.update(overrides)
    return ProviderConfig(**values)


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'idp.sqlite3'}")
    Base.metadata.create_all(engine, tables=[IdpAuthCode.__table__, IdpAccessToken.__table__])
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def client(key_path, factory):
    app = create_provider_app(make_config(key_path), factory)
    with TestClient(app, follow_redirects=False) as c:
        yield c


# ---------------------------------------------------------------------------------- helpers


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(challenge: str | None, **extra) -> dict:
    params = {
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT,
        "scope": "openid profile phone", "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
    }
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= extra
    return {k: v for k, v in params.items() if v is not None}


def csrf_of(page_html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert match, "login form without csrf_token"
    return match.group(1)


def hidden_fields(page_html: str) -> dict:
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page_html)}


def login(c: TestClient, params: dict, username="chenjianguo", password="demo1234", prefix=""):
    page = c.get(f"{prefix}/authorize", params=params)
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text) | {"username": username, "password": password}
    return c.post(f"{prefix}/authorize", data=form)


def code_from(resp, state: str) -> str:
    assert resp.status_code == 302, resp.text
    loc = urlsplit(resp.headers["location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
    q = parse_qs(loc.query)
    assert q["state"] == [state]
    return q["code"][0]


def exchange(c: TestClient, code: str, verifier: str | None, secret=SECRET, basic=True, prefix=""):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    if basic:
        return c.post(f"{prefix}/token", data=data, auth=(CLIENT_ID, secret))
    return c.post(f"{prefix}/token", data=data | {"client_id": CLIENT_ID, "client_secret": secret})


def get_code(c: TestClient, **kw) -> tuple[str, str, dict]:
    verifier, challenge = pkce()
    params = auth_params(challenge, **kw)
    code = code_from(login(c, params), params["state"])
    return code, verifier, params


# ---------------------------------------------------------------------------------- tests


def test_discovery_and_jwks(client):
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == "http://testserver"
    for name, path in [("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks"),
                       ("end_session_endpoint", "/logout")]:
        assert doc[name] == "http://testserver" + path
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["response_types_supported"] == ["code"]
    assert {"sub", "name", "phone_number", "id_card_no", "id_type", "auth_level", "acr",
            "gender", "nation", "birthdate", "user_type"} <= set(doc["claims_supported"])
    jwks = client.get("/jwks").json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private parts leaked"


def test_key_file_is_private_and_kid_stable(key_path):
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert load_or_create_key(key_path).kid == load_or_create_key(key_path).kid


def test_full_code_flow(client):
    verifier, challenge = pkce()
    params = auth_params(challenge)
    page = client.get("/authorize", params=params)
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and "测试用模拟登录，不是真实的政务服务网" in page.text
    assert "演示密码：demo1234" in page.text and page.text.count("demo1234") == 1
    assert "<script" not in page.text and "style=" not in page.text
    assert page.text.count("<h1") == 1
    cookie = page.headers["set-cookie"]
    assert "idp_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie

    form = hidden_fields(page.text) | {"username": "chenjianguo", "password": "demo1234"}
    code = code_from(client.post("/authorize", data=form), params["state"])

    resp = exchange(client, code, verifier)
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    tokens = resp.json()
    assert tokens["token_type"] == "Bearer" and "refresh_token" not in tokens
    assert set(tokens["scope"].split()) == {"openid", "profile", "phone"}

    keys = KeySet.import_key_set(client.get("/jwks").json())
    token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    assert token.header["kid"] == keys.keys[0].kid
    claims = token.claims
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": "http://testserver"},
        aud={"essential": True, "value": CLIENT_ID},
        nonce={"essential": True, "value": params["nonce"]},
        exp={"essential": True},
    ).validate(claims)
    now = time.time()
    assert now < claims["exp"] <= now + 600 + 5
    assert abs(claims["auth_time"] - now) < 10
    assert claims["acr"] == "zjzwfw:3"
    expected_at_hash = base64.urlsafe_b64encode(
        hashlib.sha256(tokens["access_token"].encode()).digest()[:16]).rstrip(b"=").decode()
    assert claims["at_hash"] == expected_at_hash
    assert claims["sub"] == "zj-u-0001" and claims["name"] == "陈建国"
    assert claims["id_card_no"] == "33030219620315031X" and claims["id_type"] == 1
    assert claims["gender"] == 1 and claims["nation"] == "01" and claims["birthdate"] == "1962-03-15"
    assert claims["auth_level"] == 3 and claims["user_type"] == "person"
    assert claims["phone_number"] == "19900000001"

    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    body = info.json()
    assert body["sub"] == "zj-u-0001" and body["name"] == "陈建国"
    assert body["id_card_no"] == claims["id_card_no"] and body["phone_number"] == "19900000001"
    assert client.post("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).status_code == 200

    # already logged in at the provider: the next authorize issues a code straight away
    verifier2, challenge2 = pkce()
    params2 = auth_params(challenge2)
    code2 = code_from(client.get("/authorize", params=params2), params2["state"])
    assert exchange(client, code2, verifier2, basic=False).status_code == 200  # client_secret_post
    # ... unless prompt=login
    again = client.get("/authorize", params=auth_params(pkce()[1], prompt="login"))
    assert again.status_code == 200 and 'name="password"' in again.text


def test_scope_limits_claims(client):
    code, verifier, _ = get_code(client, scope="openid")
    tokens = exchange(client, code, verifier).json()
    assert tokens["scope"] == "openid"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info == {"sub": "zj-u-0001"}


def test_passport_and_unverified_personas(client):
    verifier, challenge = pkce()
    params = auth_params(challenge)
    tokens = exchange(client, code_from(login(client, params, "passport"), params["state"]), verifier).json()
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert info["id_type"] == 2 and info["id_card_no"] == "" and info["passport_no"]
    with TestClient(client.app, follow_redirects=False) as other:
        verifier, challenge = pkce()
        params = auth_params(challenge)
        tokens = exchange(other, code_from(login(other, params, "unverified"), params["state"]), verifier).json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(client.get("/jwks").json())).claims
    assert claims["acr"] == "zjzwfw:1" and claims["auth_level"] == 1


def test_missing_code_challenge_refused(client):
    params = auth_params(None)
    resp = client.get("/authorize", params=params)
    assert resp.status_code == 302
    q = parse_qs(urlsplit(resp.headers["location"]).query)
    assert q["error"] == ["invalid_request"] and "code" not in q and q["state"] == [params["state"]]
    # the login form cannot be used to bypass it either
    resp = client.post("/authorize", data=params | {"username": "chenjianguo", "password": "demo1234",
                                                   "csrf_token": "x"})
    assert resp.status_code == 302 and "code=" not in resp.headers["location"]


@pytest.mark.parametrize("method", ["plain", None])
def test_plain_method_refused(client, method):
    verifier, _ = pkce()
    params = auth_params(None, code_challenge=verifier, code_challenge_method=method)
    resp = client.get("/authorize", params=params)
    assert resp.status_code == 302
    q = parse_qs(urlsplit(resp.headers["location"]).query)
    assert q["error"] == ["invalid_request"] and "code" not in q


def test_wrong_verifier_refused_and_code_burned(client):
    code, verifier, _ = get_code(client)
    wrong = exchange(client, code, pkce()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    retry = exchange(client, code, verifier)
    assert retry.status_code == 400 and retry.json()["error"] == "invalid_grant"


def test_missing_verifier_refused_and_code_burned(client):
    code, verifier, _ = get_code(client)
    assert exchange(client, code, None).status_code == 400
    assert exchange(client, code, verifier).status_code == 400


def test_code_reuse_refused_and_tokens_revoked(client):
    code, verifier, _ = get_code(client)
    first = exchange(client, code, verifier)
    assert first.status_code == 200
    again = exchange(client, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert info.status_code == 401 and "invalid_token" in info.headers["www-authenticate"]


def test_expired_code_refused(client, factory):
    code, verifier, _ = get_code(client)
    with factory.begin() as s:
        s.execute(update(IdpAuthCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    resp = exchange(client, code, verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_code_stored_hashed(client, factory):
    code, _, _ = get_code(client)
    with factory() as s:
        row = s.scalars(select(IdpAuthCode)).one()
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest() and code not in row.code_hash
    assert row.used_at is None and row.code_challenge_method == "S256"


def test_wrong_client_secret_refused(client):
    code, verifier, _ = get_code(client)
    resp = exchange(client, code, verifier, secret="wrong")
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    resp = exchange(client, code, verifier, secret="wrong", basic=False)
    assert resp.status_code in (400, 401) and resp.json()["error"] == "invalid_client"
    assert exchange(client, code, verifier).status_code == 200  # never presented, still valid


def test_unregistered_redirect_uri_refused(client):
    evil = "http://evil.test/callback"
    resp = client.get("/authorize", params=auth_params(pkce()[1], redirect_uri=evil))
    assert resp.status_code == 400 and "location" not in resp.headers
    assert "回调地址" in resp.text and 'name="password"' not in resp.text
    resp = client.get("/authorize", params=auth_params(pkce()[1], redirect_uri=None))
    assert resp.status_code == 400 and "location" not in resp.headers
    resp = client.get("/authorize", params=auth_params(pkce()[1], client_id="unknown"))
    assert resp.status_code == 400 and "未在本模拟平台登记" in resp.text


def test_bad_password_shows_chinese_error(client):
    params = auth_params(pkce()[1])
    resp = login(client, params, "linxiaoyan", "wrong-password")
    assert resp.status_code == 200
    assert "用户名或密码错误" in resp.text and 'role="alert"' in resp.text
    assert 'value="linxiaoyan"' in resp.text and "wrong-password" not in resp.text
    assert 'aria-invalid="true"' in resp.text
    # still not logged in
    assert client.get("/authorize", params=auth_params(pkce()[1])).status_code == 200


def test_login_without_valid_csrf_refused(client):
    params = auth_params(pkce()[1])
    page = client.get("/authorize", params=params)
    form = hidden_fields(page.text) | {"username": "chenjianguo", "password": "demo1234",
                                       "csrf_token": "forged"}
    resp = client.post("/authorize", data=form)
    assert resp.status_code == 400 and "页面已过期" in resp.text
    with TestClient(client.app, follow_redirects=False) as fresh:  # no provider cookie at all
        resp = fresh.post("/authorize", data=form | {"csrf_token": csrf_of(page.text)})
        assert resp.status_code == 400 and "location" not in resp.headers


def test_login_page_escapes_parameters(client):
    params = auth_params(pkce()[1], state='"><script>alert(1)</script>')
    page = client.get("/authorize", params=params)
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    form = hidden_fields(page.text) | {"username": "ayiguli", "password": "demo1234"}
    code_from(client.post("/authorize", data=form), params["state"])  # state survives intact


def test_prompt_none_without_session(client):
    params = auth_params(pkce()[1], prompt="none")
    resp = client.get("/authorize", params=params)
    assert resp.status_code == 302
    assert parse_qs(urlsplit(resp.headers["location"]).query)["error"] == ["login_required"]


def test_logout(client):
    code, verifier, _ = get_code(client)
    id_token = exchange(client, code, verifier).json()["id_token"]
    assert client.get("/authorize", params=auth_params(pkce()[1])).status_code == 302  # logged in

    # unregistered target: provider session cleared, no redirect
    resp = client.get("/logout", params={"id_token_hint": id_token,
                                         "post_logout_redirect_uri": "http://evil.test/", "state": "s1"})
    assert resp.status_code == 200 and "location" not in resp.headers and "您已退出登录" in resp.text
    assert "idp_session=" in resp.headers["set-cookie"] and "Max-Age=0" in resp.headers["set-cookie"]
    assert client.get("/authorize", params=auth_params(pkce()[1])).status_code == 200  # login page

    login(client, auth_params(pkce()[1]))  # log in again
    assert client.get("/authorize", params=auth_params(pkce()[1])).status_code == 302
    resp = client.get("/logout", params={"id_token_hint": id_token,
                                         "post_logout_redirect_uri": POST_LOGOUT, "state": "s2"})
    assert resp.status_code == 302 and resp.headers["location"] == POST_LOGOUT + "?state=s2"
    assert client.get("/authorize", params=auth_params(pkce()[1])).status_code == 200

    # a forged id_token_hint never redirects
    resp = client.get("/logout", params={"id_token_hint": id_token[:-4] + "AAAA",
                                         "post_logout_redirect_uri": POST_LOGOUT})
    assert resp.status_code == 200 and "location" not in resp.headers
    # client_id instead of id_token_hint: registered URI only
    resp = client.get("/logout", params={"client_id": CLIENT_ID, "post_logout_redirect_uri": POST_LOGOUT})
    assert resp.status_code == 302 and resp.headers["location"] == POST_LOGOUT


def test_userinfo_requires_valid_token(client):
    assert client.get("/userinfo").status_code == 401
    assert client.get("/userinfo", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_mounted_under_prefix(key_path, factory):
    issuer = "http://testserver/idp"
    app = Starlette(routes=[Mount("/idp", create_provider_app(make_config(key_path, issuer=issuer), factory))])
    with TestClient(app, follow_redirects=False) as c:
        doc = c.get("/idp/.well-known/openid-configuration").json()
        assert doc["issuer"] == issuer and doc["token_endpoint"] == issuer + "/token"
        verifier, challenge = pkce()
        params = auth_params(challenge)
        page = c.get("/idp/authorize", params=params)
        assert 'action="/idp/authorize"' in page.text
        assert "Path=/idp" in page.headers["set-cookie"]
        form = hidden_fields(page.text) | {"username": "zhengzhe", "password": "demo1234"}
        code = code_from(c.post("/idp/authorize", data=form), params["state"])
        tokens = exchange(c, code, verifier, prefix="/idp").json()
        claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(c.get("/idp/jwks").json())).claims
        assert claims["iss"] == issuer and claims["name"] == "郑喆"


# ---------------------------------------------------------------------------------- personas


def test_persona_file_is_valid_and_complete():
    from stdnum.cn import ric

    personas = load_personas(DEFAULT_PERSONAS_PATH)
    names = {p.username for p in personas}
    required = {"chenjianguo", "linxiaoyan", "unverified", "passport", "clerk", "admin",
                "officer-gongan-ruian"} | {f"officer-{d}" for d in (
                    "minzheng", "binyiguan", "gongan", "renshe", "yibao", "weijian", "tuiyi",
                    "canlian", "gongjijin")}
    assert required <= names
    assert any("·" in p.name for p in personas)
    assert any(ch in p.name for p in personas for ch in "喆堃")
    for p in personas:
        if p.id_card_no:
            assert ric.calc_check_digit(p.id_card_no) == p.id_card_no[-1], p.username
            assert ric.get_birth_date(p.id_card_no).isoformat() == p.birthdate
    assert {p.auth_level for p in personas} == {1, 2, 3}


def test_persona_loader_reports_problems():
    good = dict(username="a1", password="demo1234", sub="s1", kind="citizen", role_hint="",
                name="测试", phone_number="19900000001", id_type=1, id_card_no="33030219620315031X",
                auth_level=3, gender=1, nation="01", birthdate="1962-03-15", user_type="person")
    assert parse_personas({"version": 1, "persona": [good]})[0].acr == "zjzwfw:3"
    bad_check = good | {"username": "a2", "sub": "s2", "id_card_no": "330302196203150310"}
    bad_gender = good | {"username": "a3", "sub": "s3", "gender": 2}
    dup = good | {"sub": "s4"}
    with pytest.raises(PersonaFileError) as exc:
        parse_personas({"version": 1, "persona": [good, bad_check, bad_gender, dup]})
    msg = str(exc.value)
    assert "check character" in msg and "17th digit" in msg and "duplicate username 'a1'" in msg
