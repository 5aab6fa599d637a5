"""Starlette application of the stand-in 浙江政务服务网 identity provider (OpenID Connect).

Routes are relative to the mount point; every public URL is built from ``config.issuer``:

    GET       /.well-known/openid-configuration   discovery
    GET       /jwks                               public signing key
    GET|POST  /authorize                          login page / code issuance
    POST      /token                              code -> tokens (PKCE S256, client secret)
    GET|POST  /userinfo                           Bearer access token -> claims by scope
    GET|POST  /logout                             RP-initiated logout (end_session_endpoint)

The provider keeps its own login in a signed cookie (``idp_session``, path = issuer path,
HttpOnly, SameSite=Lax), independent of any portal session middleware.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from portal.throttle import Throttle, make_storage, retry_text

from .config import DEFAULT_STATIC_DIR, SUPPORTED_SCOPES, ProviderConfig, load_or_create_key, public_jwks
from .personas import CLAIMS_SUPPORTED, Persona, PersonaStore
from .requests import StarletteOAuth2Request
from .server import ProviderServer
from .sessions import ProviderSessions

log = logging.getLogger(__name__)

LOGIN_FIELDS = ("username", "password", "csrf_token")
#: authorization request parameters carried through the login form
AUTH_PARAMS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", "acr_values",
    "response_mode", "display", "claims_locales",
)
HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

MSG_BAD_LOGIN = "用户名或密码错误，请重新输入。"
MSG_LOCKED = "登录失败的次数太多了。为了保护账户安全，现在暂时不能登录，请在{when}再试。"
MSG_MISSING = "请输入用户名和密码。"
MSG_CSRF = "页面已过期或请求无效，请重新输入用户名和密码后登录。"
MSG_BAD_CLIENT = "发起登录的应用未在本模拟平台登记，无法登录。"
MSG_BAD_REDIRECT = "登录请求中的回调地址（redirect_uri）缺失或未登记。为保障安全，本页面不会跳转。"
MSG_BAD_REQUEST = "登录请求无效，无法继续。请返回发起登录的网站重新操作。"


class StandInProvider:
    """Route handlers plus everything they share. ``app.state.idp`` points to it."""

    def __init__(self, config: ProviderConfig, session_factory: sessionmaker[Session]):
        self.config = config
        self.key = load_or_create_key(config.key_path)
        self.personas = PersonaStore.from_file(config.personas_path)
        self.server = ProviderServer(config, session_factory, self.personas, self.key)
        self.sessions = ProviderSessions(config)
        # Failed logins per username and per client IP (successful ones are never counted).
        self.throttle = Throttle(make_storage(config.rate_limit_storage, session_factory.kw["bind"]),
                                 config.rate_limits, config.session_secret)
        self.jinja = Environment(
            loader=FileSystemLoader(str(config.templates_dir)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # ------------------------------------------------------------------ helpers

    def _html(self, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        ctx = {"css_href": self.config.css_href, **context}
        body = self.jinja.get_template(template).render(ctx)
        return HTMLResponse(body, status_code=status_code, headers=dict(HTML_HEADERS))

    @staticmethod
    def _oauth_request(request: Request, items: Iterable[tuple[str, str]],
                       form_items: Iterable[tuple[str, str]] = ()) -> StarletteOAuth2Request:
        return StarletteOAuth2Request(request.method, str(request.url), request.headers, items, form_items)

    def _current_user(self, session: dict[str, Any], params: dict[str, str]) -> tuple[Persona, int] | None:
        """The persona signed in at the provider and when, if that login is still good for `params`."""
        sub, auth_time = session.get("sub"), session.get("auth_time")
        if not isinstance(sub, str) or not isinstance(auth_time, int):
            return None
        age = int(time.time()) - auth_time
        if age > self.config.session_ttl_seconds:
            return None
        max_age = params.get("max_age")
        if max_age is not None:
            try:
                if age > int(max_age):
                    return None
            except ValueError:
                pass
        persona = self.personas.by_sub(sub)
        return (persona, auth_time) if persona else None

    def _login_page(
        self,
        session: dict[str, Any],
        params: list[tuple[str, str]],
        *,
        error: str | None = None,
        username: str = "",
        status_code: int = 200,
    ) -> HTMLResponse:
        new_session = dict(session)
        if not isinstance(new_session.get("csrf"), str):
            new_session["csrf"] = secrets.token_urlsafe(32)
        client = self.server.query_client(dict(params).get("client_id", ""))
        personas = self.personas.personas if self.config.show_personas else []
        passwords = {p.password for p in personas}
        response = self._html(
            "auth/idp_login.html",
            {
                "form_action": self.config.base_path + "/authorize",
                "csrf_token": new_session["csrf"],
                "auth_params": [(k, v) for k, v in params if k in AUTH_PARAMS],
                "client_name": client.client_name if client else "",
                "error": error,
                "username": username,
                "show_personas": self.config.show_personas,
                "citizens": [p for p in personas if p.kind == "citizen"],
                "staff": [p for p in personas if p.kind == "staff"],
                # shown once when every persona shares the demo password
                "demo_password": passwords.pop() if len(passwords) == 1 else None,
            },
            status_code=status_code,
        )
        if new_session != session:
            self.sessions.save(response, new_session)
        return response

    @staticmethod
    def _login_identities(request: Request, username: str) -> dict[str, str]:
        ip = request.client.host if request.client else "unknown"
        return {"login_user": "user:" + username.lower()[:64], "login_ip": "ip:" + ip}

    def _locked_for(self, who: dict[str, str]) -> int:
        """Seconds until a login may be tried again (0: now)."""
        verdicts = [self.throttle.test(name, identity) for name, identity in who.items()]
        return max((v.retry_after for v in verdicts if not v.allowed), default=0)

    def _count_failure(self, who: dict[str, str]) -> None:
        for name, identity in who.items():
            self.throttle.hit(name, identity)

    def _authorize_error(self, oauth_req: StarletteOAuth2Request, error: OAuth2Error) -> Response:
        if error.redirect_uri:  # client and redirect_uri were validated: tell the client
            response: Response = self.server.handle_error_response(oauth_req, error)
            return response
        if isinstance(error, InvalidClientError):
            message = MSG_BAD_CLIENT
        elif "redirect" in (error.description or "").lower():
            message = MSG_BAD_REDIRECT
        else:
            message = MSG_BAD_REQUEST
        return self._html(
            "auth/idp_login.html",
            {"fatal_error": message, "error_code": error.error, "error_detail": error.description},
            status_code=400,
        )

    def _issue_code(self, oauth_req: StarletteOAuth2Request, grant: Any, persona: Persona, auth_time: int) -> Response:
        """`grant` is authlib's consent grant (untyped)."""
        oauth_req.auth_time = auth_time
        response: Response = self.server.create_authorization_response(oauth_req, grant_user=persona, grant=grant)
        return response

    # ------------------------------------------------------------------ routes

    async def discovery(self, request: Request) -> Response:
        c = self.config
        doc = {
            "issuer": c.issuer,
            "authorization_endpoint": c.url("/authorize"),
            "token_endpoint": c.url("/token"),
            "userinfo_endpoint": c.url("/userinfo"),
            "jwks_uri": c.url("/jwks"),
            "end_session_endpoint": c.url("/logout"),
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": list(CLAIMS_SUPPORTED),
            "acr_values_supported": ["zjzwfw:1", "zjzwfw:2", "zjzwfw:3"],
            "prompt_values_supported": ["none", "login"],
            "ui_locales_supported": ["zh-CN"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
        }
        return JSONResponse(doc, headers={"Cache-Control": "public, max-age=300"})

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(public_jwks(self.key), headers={"Cache-Control": "public, max-age=3600"})

    async def authorize(self, request: Request) -> Response:
        session = self.sessions.load(request)
        login: dict[str, str] | None = None
        if request.method == "GET":
            params = list(request.query_params.multi_items())
        else:
            form = await request.form()
            items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            params = [(k, v) for k, v in items if k not in LOGIN_FIELDS]
            if any(k in LOGIN_FIELDS for k, _ in items):
                login = {k: v for k, v in reversed(items) if k in LOGIN_FIELDS}
        oauth_req = self._oauth_request(request, params)

        if login is not None:
            return await self._handle_login(request, session, params, oauth_req, login)

        current = self._current_user(session, dict(params))
        user = current[0] if current else None
        try:
            grant = await run_in_threadpool(self.server.get_consent_grant, oauth_req, user)
        except OAuth2Error as error:
            return self._authorize_error(oauth_req, error)
        if current is None or grant.prompt in ("login", "select_account"):
            hint = dict(params).get("login_hint", "")
            return self._login_page(session, params, username=hint if self.personas.by_username(hint) else "")
        return await run_in_threadpool(self._issue_code, oauth_req, grant, *current)

    async def _handle_login(self, request: Request, session: dict[str, Any], params: list[tuple[str, str]],
                            oauth_req: StarletteOAuth2Request, login: dict[str, str]) -> Response:
        try:
            grant = await run_in_threadpool(self.server.get_consent_grant, oauth_req, None)
        except OAuth2Error as error:
            return self._authorize_error(oauth_req, error)
        username = login.get("username", "").strip()
        expected = session.get("csrf")
        sent = login.get("csrf_token", "")
        if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
            return self._login_page(session, params, error=MSG_CSRF, username=username, status_code=400)
        password = login.get("password", "")
        if not username or not password:
            return self._login_page(session, params, error=MSG_MISSING, username=username)
        who = self._login_identities(request, username)
        wait = await run_in_threadpool(self._locked_for, who)
        if wait:  # too many failures: even the right password waits until the window passes
            response = self._login_page(session, params, error=MSG_LOCKED.format(when=retry_text(wait)),
                                        username=username, status_code=429)
            response.headers["Retry-After"] = str(wait)
            return response
        persona = self.personas.authenticate(username, password)
        if persona is None:
            log.info("stand-in IdP: failed login for %r", username[:64])
            await run_in_threadpool(self._count_failure, who)
            return self._login_page(session, params, error=MSG_BAD_LOGIN, username=username)
        await run_in_threadpool(self.throttle.clear, "login_user", who["login_user"])
        auth_time = int(time.time())
        issued = await run_in_threadpool(self._issue_code, oauth_req, grant, persona, auth_time)
        # a fresh session (and CSRF token) after every successful login
        self.sessions.save(
            issued, {"sub": persona.sub, "auth_time": auth_time, "csrf": secrets.token_urlsafe(32)}
        )
        return issued

    async def token(self, request: Request) -> Response:
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        oauth_req = self._oauth_request(request, items, items)
        return await run_in_threadpool(self.server.create_token_response, oauth_req)

    async def userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Missing Bearer access token."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="zjzwfw-stand-in"', "Cache-Control": "no-store"},
            )
        found = await run_in_threadpool(self.server.lookup_access_token, token)
        if found is None:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "The access token is invalid or expired."},
                status_code=401,
                headers={
                    "WWW-Authenticate": 'Bearer realm="zjzwfw-stand-in", error="invalid_token"',
                    "Cache-Control": "no-store",
                },
            )
        persona, scope = found
        return JSONResponse(persona.claims(scope), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def logout(self, request: Request) -> Response:
        if request.method == "GET":
            items = list(request.query_params.multi_items())
        else:
            form = await request.form()
            items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        oauth_req = self._oauth_request(request, items)
        response: Response | None = None
        problem = None
        try:
            end = await run_in_threadpool(self.server.validate_endpoint_request, "end_session", oauth_req)
            response = self.server.create_endpoint_response("end_session", end)
        except OAuth2Error as error:
            log.info("stand-in IdP: logout request not redirected: %s", error)
            problem = error.description or error.error
        if response is None:
            asked = dict(items).get("post_logout_redirect_uri")
            response = self._html(
                "auth/idp_logged_out.html",
                {"redirect_refused": bool(asked), "problem": problem},
            )
        self.sessions.clear(response)
        response.headers["Cache-Control"] = "no-store"
        return response


def create_provider_app(config: ProviderConfig, session_factory: sessionmaker[Session]) -> Starlette:
    """The provider as an ASGI app; mount it at the path of ``config.issuer`` (or serve it
    standalone). Its tables (``idp_auth_code``, ``idp_access_token``) must exist."""
    idp = StandInProvider(config, session_factory)
    app = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", idp.discovery, methods=["GET"]),
            Route("/jwks", idp.jwks, methods=["GET"]),
            Route("/authorize", idp.authorize, methods=["GET", "POST"]),
            Route("/token", idp.token, methods=["POST"]),
            Route("/userinfo", idp.userinfo, methods=["GET", "POST"]),
            Route("/logout", idp.logout, methods=["GET", "POST"]),
        ]
    )
    app.state.idp = idp
    return app


def create_standalone_app(
    config: ProviderConfig,
    session_factory: sessionmaker[Session],
    static_dir: Path = DEFAULT_STATIC_DIR,
) -> Starlette:
    """The provider mounted at its issuer path plus ``/static`` (for idp.css)."""
    provider = create_provider_app(config, session_factory)

    async def index(request: Request) -> Response:
        return PlainTextResponse(
            "Stand-in 浙江政务服务网 OpenID provider (test only).\n"
            f"Discovery: {config.url('/.well-known/openid-configuration')}\n"
        )

    routes: list[BaseRoute] = [Mount("/static", StaticFiles(directory=str(static_dir)), name="static")]
    if config.base_path:
        routes += [Route("/", index), Mount(config.base_path, provider)]
    else:
        routes += [Route("/", index), Mount("", provider)]
    app = Starlette(routes=routes)
    app.state.idp = provider.state.idp
    return app
