"""Throttling in the web layer: which limit a handler spends, and the Chinese 429 answer.

    @page
    @limited("search", per="ip")
    def search_page(request, form): ...

The limits themselves are declared once in portal/throttle.py. A refused request raises
`TooManyRequests`; the app's 429 handler renders `too_many_requests.html` (or, for htmx, only its
message block) with a `Retry-After` header.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from portal.config import Settings
from portal.throttle import Throttle, make_storage, retry_text
from portal.web.common import is_htmx, render, services

REASONS: dict[str, str] = {
    "step_save": "您保存得太频繁了，这一次没有保存，之前保存的内容都还在。",
    "search": "您查询得太频繁了，请稍等一会儿。",
    "verify": "核验回执的次数太多了，请稍等一会儿。",
    "download": "下载的次数太多了，之前下载的文件仍然有效。",
    "sms_code": "发送验证码的次数太多了，请稍后再试；已经收到的验证码在10分钟内仍然有效。",
    "in_progress": "为了保护逝者和家属的个人信息，每个账户在一段时间内能核对的逝者身份证号码有限。这一次填写的内容没有保存。",
}
DEFAULT_REASON = "您的操作太频繁了，请稍等一会儿。"


def build_throttle(settings: Settings, engine: Engine) -> Throttle:
    """The app's throttle (built at start-up, so a wrong RATE_LIMIT_* setting stops it at once)."""
    return Throttle(make_storage(settings.rate_limit_storage, engine), settings.rate_limits, settings.secret_key)


def throttle(request: Request) -> Throttle:
    checker: Throttle = services(request).extras["throttle"]
    return checker


class TooManyRequests(HTTPException):
    """429 with Retry-After; `detail` is the name of the limit that refused."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(status_code=429, detail=limit, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def account_key(account_id: int) -> str:
    return f"account:{account_id}"


def _identity(request: Request, per: str) -> str | None:
    if per == "ip":
        return "ip:" + client_ip(request)
    from auth.session import current_user  # late import: auth depends on web.common too

    user = current_user(request)
    return account_key(user.account_id) if user is not None else None  # anonymous: the login check decides


def enforce(request: Request, name: str, identity: str) -> None:
    """Spend one unit of `name` for `identity`, or raise TooManyRequests."""
    verdict = throttle(request).hit(name, identity)
    if not verdict.allowed:
        raise TooManyRequests(name, verdict.retry_after)


def ensure_within(request: Request, name: str, identity: str) -> None:
    """Raise TooManyRequests once `identity` went past `name` in this window, spending nothing
    (for showing again what an already counted request found)."""
    verdict = throttle(request).test(name, identity, cost=0)
    if not verdict.allowed:
        raise TooManyRequests(name, verdict.retry_after)


def limited(name: str, *, per: str, methods: Iterable[str] = ("GET", "POST")) -> Callable[..., Any]:
    """Decorate a sync handler `(request, form, ...)`: each request with one of `methods` spends
    one unit of limit `name`, counted per client IP (`per="ip"`) or per signed-in account."""
    counted = frozenset(methods)

    def decorate(fn: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def handler(request: Request, *args: Any, **kwargs: Any) -> Response:
            if request.method in counted:
                identity = _identity(request, per)
                if identity is not None:
                    enforce(request, name, identity)
            return fn(request, *args, **kwargs)

        return handler

    return decorate


def too_many_requests(request: Request, exc: HTTPException) -> Response:
    """The 429 page: what happened, when to try again, where else to get help."""
    retry_after = int(getattr(exc, "retry_after", 0) or (exc.headers or {}).get("Retry-After", 60))
    ctx = {"reason": REASONS.get(str(exc.detail), DEFAULT_REASON), "when": retry_text(retry_after)}
    block = "message" if is_htmx(request) else None
    response = render(request, "too_many_requests.html", ctx, status_code=429, block=block)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
