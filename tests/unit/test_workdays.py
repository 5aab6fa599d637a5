"""Working days: official 2025 holidays and 调休, plus the documented fallback."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal.domain.workdays import (
    CALENDAR_YEARS,
    add_working_days,
    is_exact,
    is_working_day,
    working_days_between,
)


def test_package_covers_current_years() -> None:
    first, last = CALENDAR_YEARS
    assert first <= 2025 <= last
    assert is_exact(date(2025, 10, 1))
    assert not is_exact(date(2099, 10, 1))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 10, 1), False),  # 国庆
        (date(2025, 10, 8), False),  # 国庆/中秋 extended
        (date(2025, 10, 9), True),
        (date(2025, 9, 28), True),  # 调休 Sunday
        (date(2025, 10, 11), True),  # 调休 Saturday
        (date(2025, 2, 8), True),  # 春节 调休 Saturday
        (date(2025, 1, 28), False),  # 除夕
        (date(2025, 5, 5), False),  # 劳动节 extended
        (date(2025, 6, 7), False),  # ordinary Saturday
        (date(2025, 6, 9), True),  # ordinary Monday
    ],
)
def test_official_calendar_2025(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_datetime_is_accepted() -> None:
    assert is_working_day(datetime(2025, 10, 11, 9, 30)) is True


def test_add_zero_days_means_today_or_next_working_day() -> None:
    assert add_working_days(date(2025, 9, 30), 0) == date(2025, 9, 30)
    assert add_working_days(date(2025, 10, 1), 0) == date(2025, 10, 9)
    assert add_working_days(date(2025, 6, 7), 0) == date(2025, 6, 9)


def test_add_working_days_over_national_day() -> None:
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday -> 调休 Sunday
    assert add_working_days(date(2025, 10, 10), 1) == date(2025, 10, 11)  # -> 调休 Saturday
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_fifteen_working_day_pension_limit() -> None:
    # From 2025-09-25 (Thu): 9/26, 9/28, 9/29, 9/30, 10/9, 10/10, 10/11 (调休), 10/13-17, 10/20-22.
    due = add_working_days(date(2025, 9, 25), 15)
    assert due == date(2025, 10, 22)
    assert working_days_between(date(2025, 9, 25), due) == 15


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2025, 1, 2), -1)


def test_working_days_between() -> None:
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 11)) == 3
    assert working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert working_days_between(date(2025, 10, 1), date(2025, 10, 1)) == 0
    assert working_days_between(date(2025, 10, 1), date(2025, 10, 8)) == 0


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2099, 1, 1), False),  # 元旦, Thursday
        (date(2099, 5, 1), False),  # 劳动节, Friday
        (date(2099, 10, 1), False),
        (date(2099, 10, 2), False),
        (date(2099, 9, 30), True),
        (date(2099, 10, 3), False),  # Saturday anyway
        (date(2099, 10, 5), True),  # approximation: real 国庆 would still be on
        (date(2003, 10, 1), False),  # before the package's first year
        (date(2003, 12, 31), True),
    ],
)
def test_fallback_for_uncovered_years(day: date, working: bool) -> None:
    assert not is_exact(day)
    assert is_working_day(day) is working


def test_counting_across_into_uncovered_year() -> None:
    last = CALENDAR_YEARS[1]
    start = date(last, 12, 31)
    due = add_working_days(start, 1)
    assert due.year == last + 1
    assert due != date(last + 1, 1, 1)  # 元旦 is off in the fallback too
    assert is_working_day(due)
