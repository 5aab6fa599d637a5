"""Security baseline as pure ASGI middleware: headers, no caching of personal pages, cross-site
refusal, body size limit.

Cross-site protection is two layers: this middleware refuses state-changing requests whose
Sec-Fetch-Site / Origin show another site (after Datasette's csrf.py), and every form also
carries a session-bound token checked in portal/pages.py (`read_form`).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.web.api.problems import problem_response

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

# Areas whose pages carry personal data (the family's applications and drafts, the back office,
# the sign-in round trip, the stand-in provider's login, and the departments' API).
PRIVATE_PREFIXES = ("/my", "/apply", "/admin", "/auth", "/login", "/logout", "/idp", "/api")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def must_not_be_stored(path: str, request_headers: Headers, response_headers: Headers) -> bool:
    """Whether a response may hold personal data, so that neither the browser nor a proxy keeps it.

    By path (the private areas), by content (every PDF is a receipt), and by who asked: a page
    rendered for a visitor with a cookie may show who is signed in, and a response that sets a
    cookie must never be replayed to someone else.
    """
    if any(path == p or path.startswith(p + "/") for p in PRIVATE_PREFIXES):
        return True
    content_type = response_headers.get("content-type", "")
    if content_type.startswith("application/pdf") or "set-cookie" in response_headers:
        return True
    return "cookie" in request_headers and content_type.startswith("text/html")


class SecurityHeadersMiddleware:
    """Adds CSP (no unsafe-inline), nosniff, referrer policy and frame denial to every response,
    and `Cache-Control: no-store` to every response that may hold personal data."""

    def __init__(self, app: ASGIApp, *, form_targets: tuple[str, ...] = (), hsts: bool = False) -> None:
        self.app = app
        targets = " ".join(sorted({"'self'", *form_targets}))
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            f"form-action {targets}; frame-ancestors 'none'"
        )
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in self.headers if k not in present]
                if must_not_be_stored(scope.get("path", ""), Headers(scope=scope), Headers(raw=headers)):
                    headers = [(k, v) for k, v in headers if k.lower() not in (b"cache-control", b"expires")]
                    extra += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CrossSiteRefusalMiddleware:
    """Refuses unsafe methods sent from another site (Sec-Fetch-Site, else Origin vs Host)."""

    def __init__(self, app: ASGIApp, *, exempt_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            path = scope.get("path", "")
            if not any(path.startswith(p) for p in self.exempt) and self._cross_site(scope):
                response = PlainTextResponse("跨站请求已被拒绝。请回到本站页面重新操作。", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _cross_site(scope: Scope) -> bool:
        headers = Headers(scope=scope)
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site not in {"same-origin", "none"}
        origin = headers.get("origin")
        if origin is None or origin == "null":
            return origin == "null"
        host = headers.get("host", "")
        return urlsplit(origin).netloc != host


class BodySizeLimitMiddleware:
    """Answers 413 when a request body is larger than the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response: Response = PlainTextResponse("提交的内容太大了，请减少内容后再试。", status_code=413)
    if scope.get("path", "").startswith("/api/"):
        response = problem_response(None, "payload-too-large", "请求体超过了上限。")
    await response(scope, receive, send)


def origin_of(url: str) -> str:
    """Scheme and host of a URL, for CSP form-action entries."""
    return _origin(url)
