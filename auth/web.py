"""Portal side of the login: authlib's Starlette OIDC client, callback, logout.

The client is configured by discovery from OIDC_ISSUER (default: the stand-in provider
mounted at /idp), with state, nonce and PKCE S256. Any provider failure becomes a Chinese
page that offers to try again; refusals are logged. Tokens are used once and dropped: the
id_token carries the 身份证号 and phone, so it is kept neither in the session nor in a URL
(RP-initiated logout names the client instead of sending an id_token_hint).

What a login does in the portal (the account row, the audit event) is a use case of the
services, `portal.services.accounts.sign_in`: the app factory hands it to `routes`, so auth
imports no services.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from auth.claims import ClaimsError, ExternalIdentity, identity_from_claims
from auth.session import SessionUser, end_session, start_session
from portal.config import Settings
from portal.crypto import Vault
from portal.db import transaction
from portal.pages import Services, read_form, redirect, render, safe_next, services

log = logging.getLogger("portal.auth")
PROVIDER = "zjzwfw"
NEXT_KEY = "login_next"
SIGN_IN_KEY = "sign_in"  # Services.extras: the login use case handed to `routes`


class SignIn(Protocol):
    """The login use case: store what the provider said about `identity`; who is signed in now."""

    def __call__(self, session: Session, vault: Vault, identity: ExternalIdentity, ip: str | None) -> SessionUser: ...


def sign_in(svc: Services, session: Session, identity: ExternalIdentity, ip: str | None) -> SessionUser:
    """Run the login use case the app factory handed to `routes`, in the caller's transaction."""
    use_case: SignIn = svc.extras[SIGN_IN_KEY]
    return use_case(session, svc.vault, identity, ip)


def build_oauth(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> OAuth:
    """The OIDC client. Tests pass an in-process transport; production uses real HTTP."""
    oauth = OAuth()
    client_kwargs: dict[str, object] = {
        "scope": "openid profile phone",
        "code_challenge_method": "S256",
        "timeout": 10,
    }
    if transport is not None:
        client_kwargs["transport"] = transport
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer + "/.well-known/openid-configuration",
        client_kwargs=client_kwargs,
    )
    return oauth


def _client(request: Request) -> Any:  # authlib's StarletteOAuth2App (authlib ships no types)
    return request.app.state.oauth.create_client(PROVIDER)


def _unreachable(request: Request) -> Response:
    return render(request, "error.html", {
        "title": "暂时无法连接政务服务网",
        "message": "登录服务暂时没有响应，可能是网络不稳定。您填写的内容不会丢失，请稍后再试。",
        "retry_url": "/login?next=" + safe_next(request.session.get(NEXT_KEY)),
    }, status_code=503)


def _refused(request: Request) -> Response:
    return render(request, "error.html", {
        "title": "登录没有成功",
        "message": "为了您的账户安全，这次登录没有完成。请重新登录一次。",
        "retry_url": "/login",
    }, status_code=400)


async def login(request: Request) -> Response:
    request.session[NEXT_KEY] = safe_next(request.query_params.get("next"), "/")
    redirect_uri = services(request).settings.base_url + "/auth/callback"
    try:
        response: Response = await _client(request).authorize_redirect(request, redirect_uri)
        return response
    except (httpx.HTTPError, OAuthError, ValueError) as exc:
        log.warning("identity provider unreachable at login: %s", exc)
        return _unreachable(request)


async def callback(request: Request) -> Response:
    svc = services(request)
    if request.query_params.get("error"):
        log.warning("provider returned error %s", request.query_params.get("error"))
        return _refused(request)
    try:
        client = _client(request)
        token = await client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if "name" not in claims:  # some providers keep profile claims to the userinfo endpoint
            extra = await client.userinfo(token=token)
            if extra.get("sub") != claims.get("sub"):
                raise ClaimsError("userinfo subject differs from the id_token subject")
            claims.update(extra)
        identity = identity_from_claims(claims, svc.settings.oidc_issuer)
    except httpx.HTTPError as exc:
        log.warning("identity provider unreachable at callback: %s", exc)
        return _unreachable(request)
    except (OAuthError, JoseError, ClaimsError, ValueError, KeyError) as exc:
        log.warning("login refused: %s: %s", type(exc).__name__, exc)
        return _refused(request)
    next_url = safe_next(request.session.get(NEXT_KEY), "/")
    ip = request.client.host if request.client else None

    def persist() -> SessionUser:
        with transaction(svc.db) as session:
            return sign_in(svc, session, identity, ip)

    user = await run_in_threadpool(persist)
    start_session(request, user)
    if user.is_staff and next_url == "/":
        next_url = "/admin"
    return redirect(next_url)


async def logout(request: Request) -> Response:
    await read_form(request)
    end_session(request)
    svc = services(request)
    try:
        metadata = await _client(request).load_server_metadata()
        endpoint = metadata.get("end_session_endpoint")
    except (httpx.HTTPError, OAuthError, ValueError):
        endpoint = None
    if not endpoint:
        return redirect("/")
    params = {"post_logout_redirect_uri": svc.settings.base_url + "/", "client_id": svc.settings.oidc_client_id}
    return redirect(endpoint + "?" + urlencode(params))


def _provider_mount(settings: Settings, svc: Services) -> list[BaseRoute]:
    """The stand-in 浙江政务服务网 provider, mounted at /idp when no real issuer is configured."""
    if not settings.embedded_idp:
        return []
    from auth.provider.app import create_provider_app
    from auth.provider.config import DEFAULT_PERSONAS_PATH, ClientConfig, ProviderConfig

    config = ProviderConfig(
        issuer=settings.oidc_issuer,
        key_path=settings.var_dir / "idp_signing_key.pem",
        clients=[ClientConfig(
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            redirect_uris=[settings.base_url + "/auth/callback"],
            post_logout_redirect_uris=[settings.base_url + "/"],
            client_name="身后一件事联办平台",
        )],
        # A load test gives the embedded stand-in more personas (bench/load.py); else the demo ones.
        personas_path=Path(os.environ.get("IDP_PERSONAS_PATH") or DEFAULT_PERSONAS_PATH),
        show_personas=settings.idp_show_personas,
        session_secret=settings.secret_key + ":idp",
    )
    return [Mount("/idp", app=create_provider_app(config, svc.db))]


def routes(settings: Settings, svc: Services, login_use_case: SignIn) -> list[BaseRoute]:
    """The login pages; `login_use_case` is the portal's (portal.services.accounts.sign_in)."""
    svc.extras["oauth"] = build_oauth(settings)
    svc.extras[SIGN_IN_KEY] = login_use_case
    return [
        Route("/login", login),
        Route("/auth/callback", callback),
        Route("/logout", logout, methods=["POST"]),
        *_provider_mount(settings, svc),
    ]
