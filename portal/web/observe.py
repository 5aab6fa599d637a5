"""The outermost middleware: a request id for every log line, one access line per request, and the
request metrics (portal.services.metrics). Plus `/admin/metrics` for Prometheus.

The access line carries method, route template, status and milliseconds, never the query string
(a search may hold anything a visitor typed) and never a personal number.
"""
from __future__ import annotations

import hmac
import logging
import time

from starlette.datastructures import FormData, Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.logs import new_request_id, request_id
from portal.services import metrics
from portal.web.common import Services, page, services
from portal.web.page_cache import cacheable_path

access = logging.getLogger("portal.access")


def route_label(scope: Scope) -> str:
    """The route's template (bounded label values), not the concrete path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    raw = scope.get("path", "")
    if raw.startswith("/static/"):
        return "/static"
    return "public page" if cacheable_path(raw) else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(Headers(scope=scope).get("x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            label = route_label(scope)
            metrics.REQUESTS.labels(scope["method"], label, str(status)).inc()
            metrics.LATENCY.labels(label).observe(elapsed)
            if not label.startswith("/static"):
                access.info("%s %s %s %.1f ms", scope["method"], label, status, elapsed * 1000,
                            extra={"method": scope["method"], "route": label, "status": status,
                                   "ms": round(elapsed * 1000, 1)})
            request_id.reset(token)


def _scraper(request: Request, svc: Services) -> bool:
    """A Prometheus scraper presenting METRICS_TOKEN."""
    expected = svc.settings.metrics_token
    sent = request.headers.get("authorization", "")
    return bool(expected) and hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode())


def _exposition(request: Request) -> Response:
    return Response(metrics.render(services(request).db), media_type=metrics.CONTENT_TYPE_LATEST)


@staff_only(Role.ADMIN)
def _for_admin(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _exposition(request)


def _scraper_or_admin(request: Request, form: FormData | None) -> Response:
    """Prometheus exposition: for the scraper's METRICS_TOKEN, else administrators only."""
    if _scraper(request, services(request)):
        return _exposition(request)
    return _for_admin(request, form)


_scraper_or_admin.staff_roles = _for_admin.staff_roles  # type: ignore[attr-defined]  # the route audit reads it
metrics_page = page(_scraper_or_admin)


def routes(settings: Settings, svc: Services) -> list[Route]:
    return [Route("/admin/metrics", metrics_page)]
