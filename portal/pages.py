"""Page plumbing shared by every part that answers a browser: templates, CSRF, forms, redirects.

Both the portal's areas (portal.web) and the login pages (auth.web) render pages, read forms
and redirect; this module serves both, so auth needs nothing from portal.web and portal.web
reaches auth only through `auth.session`. `Services` is what the running app hands its pages
(kept on app.state.services by portal/app.py).
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2_fragments.starlette import Jinja2Blocks
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth.session import current_user
from portal.config import ROOT, Settings
from portal.crypto import Vault

TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
CSRF_FIELD = "csrf_token"
PRECOMPRESSED_SUFFIXES = (".br", ".gz")  # written beside static files by `python -m portal precompress`
CSRF_HEADER = "x-csrf-token"
ELDER_COOKIE = "elder"

templates = Jinja2Blocks(directory=str(TEMPLATE_DIR))


@dataclass
class Services:
    """What handlers need from the running app, kept on app.state.services."""

    settings: Settings
    db: sessionmaker[Session]
    vault: Vault
    extras: dict[str, Any]


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


# Areas whose pages carry personal data (the family's applications and drafts, the back office,
# the sign-in round trip and the stand-in provider's login). portal.web.security keeps them out of
# every cache; here they are where a page always has a session (and so a CSRF token).
PRIVATE_PREFIXES = ("/my", "/apply", "/admin", "/auth", "/login", "/logout", "/idp", "/api")


def is_private(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PRIVATE_PREFIXES)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token: str | None = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def page_csrf_token(request: Request) -> str:
    """The token a rendered page carries, or "" for a visitor without a session on a public page.

    Public pages (home, 政策咨询, errors) must not start a session: it costs a database write per
    visit and makes the page uncacheable. Their only form (the 长辈版 switch) is then sent without
    a token and `check_csrf` asks for the browser's same-origin proof instead.
    """
    if request.session or is_private(request.url.path):
        return csrf_token(request)
    return ""


class CsrfError(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=403, detail="csrf")


def proven_same_origin(request: Request) -> bool:
    """The browser itself says the request comes from this site: `Sec-Fetch-Site: same-origin`
    (or `none`: typed or bookmarked), else an `Origin` equal to this host. A request that says
    neither proves nothing (portal.web.security's refusal lets it through; this does not)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in {"same-origin", "none"}
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


def check_csrf(request: Request, submitted: str | None) -> None:
    """A form carries its session's token. A visitor without a session (no token was ever shown)
    may post only a token-less form whose browser proves it came from this site."""
    expected = request.session.get("csrf")
    if not expected and not submitted and not request.session and proven_same_origin(request):
        return
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfError()


async def read_form(request: Request) -> FormData:
    """Parse a POSTed form and verify its CSRF token (field, or header for htmx)."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""))
    if any(isinstance(v, str) and "\x00" in v for v in form.values()):
        # No field needs a NUL and PostgreSQL refuses it in text: drop it, keep what else was typed.
        form = FormData([(k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in form.multi_items()])
    return form


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
) -> Response:
    """Render a full page, or only `block` of it (htmx partial swaps)."""
    ctx = dict(context or {})
    kwargs: dict[str, Any] = {"status_code": status_code}
    if block is not None:
        kwargs["block_name"] = block
    response: Response = templates.TemplateResponse(request, name, ctx, **kwargs)
    return response


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)


def safe_next(url: str | None, default: str = "/") -> str:
    """Only allow local redirect targets (no open redirects)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def template_globals(request: Request) -> dict[str, Any]:
    """Context every template gets: CSRF token, elder mode, the signed-in user."""
    return {
        "csrf_token": page_csrf_token(request),
        "elder": request.cookies.get(ELDER_COOKIE) == "1",
        "user": current_user(request),
        "path": request.url.path,
    }


templates.context_processors.append(template_globals)


def static_version() -> str:
    """Cache-busting suffix for static files: changes whenever a file under static/ changes."""
    newest = max((p.stat().st_mtime_ns for p in Path(STATIC_DIR).rglob("*")
                  if p.is_file() and p.suffix not in PRECOMPRESSED_SUFFIXES), default=0)
    return format(newest, "x")[-8:]


templates.env.globals["static_v"] = static_version()
