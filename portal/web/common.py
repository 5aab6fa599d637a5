"""Web plumbing of the portal's areas: sync handlers run in the thread pool.

Handlers are written as plain sync functions `(request, form) -> Response`; `page` reads and
checks the form on the event loop, then runs the handler in Starlette's thread pool so that
sync SQLAlchemy never blocks the loop, again when the database was only busy
(`portal.db.run_with_retries`). Database failures that remain become the right page in
`portal.web.site.db_fault`. Importing this module registers the bounded `int` path converter.

Templates, CSRF, forms and redirects live in `portal.pages` (the login pages in auth use them
too); they are re-exported here for the areas.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from portal.db import run_with_retries
from portal.pages import (
    CSRF_FIELD,
    CSRF_HEADER,
    ELDER_COOKIE,
    STATIC_DIR,
    TEMPLATE_DIR,
    CsrfError,
    Services,
    check_csrf,
    csrf_token,
    read_form,
    redirect,
    render,
    safe_next,
    services,
    templates,
)
from portal.web import bounded  # noqa: F401 - registers the bounded `{name:int}` path converter

__all__ = [
    "CSRF_FIELD", "CSRF_HEADER", "ELDER_COOKIE", "STATIC_DIR", "TEMPLATE_DIR", "CsrfError", "Handler", "Services",
    "check_csrf", "csrf_token", "is_htmx", "page", "read_form", "redirect", "render", "safe_next", "services",
    "templates",
]

Handler = Callable[[Request, FormData | None], Response]


def page(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
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
