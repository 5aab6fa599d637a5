"""Shared web plumbing: templates, CSRF tokens, form reading, sync-in-threadpool pages.

Handlers are written as plain sync functions `(request, form) -> Response`; `page` reads and
checks the form on the event loop, then runs the handler in Starlette's thread pool so that
sync SQLAlchemy never blocks the loop, again when the database was only busy
(`portal.db.run_with_retries`). Database failures that remain become the right page in
`portal.web.site.db_fault`. Importing this module registers the bounded `int` path converter.
"""
from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2_fragments.starlette import Jinja2Blocks
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from portal.config import ROOT, Settings
from portal.crypto import Vault
from portal.db import run_with_retries
from portal.web import bounded  # also registers the bounded `{name:int}` path converter

TEMPLATE_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
CSRF_FIELD = "csrf_token"
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
    return request.app.state.services


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


class CsrfError(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=403, detail="csrf")


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfError()


async def read_form(request: Request) -> FormData:
    """Parse a POSTed form and verify its CSRF token (field, or header for htmx)."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""))
    if bounded.has_nul(form.values()):  # no field needs one, and PostgreSQL refuses it in text
        form = FormData([(k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in form.multi_items()])
    return form


Handler = Callable[[Request, FormData | None], Response]


def page(fn: Handler) -> Callable[[Request], Any]:
    """Turn a sync handler into an async endpoint that runs it in the thread pool.

    The handler runs again (bounded) when the database was busy and nothing was committed yet.
    """

    @functools.wraps(fn)
    async def endpoint(request: Request) -> Response:
        form = await read_form(request) if request.method == "POST" else None
        return await run_in_threadpool(run_with_retries, fn, request, form)

    return endpoint


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


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
    return templates.TemplateResponse(request, name, ctx, **kwargs)


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)


def safe_next(url: str | None, default: str = "/") -> str:
    """Only allow local redirect targets (no open redirects)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def template_globals(request: Request) -> dict[str, Any]:
    """Context every template gets: CSRF token, elder mode, the signed-in user."""
    from auth.session import current_user  # late import: auth depends on web.common too

    return {
        "csrf_token": csrf_token(request),
        "elder": request.cookies.get(ELDER_COOKIE) == "1",
        "user": current_user(request),
        "path": request.url.path,
    }


templates.context_processors.append(template_globals)


def static_version() -> str:
    """Cache-busting suffix for static files: changes whenever a file under static/ changes."""
    newest = max((p.stat().st_mtime_ns for p in Path(STATIC_DIR).rglob("*") if p.is_file()), default=0)
    return format(newest, "x")[-8:]


templates.env.globals["static_v"] = static_version()
