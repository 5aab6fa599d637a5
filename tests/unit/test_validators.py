"""Field checks: each accepts what real families type and explains rejections."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import uscc

from portal.domain.validators import (
    FieldError,
    check_bank_account,
    check_certificate_number,
    check_name,
    check_phone,
    check_text,
    luhn_ok,
    mask_account,
    mask_name,
    mask_phone,
    normalise_digits,
)

BEFORE = date(2026, 6, 30)
AFTER = date(2026, 7, 1)
DECEASED = "330302195006150025"


def message(exc: pytest.ExceptionInfo[FieldError]) -> str:
    return exc.value.message


def test_normalise_digits() -> None:
    assert normalise_digits(" 138-1234\u30005678 ") == "13812345678"
    assert normalise_digits("１３８") == "138"
    assert normalise_digits(None) == ""


# --- phone ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "0086-13812345678",
     "86-13812345678", "+86-19912345678", "(+86)13812345678", "１３８１２３４５６７８"],
)
def test_phone_accepts_common_spellings(raw: str) -> None:
    assert check_phone(raw) in {"13812345678", "19912345678"}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "请填写手机号码"),
        ("1381234567", "您填了10位"),
        ("12812345678", "以1开头的11位"),
        ("0577-88888888", "座机号码"),
        ("138abc45678", "只能填数字"),
    ],
)
def test_phone_rejections(raw: str, fragment: str) -> None:
    with pytest.raises(FieldError) as exc:
        check_phone(raw)
    assert fragment in message(exc)


# --- bank account ----------------------------------------------------------


def test_luhn() -> None:
    assert luhn_ok("6214832018989181")
    assert not luhn_ok("6214832018989180")
    assert not luhn_ok("")
    assert not luhn_ok("12ab")


def test_bank_account_luhn_failure_is_only_a_warning() -> None:
    assert check_bank_account("6214 8320 1898 9180") == ("6214832018989180", False)
    assert check_bank_account("6214832018989181") == ("6214832018989181", True)


def test_bank_account_17_digits_and_passbook_lengths() -> None:
    assert check_bank_account("60142870670591508")[0] == "60142870670591508"
    assert check_bank_account("190001508123")[0] == "190001508123"  # 12-digit 一折通


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [("", "请填写"), ("62148320189", "您填了11位"), ("62148320189891801234", "您填了20位"), ("6214-8320-abcd", "只能填数字")],
)
def test_bank_account_rejections(raw: str, fragment: str) -> None:
    with pytest.raises(FieldError) as exc:
        check_bank_account(raw)
    assert fragment in message(exc)


# --- names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("欧阳·娜娜", "欧阳·娜娜"),
        ("欧阳•娜娜", "欧阳·娜娜"),
        ("欧阳.娜娜", "欧阳·娜娜"),
        ("欧阳・娜娜", "欧阳·娜娜"),
        ("买买提 · 艾力", "买买提·艾力"),
        ("𠮷", "𠮷"),  # CJK Ext B, outside the BMP
        ("吉𠮷", "吉𠮷"),
        ("喆", "喆"),
        ("  王小明 ", "王小明"),
        ("王 小明", "王小明"),
        ("John Smith", "John Smith"),
    ],
)
def test_names_accepted(raw: str, expected: str) -> None:
    assert check_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("张3", "不能有数字"),
        ("", "请填写姓名"),
        ("王(小明)", "只能包含文字"),
        ("王小明!", "只能包含文字"),
        ("·娜娜", "只能写在姓名中间"),
        ("欧阳··娜娜", "只能写在姓名中间"),
        ("王" * 31, "最多30个字"),
    ],
)
def test_names_rejected(raw: str, fragment: str) -> None:
    with pytest.raises(FieldError) as exc:
        check_name(raw)
    assert fragment in message(exc)


def test_name_label_is_used_in_messages() -> None:
    with pytest.raises(FieldError) as exc:
        check_name("", label="领取人姓名")
    assert message(exc) == "请填写领取人姓名"


def test_name_length_counts_characters_not_bytes() -> None:
    assert check_name("𠮷" * 30) == "𠮷" * 30


# --- free text -------------------------------------------------------------


def test_text_trims_and_collapses_whitespace() -> None:
    assert check_text("  温州市 \n\n 鹿城区\t五马街道 ", label="地址", max_len=100) == "温州市 鹿城区 五马街道"


def test_text_required_and_length() -> None:
    with pytest.raises(FieldError) as exc:
        check_text("   ", label="申请人地址", max_len=100)
    assert message(exc) == "请填写申请人地址"
    assert check_text("", label="出殡路线", max_len=100, required=False) == ""
    with pytest.raises(FieldError) as exc:
        check_text("字" * 11, label="出殡路线", max_len=10)
    assert "最多填写10个字" in message(exc)


# --- certificate number ----------------------------------------------------


def test_legacy_certificate_before_2026_07_01() -> None:
    assert check_certificate_number(" 330302-2025a00123 ", death_date=BEFORE, deceased_id=DECEASED) == "330302-2025A00123"
    with pytest.raises(FieldError) as exc:
        check_certificate_number("12345", death_date=BEFORE, deceased_id=None)
    assert "《居民死亡医学证明（推断）书》" in message(exc)
    with pytest.raises(FieldError):
        check_certificate_number("编号123456", death_date=BEFORE, deceased_id=None)


def test_new_certificate_is_the_deceased_id() -> None:
    assert check_certificate_number("330302 19500615 0025", death_date=AFTER, deceased_id=DECEASED) == DECEASED
    assert check_certificate_number("11010519491231002x", death_date=AFTER, deceased_id=None) == "11010519491231002X"


def test_new_certificate_must_match_deceased_id() -> None:
    with pytest.raises(FieldError) as exc:
        check_certificate_number("11010519491231002X", death_date=AFTER, deceased_id=DECEASED)
    assert "不一致" in message(exc)


def test_new_certificate_with_bad_id_checksum() -> None:
    with pytest.raises(FieldError) as exc:
        check_certificate_number("330302195006150024", death_date=AFTER, deceased_id=None)
    assert "校验不通过" in message(exc)


def test_new_certificate_uscc_plus_serial_for_unidentified_deceased() -> None:
    code = "12330300470000000"
    code += uscc.calc_check_digit(code)
    assert check_certificate_number(code + "0001", death_date=AFTER, deceased_id=None) == code + "0001"
    with pytest.raises(FieldError) as exc:
        check_certificate_number(code[:-1] + "0" + "0001" if code[-1] != "0" else code[:-1] + "1" + "0001",
                                 death_date=AFTER, deceased_id=None)
    assert "统一社会信用代码" in message(exc)
    with pytest.raises(FieldError):
        check_certificate_number(code + "00A1", death_date=AFTER, deceased_id=None)


def test_new_certificate_rejects_legacy_serials() -> None:
    with pytest.raises(FieldError) as exc:
        check_certificate_number("A2026000123", death_date=AFTER, deceased_id=DECEASED)
    assert "18位身份证号码" in message(exc)


def test_police_certificate_stays_free_text_after_2026() -> None:
    assert check_certificate_number("wzga-2026-0088", death_date=AFTER, deceased_id=DECEASED,
                                    certificate_type="police") == "WZGA-2026-0088"


# --- masking ---------------------------------------------------------------


def test_masks() -> None:
    assert mask_name("王小明") == "王*明"
    assert mask_name("王明") == "王*"
    assert mask_name("王") == "王"
    assert mask_name("欧阳·娜娜") == "欧***娜"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_account("6222021234561234") == "6222 **** **** 1234"
    assert mask_account("6222021234567891234").startswith("6222 ")
    assert mask_account("6222021234567891234").endswith(" 1234")
