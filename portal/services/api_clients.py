"""Department clients of the machine interface: their credentials and their bearer tokens.

A client (a department's system) has a `client_id` and a secret shown once; only a scrypt hash
of the secret is kept. It trades them for a short-lived bearer token (OAuth 2.0 client
credentials, POST /api/v1/token). A token is signed with the server's secret and names the
client and its credential `generation`; each call loads the client row anyway (its name,
department and county make the call's scope), so a revoked or rotated client's tokens stop at
once, in every server process, without a table of tokens.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain.api_scope import ClientScope
from portal.domain.catalogue import default_catalogue
from portal.models import ApiClient
from portal.services.errors import Invalid, NotFound
from portal.services.events import Actor, record

TOKEN_SECONDS = 600  # bearer tokens live ten minutes; a client asks again with its credentials
TOKEN_PREFIX = "shv1"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # about 16 MiB and some tens of ms per check


@dataclass(frozen=True)
class Issued:
    """What `add` and `rotate` hand back once: the only time the secret is seen in clear."""

    client_id: str
    client_secret: str
    name: str
    department: str
    county_code: str | None


# --- secrets ------------------------------------------------------------------------------------

def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def secret_matches(secret: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = bytes.fromhex(digest)
        got = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(got, expected)


_DUMMY_HASH = hash_secret("no such client")  # an unknown client_id costs as much as a wrong secret


# --- administration (command line and /admin/api-clients) ----------------------------------------

def _check(name: str, department: str, county_code: str | None) -> tuple[str, str, str | None]:
    cat = default_catalogue()
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not 2 <= len(name) <= 60:
        errors["name"] = "请填写客户端名称（2 到 60 个字），例如“鹿城区医保局业务系统”"
    if department not in {d.code for d in cat.departments}:
        errors["department"] = "请选择目录里的部门"
    county = county_code or None
    if county is not None and county not in {c.code for c in cat.counties}:
        errors["county_code"] = "请选择目录里的县（市、区），全市通用的留空"
    if errors:
        raise Invalid(errors)
    return name, department, county


def add_client(session: Session, actor: Actor, name: str, department: str, county_code: str | None) -> Issued:
    name, department, county = _check(name, department, county_code)
    secret = secrets.token_urlsafe(32)
    client = ApiClient(client_id="dc_" + secrets.token_hex(10), name=name, department=department, county_code=county,
                       secret_hash=hash_secret(secret), generation=1, active=True, created_at=clock.now())
    session.add(client)
    session.flush()
    record(session, actor, "admin:api_client:add", f"开通接口客户端“{name}”（{client.client_id}）",
           after={"client_id": client.client_id, "department": department, "county_code": county})
    return Issued(client.client_id, secret, name, department, county)


def clients(session: Session) -> list[ApiClient]:
    return list(session.scalars(select(ApiClient).order_by(ApiClient.id)))


def find(session: Session, client_id: str) -> ApiClient:
    """The client with this client_id, else NotFound."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        raise NotFound()
    return client


def rotate_client(session: Session, actor: Actor, client_id: str) -> Issued:
    """A new secret; the old one and every token issued with it stop working now."""
    client = find(session, client_id)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    client.generation += 1
    client.rotated_at = clock.now()
    client.active = True
    client.revoked_at = None
    record(session, actor, "admin:api_client:rotate", f"更换接口客户端“{client.name}”的密钥（{client.client_id}）")
    return Issued(client.client_id, secret, client.name, client.department, client.county_code)


def revoke_client(session: Session, actor: Actor, client_id: str) -> ApiClient:
    """The client may no longer call; its tokens stop now (a rotation re-opens it with a new secret)."""
    client = find(session, client_id)
    if client.active:
        client.active = False
        client.generation += 1
        client.revoked_at = clock.now()
        record(session, actor, "admin:api_client:revoke", f"停用接口客户端“{client.name}”（{client.client_id}）")
    return client


# --- the token endpoint and every call ------------------------------------------------------------

def authenticate(session: Session, client_id: str, secret: str) -> ApiClient | None:
    """The active client with these credentials, else None (the same work either way)."""
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id)) if len(client_id) <= 40 else None
    ok = secret_matches(secret, client.secret_hash if client is not None else _DUMMY_HASH)
    return client if ok and client is not None and client.active else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(server_secret: str, body: str) -> str:
    key = hashlib.sha256(b"api-token:" + server_secret.encode()).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def issue_token(server_secret: str, client: ApiClient) -> str:
    claims = {"c": client.client_id, "g": client.generation, "e": int(time.time()) + TOKEN_SECONDS}
    body = f"{TOKEN_PREFIX}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    return f"{body}.{_signature(server_secret, body)}"


def scope_for_token(session: Session, server_secret: str, token: str) -> ClientScope | None:
    """The caller's scope if the token is genuine, unexpired and its client active and unchanged."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(token) > 400:
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(server_secret, body), parts[2]):
        return None
    try:
        claims = json.loads(_unb64(parts[1]))
        client_id, generation, expires = str(claims["c"]), int(claims["g"]), int(claims["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires <= time.time():
        return None
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or not client.active or client.generation != generation:
        return None
    return scope_of(client)


def scope_of(client: ApiClient) -> ClientScope:
    return ClientScope(client.client_id, client.name, client.department, client.county_code, client.id)


def client_actor(scope: ClientScope, ip: str | None = None) -> Actor:
    return Actor("client", scope.record_id, scope.name, ip)
