"""Bounded input from URLs and forms: ids in paths, page numbers, and no NUL characters.

A 19-digit id such as `/my/9223372036854775808` used to reach the database and fail there
(SQLite: OverflowError; PostgreSQL, whose id columns are 32-bit INTEGER: DataError from 2**31).
Starlette's `int` path converter is replaced here, once, by one that matches at most 9 digits,
so every `{name:int}` route answers 404 for a longer number without any handler knowing. Page
numbers are clamped. A NUL character, which PostgreSQL refuses in text, is refused at the door
(400) in paths and query strings (`NulRefusalMiddleware`) and dropped from forms where they are
read (portal/pages.py `read_form`: what else was typed is kept).
"""
from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from portal.web.api.problems import problem_response

MAX_DIGITS = 9  # below 2**31: the id columns are 32-bit INTEGER on PostgreSQL
MAX_PAGE = 10_000


class BoundedIntConvertor(Convertor[int]):
    """Like Starlette's `int`, but only numbers that fit the id columns (else no match: 404)."""

    regex = f"[0-9]{{1,{MAX_DIGITS}}}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        value = int(value)
        if not 0 <= value < 10 ** MAX_DIGITS:
            raise ValueError("id out of range")
        return str(value)


register_url_convertor("int", BoundedIntConvertor())


def page_number(raw: str | None) -> int:
    """A 1-based page number from a query string: missing or bad gives 1, huge gives MAX_PAGE."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit():
        return 1
    if len(text) > len(str(MAX_PAGE)):
        return MAX_PAGE
    return min(max(1, int(text)), MAX_PAGE)


class NulRefusalMiddleware:
    """400 for a NUL character in the path or the query string, before any handler sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope.get("path", "")
                                        or b"%00" in scope.get("query_string", b"").lower()):
            response: Response = PlainTextResponse("请求有误：网址里有无法处理的字符。请回到上一页重新操作。", status_code=400)
            if scope.get("path", "").startswith("/api/"):
                response = problem_response(None, "bad-request", "网址或查询参数里有无法处理的字符（NUL）。")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
