"""China time, and how dates and times are written in Chinese, in one place.

Wenzhou's working day, the 10th of the month and every promised date are China Standard Time
(UTC+8, no daylight saving). Code asks this module for "now" instead of the system clock, so a
test can move time with `frozen()` and a scheduled job sees the same day a family does.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")

_offset = timedelta(0)
_fixed: datetime | None = None


def now() -> datetime:
    """The current instant as an aware UTC datetime (what the database stores)."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC) + _offset


def china_now() -> datetime:
    """The current instant in China time (aware)."""
    return now().astimezone(CHINA)


def today() -> date:
    """Today's date in China."""
    return china_now().date()


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Tests: pin the clock at `at` (naive means China time) for the duration of the block."""
    global _fixed
    if at.tzinfo is None:
        at = at.replace(tzinfo=CHINA)
    previous, _fixed = _fixed, at.astimezone(UTC)
    try:
        yield
    finally:
        _fixed = previous


def as_china(value: datetime) -> datetime:
    """A stored instant in China time (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA)


WEEKDAYS = "一二三四五六日"


def cn_date(d: date | None) -> str:
    """2026年11月22日 (no leading zeros), the way dates are said to families."""
    if d is None:
        return ""
    return f"{d.year}年{d.month}月{d.day}日"


def cn_weekday(d: date) -> str:
    """星期一 … 星期日."""
    return f"星期{WEEKDAYS[d.weekday()]}"


def cn_date_weekday(d: date | None) -> str:
    """2026年11月23日（星期一）: for promised dates, where the day of the week helps."""
    if d is None:
        return ""
    return f"{cn_date(d)}（{cn_weekday(d)}）"


def cn_datetime(value: datetime | None) -> str:
    """A stored instant as China time: 2026年11月22日 14:05."""
    if value is None:
        return ""
    local = as_china(value)
    return f"{cn_date(local.date())} {local:%H:%M}"
