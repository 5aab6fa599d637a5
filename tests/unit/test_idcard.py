"""ID-number parsing: real vectors, Wenzhou numbers and each failure message."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric

from portal.domain.idcard import IdCard, age_at, mask_id, parse_id
from portal.domain.validators import FieldError


def make_id(first17: str) -> str:
    """Append the correct check character (computed by stdnum, not by us)."""
    return first17 + ric.calc_check_digit(first17 + "0")


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_domain_test_vectors_are_valid(number: str) -> None:
    assert parse_id(number).number == number


def test_wenzhou_number_is_parsed() -> None:
    card = parse_id("330302198001010019")
    assert card == IdCard(
        number="330302198001010019",
        birth_date=date(1980, 1, 1),
        gender="男",
        region_code="330302",
    )


def test_retired_region_codes_are_not_rejected() -> None:
    # 330322 (old 洞头县) and 330327 before 龙港 split: never checked against current lists.
    assert parse_id(make_id("33032219320229001")).birth_date == date(1932, 2, 29)
    assert parse_id(make_id("33032720100101003")).region_code == "330327"


def test_lowercase_x_spaces_and_dashes_are_accepted() -> None:
    assert parse_id(" 110105 19491231 002x ").number == "11010519491231002X"
    assert parse_id("110105-19491231-002x").number == "11010519491231002X"
    assert parse_id("１１０１０５１９４９１２３１００２Ｘ").number == "11010519491231002X"


def test_gender_from_17th_digit() -> None:
    assert parse_id("11010519491231002X").gender == "女"  # 2: even
    assert parse_id("440524188001010014").gender == "男"  # 1: odd
    assert parse_id("330302195006150025").gender == "女"


def test_wrong_checksum() -> None:
    with pytest.raises(FieldError) as exc:
        parse_id("330302198001010018")
    assert exc.value.message == "身份证号码的最后一位校验不通过，请再核对一遍"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "请输入18位身份证号码"),
        ("33030219800101001", "应为18位，您填了17位"),
        ("3303021980010100199", "您填了19位"),
        ("330302800101001", "15位"),
        ("33030219800101X019", "前17位都是数字"),
        ("33030219800101001A", "最后一位是数字或X"),
        (make_id("99030219800101001"), "省份代码"),
        (make_id("33030219800230001"), "不是有效的日期"),  # Feb 30
        (make_id("33032219300229001"), "不是有效的日期"),  # 1930 was not a leap year
        (make_id("33030219801301001"), "不是有效的日期"),  # month 13
    ],
)
def test_bad_numbers_get_specific_messages(raw: str, fragment: str) -> None:
    with pytest.raises(FieldError) as exc:
        parse_id(raw)
    assert fragment in exc.value.message


def test_future_birth_date_is_rejected() -> None:
    number = make_id("33030220300101001")
    with pytest.raises(FieldError) as exc:
        parse_id(number, today=date(2025, 6, 1))
    assert "晚于今天" in exc.value.message
    assert parse_id(number, today=date(2030, 1, 1)).birth_date == date(2030, 1, 1)


def test_field_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_id("abc")


@pytest.mark.parametrize(
    ("when", "age"),
    [
        (date(2025, 6, 14), 74),  # day before the birthday
        (date(2025, 6, 15), 75),  # on the birthday
        (date(2025, 6, 16), 75),
        (date(1950, 6, 15), 0),
    ],
)
def test_age_at_death_around_birthday(when: date, age: int) -> None:
    assert age_at(date(1950, 6, 15), when) == age


def test_age_for_29_february_birthday() -> None:
    assert age_at(date(1932, 2, 29), date(2023, 2, 28)) == 90
    assert age_at(date(1932, 2, 29), date(2023, 3, 1)) == 91


def test_death_before_birth_is_an_error() -> None:
    with pytest.raises(FieldError):
        age_at(date(1950, 6, 15), date(1950, 6, 14))


def test_mask_id() -> None:
    assert mask_id("33030219801231123X") == "3303**********123X"
    assert len(mask_id("330302198001010019")) == 18
