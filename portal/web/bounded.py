"""Bounded integers from URLs: ids in paths and page numbers in query strings.

A 19-digit id such as `/my/9223372036854775808` used to reach the database and fail there
(SQLite integers are 64-bit: OverflowError, a 500). Starlette's `int` path converter is
replaced here, once, by one that matches at most 18 digits, so every `{name:int}` route
answers 404 for a longer number without any handler knowing. Page numbers are clamped.
"""
from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

MAX_DIGITS = 18  # below 2**63: every database and Python's int agree on it
MAX_PAGE = 10_000


class BoundedIntConvertor(Convertor[int]):
    """Like Starlette's `int`, but only numbers that fit a 64-bit column (else no match: 404)."""

    regex = "[0-9]{1,%d}" % MAX_DIGITS

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
