"""Working-day arithmetic for the 限时结办 deadline tracker (DOMAIN §4.1).

Time limits are promised in 工作日: weekends and public holidays do not
count, while 调休 Saturdays/Sundays do. Holiday data comes from the
``chinese_calendar`` package (PyPI ``chinesecalendar``), which only knows
years the State Council has already published. For other years we fall
back to :func:`_fallback_is_working_day` — an approximation (weekends plus
元旦, 劳动节 and the first three days of 国庆; no 春节/清明/端午/中秋 and no
调休) that must be replaced by upgrading the package once the year's
holiday notice is out. Use :func:`is_exact` to tell the user a date is
only approximate.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar

__all__ = [
    "is_working_day",
    "add_working_days",
    "working_days_between",
    "is_exact",
    "CALENDAR_YEARS",
]


def _covered_years() -> tuple[int, int]:
    """First and last year the installed chinese_calendar has official data for."""
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return min(years), max(years)


#: Inclusive (first, last) year with official holiday data in the installed package.
CALENDAR_YEARS: tuple[int, int] = _covered_years()

# Fallback fixed-date holidays (month, day); see module docstring.
_FALLBACK_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}
)

_MAX_SCAN_DAYS = 3660  # guards against runaway loops on bad input


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


def _fallback_is_working_day(d: date) -> bool:
    """Approximation for years chinese_calendar does not cover yet."""
    return d.weekday() < 5 and (d.month, d.day) not in _FALLBACK_HOLIDAYS


def is_exact(d: date) -> bool:
    """True when ``d`` is in a year with official holiday data."""
    first, last = CALENDAR_YEARS
    return first <= _as_date(d).year <= last


def is_working_day(d: date) -> bool:
    """True if government offices work on ``d`` (holidays off, 调休 days on)."""
    d = _as_date(d)
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return _fallback_is_working_day(d)


def add_working_days(start: date, n: int) -> date:
    """Date that is ``n`` working days after ``start``.

    ``n == 0`` means "today if it is a working day, otherwise the next working
    day" (即办 items). ``n >= 1`` counts working days strictly after ``start``,
    so a 1-day item received on Friday is due on Monday.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    current = _as_date(start)
    if n == 0:
        for _ in range(_MAX_SCAN_DAYS):
            if is_working_day(current):
                return current
            current += timedelta(days=1)
        raise RuntimeError("no working day found")  # pragma: no cover
    remaining = n
    for _ in range(_MAX_SCAN_DAYS + 2 * n):
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
            if remaining == 0:
                return current
    raise RuntimeError("no working day found")  # pragma: no cover


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative if ``b`` < ``a``.

    Inverse of :func:`add_working_days` for n >= 1:
    ``working_days_between(a, add_working_days(a, n)) == n``.
    """
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -working_days_between(b, a)
    count = 0
    current = a
    while current < b:
        current += timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
