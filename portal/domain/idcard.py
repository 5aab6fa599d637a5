"""居民身份证号码 (GB 11643-1999) parsing for applicants, recipients and the deceased.

The checksum and date parsing come from python-stdnum (``stdnum.cn.ric``).
We deliberately do *not* call ``ric.validate``: it also looks the 6-digit
address code up in a county list, and DOMAIN §2.1 says the address code is
the place of first registration, which may no longer exist (330322 old 洞头县,
330327 for people now in 龙港). Only the two-digit province code is checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from portal.domain import clock
from portal.domain.validators import FieldError, normalise_digits

__all__ = ["IdCard", "parse_id", "age_at", "mask_id", "PROVINCE_CODES"]

# GB/T 2260 province-level codes for mainland residents (DOMAIN §2.1).
PROVINCE_CODES: frozenset[str] = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {str(c) for c in range(31, 38)}
    | {str(c) for c in range(41, 47)}
    | {str(c) for c in range(50, 55)}
    | {str(c) for c in range(61, 66)}
)

_SHAPE = re.compile(r"^\d{17}[\dX]$")
_HINT = "请输入18位身份证号码，最后一位可以是X"


@dataclass(frozen=True)
class IdCard:
    """A checked 18-character ID number and what can be read from it."""

    number: str
    birth_date: date
    gender: str  # "男" / "女"
    region_code: str  # address code at first registration; never route by it


def parse_id(raw: str | None, *, today: date | None = None) -> IdCard:
    """Check an ID number and read birth date, gender and region code from it.

    Accepts lowercase ``x``, spaces and dashes. ``today`` is injectable for
    tests; birth dates after it are rejected.
    """
    number = normalise_digits(raw).upper()
    if not number:
        raise FieldError(_HINT)
    if len(number) == 15 and number.isdigit():
        raise FieldError("这是旧版15位身份证号码，请改填第二代身份证上的18位号码")
    if len(number) != 18:
        raise FieldError(f"身份证号码应为18位，您填了{len(number)}位。{_HINT}")
    if not _SHAPE.match(number):
        raise FieldError("身份证号码前17位都是数字，最后一位是数字或X，请对照证件再核对一遍")
    if number[:2] not in PROVINCE_CODES:
        raise FieldError("身份证号码开头两位不是有效的省份代码，请对照证件再核对一遍")

    try:
        birth = ric.get_birth_date(number)
    except ValidationError:
        birth = None
    if birth is None or birth.year < 1800:
        raise FieldError("身份证号码第7到14位是出生日期，这几位不是有效的日期，请核对")
    if birth > (today or clock.today()):
        raise FieldError("身份证号码里的出生日期晚于今天，请核对第7到14位")

    if ric.calc_check_digit(number) != number[-1]:
        raise FieldError("身份证号码的最后一位校验不通过，请再核对一遍")

    gender = "男" if int(number[16]) % 2 == 1 else "女"
    return IdCard(number=number, birth_date=birth, gender=gender, region_code=number[:6])


def age_at(birth: date, when: date) -> int:
    """Age in full years (周岁) on ``when``; the form uses the date of death, not today."""
    if when < birth:
        raise FieldError("亡故时间早于身份证上的出生日期，请核对亡故时间和身份证号码")
    years = when.year - birth.year
    if (when.month, when.day) < (birth.month, birth.day):
        years -= 1
    return years


def mask_id(number: str) -> str:
    """Keep the first and last four characters: 3303**********123X."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
