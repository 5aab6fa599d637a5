"""Eligibility guide (待遇与办理指引): what a family can apply for, and rough amounts.

No login, no database: the family answers a few questions (:class:`Situation`) and
:func:`guide` returns one :class:`MatterAdvice` per matter that applies, a list of
:class:`Estimate` (always labelled as estimates, with formula and legal basis) and
general :class:`GuideNote` items. Rules follow DOMAIN.md §3 entries 10-14 and 16-22 and
the registration-form notes 注1-注5.

The words a family reads live in ``content/guide_advice.toml``; the yearly figures in
``content/policy_params.toml`` (:mod:`portal.domain.policy_params`); the amounts are worked
out in :mod:`portal.domain.survivor_benefits`. This module only decides which advice applies.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from portal.domain import clock
from portal.domain.policy_params import (
    BaseFigure,
    Params,
    PlanSettings,
    format_yuan,
    load_params,
    parse_params,
    to_decimal,
)
from portal.domain.reference import PENSION_TYPES, SCENARIOS
from portal.domain.survivor_benefits import (
    Estimate,
    GuideNote,
    contribution_months,
    estimates_for,
    survivor_months,
)

__all__ = [
    "ADVICE_PATH",
    "BaseFigure",
    "Estimate",
    "GuideNote",
    "GuideResult",
    "MatterAdvice",
    "Params",
    "PlanSettings",
    "Situation",
    "advice_texts",
    "contribution_months",
    "first_day_of_next_month",
    "format_yuan",
    "guide",
    "load_params",
    "parse_params",
    "survivor_months",
]

_PLACES = tuple(s.code for s in SCENARIOS)
_PENSION_CODES = tuple(code for code, _ in PENSION_TYPES)

ADVICE_PATH = Path(__file__).resolve().parents[2] / "content" / "guide_advice.toml"


def first_day_of_next_month(d: date) -> date:
    """The pension stops from the month after the death."""
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


# ---------------------------------------------------------------------------------------------
# The advice texts (content/guide_advice.toml)
# ---------------------------------------------------------------------------------------------

_MATTER_KEYS = (
    "certificate_abroad", "certificate_home", "certificate_hospital", "certificate_unnatural", "cremation",
    "hukou_abroad", "hukou_not_local", "hukou", "pension_enterprise_retired", "pension_enterprise_working",
    "pension_resident", "medical", "provident", "veteran", "disability", "assistance",
)
_NOTE_KEYS = (
    "abroad_return", "other_veterans", "public_institution", "recipient", "medical_first", "overpaid",
    "account_inheritance", "not_local",
)
_MATTER_FIELDS = ("matter", "title", "department", "handled_by", "deadline_text", "policy_slug")


def parse_advice(text: str, *, source: str = "guide_advice.toml") -> dict[str, dict[str, dict[str, Any]]]:
    """Parse the advice file; ValueError lists every missing table or field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: 不是有效的 TOML：{exc}") from exc
    problems: list[str] = []
    for section, keys, fields in (("matter", _MATTER_KEYS, _MATTER_FIELDS), ("note", _NOTE_KEYS, ("title", "text"))):
        tables = data.get(section, {})
        for key in keys:
            table = tables.get(key)
            if not isinstance(table, dict):
                problems.append(f"缺少 [{section}.{key}]")
                continue
            problems += [f"[{section}.{key}] 缺少 {f}" for f in fields if not isinstance(table.get(f), str)]
    if problems:
        raise ValueError(f"{source}: " + "；".join(problems))
    return data


@functools.cache
def advice_texts() -> dict[str, dict[str, dict[str, Any]]]:
    """The shipped advice texts, read once per process."""
    return parse_advice(ADVICE_PATH.read_text(encoding="utf-8"), source=ADVICE_PATH.name)


def _advice(key: str, deadline: date | None = None, note_extra: str = "", **values: str) -> MatterAdvice:
    t = advice_texts()["matter"][key]

    def fill(text: str) -> str:
        return text.format_map(values)

    return MatterAdvice(
        matter=t["matter"],
        title=fill(t["title"]),
        department=t["department"],
        handled_by=fill(t["handled_by"]),
        materials=tuple(fill(m) for m in t.get("materials", ())),
        deadline_text=fill(t["deadline_text"]),
        deadline=deadline,
        policy_slug=t["policy_slug"],
        note=fill(t.get("note", "")) + note_extra,
        requestable=bool(t.get("requestable", True)),
        automatic=bool(t.get("automatic", False)),
    )


def _note(key: str, **values: str) -> GuideNote:
    t = advice_texts()["note"][key]
    return GuideNote(t["title"], t["text"].format_map(values), t.get("policy_slug"))


# ---------------------------------------------------------------------------------------------
# Input and output types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    death_date: date
    place: str = "home"  # a scenario code of portal.domain.reference (checked below)
    pension_type: str = "none"  # a PENSION_TYPES code of portal.domain.reference (checked below)
    contribution_years: float | None = None  # 累计缴费年限（含视同缴费年限）
    years_drawing_pension: float | None = None  # 已领取养老金的年限（退休人员）
    local_basic_pension: Decimal | None = None  # 城乡居保：当地月基础养老金（元）
    veteran: bool = False
    disability: bool = False
    assistance: bool = False
    provident_fund: bool = False
    hukou_in_wenzhou: bool = True
    died_abroad: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.death_date, date):
            raise ValueError("death_date: 应为日期")
        if self.place not in _PLACES:
            raise ValueError(f"place: 只能是 {', '.join(_PLACES)}")
        if self.pension_type not in _PENSION_CODES:
            raise ValueError(f"pension_type: 只能是 {', '.join(_PENSION_CODES)}")
        for name in ("contribution_years", "years_drawing_pension", "local_basic_pension"):
            value = getattr(self, name)
            if value is not None and to_decimal(value, name) < 0:
                raise ValueError(f"{name}: 不能是负数")
        if self.contribution_years is not None and to_decimal(self.contribution_years, "contribution_years") > 80:
            raise ValueError("contribution_years: 不能超过80年")
        if self.years_drawing_pension is not None and to_decimal(self.years_drawing_pension, "years_drawing_pension") > 80:
            raise ValueError("years_drawing_pension: 不能超过80年")

    @property
    def insured(self) -> bool:
        return self.pension_type != "none"


@dataclass(frozen=True)
class MatterAdvice:
    matter: str  # matter code (content/catalogue.toml)
    title: str
    department: str  # department code (content/catalogue.toml)
    handled_by: str  # who handles it, in Chinese
    materials: tuple[str, ...]
    deadline_text: str
    deadline: date | None
    policy_slug: str
    note: str = ""
    requestable: bool = True  # can be ticked on the 身后“一件事” form
    automatic: bool = False  # the department acts on shared data; nothing to apply for


@dataclass
class GuideResult:
    situation: Situation
    matters: list[MatterAdvice]
    estimates: list[Estimate]
    notes: list[GuideNote]

    @property
    def matter_codes(self) -> list[str]:
        return [m.matter for m in self.matters]

    def matter(self, code: str) -> MatterAdvice | None:
        for m in self.matters:
            if m.matter == code:
                return m
        return None

    def estimate(self, label_prefix: str) -> Estimate | None:
        for e in self.estimates:
            if e.label.startswith(label_prefix):
                return e
        return None

    @property
    def requestable_matters(self) -> list[str]:
        """Codes to pre-tick on the application form."""
        return [m.matter for m in self.matters if m.requestable]


# ---------------------------------------------------------------------------------------------
# The guide
# ---------------------------------------------------------------------------------------------


def _certificate(s: Situation) -> str:
    """The certificate the case produces: the police's for an unnatural death, else the medical one."""
    return "certificate_police" if s.place == "unnatural" else "certificate_medical"


def _certificate_advice(s: Situation) -> MatterAdvice:
    return _advice("certificate_abroad" if s.died_abroad else f"certificate_{s.place}")


def _cremation_advice(s: Situation) -> MatterAdvice:
    t = advice_texts()["matter"]["cremation"]
    extra = (t.get("note_not_local", "") if not s.hukou_in_wenzhou else "") + (
        t.get("note_assistance", "") if s.assistance else "")
    return _advice("cremation", note_extra=extra, certificate=t[_certificate(s)])


def _hukou_advice(s: Situation, p: Params) -> MatterAdvice:
    due = s.death_date + timedelta(days=p.plan.hukou_days)
    when = {"due": clock.cn_date(due), "days": str(p.plan.hukou_days)}
    if s.died_abroad:
        return _advice("hukou_abroad", due, **when)
    if not s.hukou_in_wenzhou:
        return _advice("hukou_not_local", due, **when)
    return _advice("hukou", due, certificate=advice_texts()["matter"]["hukou"][_certificate(s)], **when)


def _pension_advice(s: Situation, p: Params) -> MatterAdvice | None:
    stop = clock.cn_date(first_day_of_next_month(s.death_date))
    if s.pension_type in ("enterprise_retired", "enterprise_working"):
        return _advice(f"pension_{s.pension_type}", stop=stop, time_limit=p.enterprise_time_limit)
    if s.pension_type == "resident":
        return _advice("pension_resident", stop=stop, time_limit=p.resident_time_limit)
    return None


def _medical_advice(s: Situation) -> MatterAdvice:
    extra = advice_texts()["matter"]["medical"].get("note_resident", "") if s.pension_type == "resident" else ""
    return _advice("medical", note_extra=extra)


def _automatic(matter: str, s: Situation, p: Params) -> MatterAdvice:
    """注5: the department acts on the shared death record; check after the next reconciliation day."""
    nxt = first_day_of_next_month(s.death_date)
    return _advice(matter, check=clock.cn_date(date(nxt.year, nxt.month, p.plan.reconciliation_day)))


def guide(situation: Situation, params: Params | None = None) -> GuideResult:
    """Work out the matters, rough amounts and notes for one situation."""
    s = situation
    p = params or Params()
    matters: list[MatterAdvice] = [_certificate_advice(s)]
    notes: list[GuideNote] = []

    if s.died_abroad:
        notes.append(_note("abroad_return"))
    else:
        matters.append(_cremation_advice(s))
    matters.append(_hukou_advice(s, p))

    pension = _pension_advice(s, p)
    if pension:
        matters.append(pension)
    if s.insured:
        matters.append(_medical_advice(s))
    if s.provident_fund:
        matters.append(_advice("provident"))
    if s.veteran:
        matters.append(_automatic("veteran", s, p))
        notes.append(_note("other_veterans"))
    if s.disability:
        matters.append(_automatic("disability", s, p))
    if s.assistance:
        matters.append(_automatic("assistance", s, p))

    estimates, estimate_notes = estimates_for(s, p)
    notes += estimate_notes
    if s.pension_type == "public_institution":
        notes.append(_note("public_institution", basis=p.public_institution_basis,
                           formula=p.public_institution_formula))
    if pension is not None:
        notes += [_note("recipient"), _note("medical_first")]
    if s.pension_type in ("enterprise_retired", "resident"):
        notes.append(_note("overpaid", stop=clock.cn_date(first_day_of_next_month(s.death_date))))
    if s.pension_type in ("enterprise_retired", "enterprise_working", "resident"):
        notes.append(_note("account_inheritance"))
    if not s.hukou_in_wenzhou and not s.died_abroad:
        notes.append(_note("not_local"))
    return GuideResult(situation=s, matters=matters, estimates=estimates, notes=notes)
