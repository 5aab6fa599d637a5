"""The answers of the 一表申请 and what is read from them: the context a step check gets, parsing
dates and times as families type them, the facts derived from the 身份证号 and the certificate.

Pure functions over plain dicts in the "form shape" (strings, lists of strings).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from portal.domain import clock
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.idcard import IdCard, age_at, parse_id
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    CERT_NEW_FORMAT_FROM,
    ETHNICITIES,
    PENSION_TYPES,
    certificate_name,
    label_for,
    recipient_needs_review,
    scenario,
)
from portal.domain.validators import FieldError

OTHER = "other"

# Special-group flags (注5): each adds an automatic follow-up matter.
FLAGS: tuple[tuple[str, str, str], ...] = (
    ("veteran", "退役军人或优抚对象", "退役军人事务局会自动处理优抚待遇"),
    ("disability", "持有残疾人证", "残联会自动停发残疾人补贴、注销残疾人证"),
    ("assistance", "领取低保或特困供养", "民政局会自动停发低保金或特困供养金"),
)

CIVIL_PLEDGE = (
    "我承诺遵守殡葬管理规定，文明节俭办理丧事：不在公共场所搭设灵棚、不沿途抛撒冥币、"
    "不燃放烟花爆竹扰民，按照上面填写的意向安放骨灰。"
)

# 附件1 申请人承诺, verbatim from the seed.
DECLARATION = (
    "申请人承诺遵守国家和地方各项殡葬政策规定文明治丧、安置骨灰。已知晓全部告知内容，"
    "以上填报信息真实有效，并对真实性负责，因申请人虚假填报信息产生的法律纠纷由申请人自行承担。"
)

BANKS = (
    "中国农业银行", "中国工商银行", "中国建设银行", "中国银行", "交通银行", "中国邮政储蓄银行",
    "浙江农商银行", "温州银行", "招商银行", "兴业银行", "中信银行", "浦发银行",
)

DEFAULT_MATTERS = ("cremation", "hukou", "medical", "pension")


def china_now() -> datetime:
    """Wall-clock time in China, naive, like the times families type."""
    return clock.china_now().replace(tzinfo=None)


@dataclass(frozen=True)
class Applicant:
    """What the login says about the person applying (read-only on the form)."""

    name: str
    id_card: str | None
    phone: str | None


@dataclass
class Ctx:
    """Everything a step check needs besides the posted form."""

    answers: dict[str, Any]
    applicant: Applicant
    now: datetime = field(default_factory=china_now)
    catalogue: Catalogue = field(default_factory=default_catalogue)

    @property
    def today(self) -> date:
        return self.now.date()


Errors = dict[str, str]
Values = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------


def one_value(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def values_of(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def collect(errors: Errors, values: Values, name: str, fn: Callable[[], Any]) -> Any:
    try:
        result = fn()
    except FieldError as exc:
        errors[name] = exc.message
        return None
    values[name] = result
    return result


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")


def parse_date(raw: str, *, label: str) -> date:
    text = raw.strip().replace("/", "-").replace(".", "-")
    m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$", text)
    if m:
        text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    if not text:
        raise FieldError(f"请填写{label}")
    m = _DATE.match(text)
    if not m:
        raise FieldError(f"请按“年-月-日”填写{label}，例如 2026-11-20")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise FieldError(f"{label}不是一个真实的日期，请核对月和日") from None


def parse_time(raw: str, *, label: str) -> time:
    text = raw.strip()
    if not text:
        raise FieldError(f"请填写{label}")
    m = _TIME.match(text)
    if not m:
        raise FieldError(f"请按“时:分”填写{label}，例如 08:30")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise FieldError(f"{label}不是一个真实的时间，请填写 00:00 到 23:59 之间的时间")
    return time(hour, minute)


def deceased_card(answers: Mapping[str, Any]) -> IdCard | None:
    try:
        return parse_id(answers.get("d_id"))
    except FieldError:
        return None


def death_datetime(answers: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.combine(
            parse_date(str(answers.get("death_date") or ""), label="日期"),
            parse_time(str(answers.get("death_time") or ""), label="时间"),
        )
    except FieldError:
        return None


def hukou_parts(answers: Mapping[str, Any]) -> tuple[str, str] | None:
    raw = str(answers.get("d_hukou") or "")
    if ":" not in raw:
        return None
    county, township = raw.split(":", 1)
    return county, township




def derived_facts(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Gender, birth date and age at death, read from the ID number (never typed)."""
    card = deceased_card(answers)
    if card is None:
        return {}
    facts: dict[str, Any] = {"gender": card.gender, "birth": card.birth_date, "birth_text": clock.cn_date(card.birth_date)}
    when = death_datetime(answers)
    if when is not None and when.date() >= card.birth_date:
        facts["age"] = age_at(card.birth_date, when.date())
    return facts


def certificate_type(answers: Mapping[str, Any]) -> str:
    try:
        return scenario(str(answers.get("scenario"))).certificate_type
    except KeyError:
        return "medical"


def certificate_title(answers: Mapping[str, Any]) -> str:
    when = death_datetime(answers)
    return certificate_name(certificate_type(answers), when.date() if when else None)


def new_format_certificate(answers: Mapping[str, Any]) -> bool:
    when = death_datetime(answers)
    return certificate_type(answers) == "medical" and when is not None and when.date() >= CERT_NEW_FORMAT_FROM


def wants_pension(answers: Mapping[str, Any]) -> bool:
    return "pension" in values_of(answers, "matters")


def funeral_homes_for(answers: Mapping[str, Any], catalogue: Catalogue) -> tuple[str, ...]:
    parts = hukou_parts(answers)
    homes: list[str] = []
    if parts:
        try:
            homes.extend(catalogue.county(parts[0]).funeral_homes)
        except KeyError:
            pass
    return tuple(homes)


def labels(answers: Mapping[str, Any]) -> dict[str, str]:
    """Human words for stored codes, for check answers and the confirmation."""
    out: dict[str, str] = {}
    try:
        out["scenario"] = scenario(str(answers.get("scenario"))).label
    except KeyError:
        pass
    for key, options in (("d_ethnicity", ETHNICITIES), ("a_relation", APPLICANT_RELATIONS),
                         ("r_relation", APPLICANT_RELATIONS), ("pension_type", PENSION_TYPES),
                         ("ashes_category", ASHES_CATEGORIES)):
        try:
            out[key] = label_for(options, str(answers.get(key)))
        except KeyError:
            pass
    return out


def recipient_review(answers: Mapping[str, Any]) -> bool:
    """注3: a recipient who is not a 直系亲属 is accepted but checked by hand."""
    if not wants_pension(answers):
        return False
    relation = answers.get("a_relation") if answers.get("r_who") == "self" else answers.get("r_relation")
    return recipient_needs_review(str(relation or ""))
