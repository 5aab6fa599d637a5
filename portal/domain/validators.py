"""Field checks for the 身后一件事 application form.

Every check takes what the family typed, returns a cleaned value, or raises
:class:`FieldError` whose ``message`` is shown next to the field. Messages are
plain simplified Chinese that tell the family what to do next, because the
people filling this form are grieving and often not used to online forms.
The rules follow DOMAIN.md §2; this module has no web or database imports.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum import luhn
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from portal.domain.reference import CERT_NEW_FORMAT_FROM

__all__ = [
    "FieldError",
    "normalise_digits",
    "fold_digits",
    "ascii_digits_only",
    "check_phone",
    "check_bank_account",
    "luhn_ok",
    "check_name",
    "check_text",
    "check_certificate_number",
    "mask_name",
    "mask_phone",
    "mask_account",
]


class FieldError(ValueError):
    """A value the family typed cannot be accepted; ``message`` says how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Spaces of every width, dashes of every kind: people copy numbers from
# cards, SMS and Word documents that use all of these as separators.
_SEPARATORS = re.compile(r"[\s\u3000\u00a0\-\u2010-\u2015\u2212\uff0d_]+")
_WHITESPACE = re.compile(r"[\s\u3000\u00a0]+")


def fold_digits(text: str) -> str:
    """Every Unicode decimal digit (Arabic-Indic, Devanagari, ...) as its ASCII digit.

    Phones and input methods of other scripts type such digits; Python's ``isdigit`` and
    regex ``\\d`` accept them, so without folding they would be stored as typed.
    """
    return "".join(str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.decimal(ch, None) is not None
                   else ch for ch in text)


def normalise_digits(raw: str | None) -> str:
    """Fold full-width and other Unicode digits to ASCII, drop spaces/dashes, so numbers compare equal."""
    if raw is None:
        return ""
    text = fold_digits(unicodedata.normalize("NFKC", str(raw)))
    return _SEPARATORS.sub("", text)


_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_digits_only(text: str) -> bool:
    """True when `text` is ASCII digits 0-9 only (``str.isdigit`` also says yes to ² and ١)."""
    return bool(_ASCII_DIGITS.fullmatch(text))


# --- phone -----------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086|86(?=1[0-9]{10}$)|0(?=1[0-9]{10}$))")


def check_phone(raw: str | None) -> str:
    """Return an 11-digit mainland mobile number (DOMAIN §2.3, loose on purpose)."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    text = re.sub(r"[()（）]", "", text)
    digits = normalise_digits(text)
    if not digits:
        raise FieldError("请填写手机号码，方便工作人员联系您")
    digits = _COUNTRY_PREFIX.sub("", digits)
    if not ascii_digits_only(digits):
        raise FieldError("手机号码只能填数字，请输入11位手机号码，例如 13812345678")
    if digits.startswith("0"):
        raise FieldError("这像是座机号码，请填写以1开头的11位手机号码，方便接收办理进度短信")
    if len(digits) != 11:
        raise FieldError(f"手机号码应为11位，您填了{len(digits)}位，请核对后重新输入")
    if not _MOBILE.match(digits):
        raise FieldError("这个号码不像手机号码，请输入以1开头的11位手机号码")
    return digits


# --- bank account ----------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check; many real Chinese accounts fail it, so only warn."""
    return ascii_digits_only(digits) and luhn.is_valid(digits)


def check_bank_account(raw: str | None) -> tuple[str, bool]:
    """Return ``(digits, luhn_ok)``; a failed Luhn check is a warning, not an error.

    Length 12-19 covers bank cards (16-19) and rural passbook accounts
    (一折通), see DOMAIN §2.4.
    """
    digits = normalise_digits(raw)
    if not digits:
        raise FieldError("请填写领取人的银行卡号或账号")
    if not ascii_digits_only(digits):
        raise FieldError("银行卡号只能填数字，请照着银行卡或存折上的号码输入")
    if not 12 <= len(digits) <= 19:
        raise FieldError(
            f"银行卡号一般是12到19位数字，您填了{len(digits)}位，请对照银行卡或存折再核对一遍"
        )
    return digits, luhn_ok(digits)


# --- names -----------------------------------------------------------------

# Every way people type the 间隔号 in names like 欧阳·娜娜 or 买买提·艾力.
_NAME_DOTS = "\u00b7\u2022.\u30fb\u2027\u2219\u22c5\uff65"  # · • . ・ ‧ ∙ ⋅ ･
_NAME_DOT = "·"
_NAME_MAX = 30


def _is_name_letter(ch: str) -> bool:
    """Letters of any script (incl. CJK Ext B) and combining marks used by some scripts."""
    return unicodedata.category(ch)[0] in ("L", "M")


def _is_cjk(ch: str) -> bool:
    return unicodedata.category(ch) == "Lo" and unicodedata.name(ch, "").startswith(
        "CJK"
    )


def check_name(raw: str | None, *, label: str = "姓名") -> str:
    """Return a person's name as written on the ID card.

    Accepts letters of any script (so 喆, 𠮷 and Uyghur names pass), the
    middle dot in any of its look-alike forms (stored as ``·``), and single
    spaces between non-Chinese words (foreign names). Spaces inside a Chinese
    name are removed because they are almost always typing slips.
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    text = _WHITESPACE.sub(" ", text).strip()
    for dot in _NAME_DOTS:
        text = text.replace(dot, _NAME_DOT)
    text = re.sub(r"\s*·\s*", _NAME_DOT, text)
    # Drop spaces that touch a Chinese character: "王 小明" -> "王小明".
    text = "".join(
        ch
        for i, ch in enumerate(text)
        if not (
            ch == " "
            and (
                (i > 0 and _is_cjk(text[i - 1]))
                or (i + 1 < len(text) and _is_cjk(text[i + 1]))
            )
        )
    )

    if not text:
        raise FieldError(f"请填写{label}")
    if any(ch.isdigit() for ch in text):
        raise FieldError(f"{label}里不能有数字，请按身份证上的写法填写")
    for ch in text:
        if not (_is_name_letter(ch) or ch in (" ", _NAME_DOT)):
            raise FieldError(
                f"{label}只能包含文字和间隔号“·”，请按身份证上的写法填写（不要加括号、逗号等符号）"
            )
    if text[0] == _NAME_DOT or text[-1] == _NAME_DOT or "··" in text:
        raise FieldError(f"间隔号“·”只能写在{label}中间，例如：欧阳·娜娜")
    if not _is_name_letter(text[0]):
        raise FieldError(f"请按身份证上的写法填写{label}")
    if len(text) > _NAME_MAX:
        raise FieldError(f"{label}最多{_NAME_MAX}个字，请按身份证上的写法填写")
    return text


# --- free text -------------------------------------------------------------


def check_text(
    raw: str | None, *, label: str, max_len: int, required: bool = True
) -> str:
    """Trim, collapse whitespace runs and bound the length of a free-text answer."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) != "Cc")
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        if required:
            raise FieldError(f"请填写{label}")
        return ""
    if len(text) > max_len:
        raise FieldError(
            f"{label}最多填写{max_len}个字，现在有{len(text)}个字，请精简一些"
        )
    return text


# --- death-certificate number ----------------------------------------------

_LEGACY_CERT = re.compile(r"^[A-Za-z0-9-]{6,30}$")


def _check_new_format_cert(number: str, deceased_id: str | None) -> str:
    """2026 format: the deceased's ID number, or issuer USCC + 4-digit serial."""
    from portal.domain.idcard import parse_id  # local: idcard imports this module

    if len(number) == 18:
        try:
            card = parse_id(number)
        except FieldError as exc:
            raise FieldError(
                "新版《居民死亡医学证明》的编号就是逝者的身份证号码，"
                f"但这个号码没有通过核验：{exc.message}"
            ) from None
        if deceased_id is not None:
            expected = normalise_digits(deceased_id).upper()
            if card.number != expected:
                raise FieldError(
                    "证明编号与上面填写的逝者身份证号码不一致。新版《居民死亡医学证明》的编号就是逝者的"
                    "身份证号码，请对照证明上的编号和逝者身份证再核对一遍"
                )
        return card.number
    if len(number) == 22:
        code, serial = number[:18], number[18:]
        if serial.isdigit():
            try:
                return uscc.validate(code) + serial
            except ValidationError:
                pass
        raise FieldError(
            "这个22位编号没有通过核验。逝者没有身份证号码时，证明编号是出具机构的"
            "统一社会信用代码（18位）加4位年度序号，请照着证明上的编号逐位核对"
        )
    raise FieldError(
        "2026年7月1日起出具的《居民死亡医学证明》，编号就是逝者的18位身份证号码；"
        "逝者没有身份证号码的，编号是出具机构的统一社会信用代码加4位序号（共22位）。"
        "请照着证明上的编号填写"
    )


def check_certificate_number(
    raw: str | None,
    *,
    death_date: date,
    deceased_id: str | None,
    certificate_type: str = "medical",
) -> str:
    """Check the death-certificate number by the rule in force on the date of death.

    DOMAIN §2.5: before 2026-07-01 the medical certificate carries a
    pre-printed serial with no national format, so only a loose pattern is
    enforced. From 2026-07-01 (国卫规划发〔2026〕5号) the number is the
    deceased's ID number, or the issuer's USCC plus a 4-digit serial. Police
    certificates (``certificate_type="police"``) have no known format and
    always use the loose pattern.
    """
    text = fold_digits(unicodedata.normalize("NFKC", str(raw or "")))
    text = _WHITESPACE.sub("", text).upper()
    if not text:
        raise FieldError("请填写死亡证明上的编号")

    if certificate_type == "police" or death_date < CERT_NEW_FORMAT_FROM:
        text = re.sub(r"[\u2010-\u2015\u2212_]", "-", text)
        if not _LEGACY_CERT.match(text):
            which = (
                "公安机关出具的《死亡证明书》"
                if certificate_type == "police"
                else "《居民死亡医学证明（推断）书》"
            )
            raise FieldError(
                f"请照着{which}上印的编号填写：6到30位，只包含字母、数字和短横线“-”"
            )
        return text

    return _check_new_format_cert(normalise_digits(text).upper(), deceased_id)


# --- masking ---------------------------------------------------------------


def mask_name(name: str) -> str:
    """Hide the middle of a name for lists and receipts: 王小明 -> 王*明."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """Show only the network prefix and last four digits: 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_account(digits: str) -> str:
    """Show first and last four digits in card-style groups: 6222 **** **** 1234."""
    if len(digits) <= 8:
        return "*" * len(digits)
    hidden = len(digits) - 8
    groups = ["****"] * max(1, round(hidden / 4))
    return " ".join([digits[:4], *groups, digits[-4:]])
