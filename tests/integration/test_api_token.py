"""POST /api/v1/token: OAuth 2.0 client credentials with HTTP Basic; tokens die with the client."""
from __future__ import annotations

import base64
import time

from sqlalchemy import select

from portal.db import transaction
from portal.models import ApiClient, Event
from portal.services import api_clients
from tests.integration.api_support import TEST_ACTOR, basic, bearer, open_client, token

FORM = {"grant_type": "client_credentials"}


def test_client_credentials_give_a_short_lived_bearer_token(client, db) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = open_client(db, "yibao", "330302", name="鹿城区医保局业务系统")
    r = client.post("/api/v1/token", data=FORM, headers=basic(client_id, secret))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert r.headers["cache-control"] == "no-store" and "set-cookie" not in r.headers
    me = client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {"client_id": client_id, "name": "鹿城区医保局业务系统", "department": "yibao",
                         "department_name": "医疗保障局", "county_code": "330302", "county_name": "鹿城区"}
    with db() as s:
        stored = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        assert stored is not None and secret not in stored.secret_hash and stored.secret_hash.startswith("scrypt$")
        tags = [e.tag for e in s.scalars(select(Event).where(Event.actor_kind == "client").order_by(Event.id))]
        names = {e.actor_name for e in s.scalars(select(Event).where(Event.actor_kind == "client"))}
    assert tags == ["client:api:token", "client:api:call"] and names == {"鹿城区医保局业务系统"}


def test_oauth_errors_follow_rfc_6749(client, db) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = open_client(db, "renshe", "330302")

    def error(r) -> str:  # type: ignore[no-untyped-def]
        assert r.headers["content-type"].startswith("application/json") and r.headers["cache-control"] == "no-store"
        return str(r.json()["error"])

    r = client.post("/api/v1/token", data=FORM)
    assert r.status_code == 401 and error(r) == "invalid_client" and r.headers["www-authenticate"].startswith("Basic")
    r = client.post("/api/v1/token", data=FORM, headers=basic(client_id, "wrong"))
    assert r.status_code == 401 and error(r) == "invalid_client"
    r = client.post("/api/v1/token", data=FORM, headers=basic("dc_unknown", secret))
    assert r.status_code == 401 and error(r) == "invalid_client"
    for odd in (f"{client_id}\x00:{secret}", f"{client_id}%00:{secret}", "é" * 60 + ":x"):
        r = client.post("/api/v1/token", data=FORM, headers={"Authorization": "Basic " + base64.b64encode(odd.encode()).decode()})
        assert r.status_code == 401 and error(r) == "invalid_client"
    r = client.post("/api/v1/token", data=FORM, headers={"Authorization": "Basic !!!"})
    assert r.status_code == 401 and error(r) == "invalid_client"
    r = client.post("/api/v1/token", data={"grant_type": "password"}, headers=basic(client_id, secret))
    assert r.status_code == 400 and error(r) == "unsupported_grant_type"
    r = client.post("/api/v1/token", data={}, headers=basic(client_id, secret))
    assert r.status_code == 400 and error(r) == "invalid_request"
    r = client.post("/api/v1/token", json=FORM, headers=basic(client_id, secret))
    assert r.status_code == 400 and error(r) == "invalid_request"
    r = client.post("/api/v1/token", data={**FORM, "client_secret": secret}, headers=basic(client_id, secret))
    assert r.status_code == 400 and error(r) == "invalid_request"
    r = client.post("/api/v1/token", data={**FORM, "scope": "everything"}, headers=basic(client_id, secret))
    assert r.status_code == 400 and error(r) == "invalid_scope"
    # RFC 6749 §2.3.1: the credentials are form-encoded before Base64
    encoded = base64.b64encode(f"{client_id}:{secret}".replace("-", "%2D").encode()).decode()
    assert client.post("/api/v1/token", data=FORM, headers={"Authorization": "Basic " + encoded}).status_code == 200


def test_revocation_and_rotation_stop_tokens_at_once(client, db) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = open_client(db, "gongan", "330381")
    first = token(client, client_id, secret)
    assert client.get("/api/v1/me", headers=bearer(first)).status_code == 200
    with transaction(db) as s:
        issued = api_clients.rotate_client(s, TEST_ACTOR, client_id)
    r = client.get("/api/v1/me", headers=bearer(first))
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert client.post("/api/v1/token", data=FORM, headers=basic(client_id, secret)).status_code == 401
    second = token(client, client_id, issued.client_secret)
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200
    with transaction(db) as s:
        api_clients.revoke_client(s, TEST_ACTOR, client_id)
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401
    assert client.post("/api/v1/token", data=FORM, headers=basic(client_id, issued.client_secret)).status_code == 401


def test_forged_tampered_and_expired_tokens_are_refused(client, db, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = open_client(db, "gongan", "330302")
    good = token(client, client_id, secret)
    prefix, claims, signature = good.split(".")
    with db() as s:
        stored = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        assert stored is not None
        forged = api_clients.issue_token("another-server-secret", stored)
    for bad in (forged, f"{prefix}.{claims}.{signature[:-2]}xx", f"{prefix}.{claims}", "garbage", good + "x", "x" * 5000):
        r = client.get("/api/v1/me", headers=bearer(bad))
        assert r.status_code == 401, bad
        assert r.json()["type"] == "/api/v1/problems/unauthorized"
    later = time.time() + api_clients.TOKEN_SECONDS + 1
    monkeypatch.setattr(api_clients.time, "time", lambda: later)
    assert client.get("/api/v1/me", headers=bearer(good)).status_code == 401


def test_a_session_cookie_is_no_credential_and_none_is_set(client, db) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import login

    login(client, "admin")
    r = client.get("/api/v1/me")
    assert r.status_code == 401 and "set-cookie" not in r.headers
    # no CSRF token and a foreign Origin: the bearer token is the credential, not an ambient cookie
    client_id, secret = open_client(db, "gongan", "330302")
    r = client.post("/api/v1/token", data=FORM, headers={**basic(client_id, secret), "Origin": "https://elsewhere.example",
                                                          "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200
