"""The steps of the 一表申请: which fields each screen owns, when it applies, how it is checked.

Pure functions over plain dicts (no Starlette, no database): a step takes what the family
posted plus the answers so far and returns the cleaned values it owns and the errors, keyed
by field name, in the order they appear on the screen. Answers are stored in the same
"form shape" they are posted in (strings, lists of strings), so a stored answer can be checked
again later (check answers re-validates every step, because an earlier change, e.g. the date of
death, can make a later answer wrong).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from portal.domain import clock
from portal.domain.catalogue import default_catalogue
from portal.domain.form_steps import declared
from portal.domain.form_steps.answers import (
    BANKS,
    CIVIL_PLEDGE,
    DECLARATION,
    DEFAULT_MATTERS,
    FLAGS,
    OTHER,
    Applicant,
    Ctx,
    Errors,
    Values,
    certificate_title,
    certificate_type,
    china_now,
    death_datetime,
    deceased_card,
    derived_facts,
    funeral_homes_for,
    hukou_parts,
    labels,
    new_format_certificate,
    parse_date,
    parse_time,
    recipient_review,
    values_of,
    wants_pension,
)
from portal.domain.form_steps.checks import (
    ASHES_PLACE_MISSING,
    CONFIRMATIONS,
    check_applicant,
    check_ashes,
    check_certificate,
    check_check,
    check_death,
    check_deceased,
    check_funeral,
    check_matters,
    check_recipient,
    check_scenario,
)
from portal.domain.reference import ASHES_CATEGORIES, PENSION_TYPES, SCENARIOS

__all__ = [  # this module's names, and those that moved to portal.domain.form_steps
    "ASHES_PLACE_MISSING", "Applicant", "BANKS", "BY_NAME", "CIVIL_PLEDGE", "CONFIRMATIONS", "Ctx",
    "DECLARATION", "DEFAULT_MATTERS", "answered_steps", "Errors", "FLAGS", "GUIDE_KEYS", "OTHER", "STEPS", "Step", "Values",
    "applicable", "certificate_title", "certificate_type", "check_applicant", "check_ashes",
    "check_certificate", "check_check", "check_death", "check_deceased", "check_funeral", "check_matters",
    "check_recipient", "check_scenario", "china_now", "death_datetime", "deceased_card", "derived_facts",
    "first_invalid", "form_dict", "funeral_homes_for", "hukou_parts", "labels",
    "new_format_certificate", "parse_date", "parse_time", "prefill_from_guide", "recipient_review",
    "validate", "values_of", "wants_pension", "with_declared",
]


@dataclass(frozen=True)
class Step:
    name: str
    title: str  # short, for check answers and the caption
    fields: tuple[str, ...]
    check: Callable[[Mapping[str, Any], Ctx], tuple[Values, Errors]]
    applies: Callable[[Mapping[str, Any]], bool] = lambda answers: True
    multi: tuple[str, ...] = ()  # fields posted as several values (checkboxes)
    simple: tuple[declared.TextField, ...] = ()  # simple fields declared in form_steps/declared.py


def with_declared(step: Step, fields: tuple[declared.TextField, ...]) -> Step:
    """The step with its declared simple fields after its own: in its field list and its check."""
    if not fields:
        return step
    own = step.check

    def check(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
        values, errors = own(form, ctx)
        declared.check(form, fields, errors, values)
        return values, errors

    return replace(step, fields=(*step.fields, *(f.name for f in fields)), check=check, simple=fields)


STEPS: tuple[Step, ...] = (
    Step("scenario", "去世时的情况", ("scenario",), check_scenario),
    Step("deceased", "逝者信息", ("d_name", "d_id", "d_ethnicity", "d_hukou", "d_address", "d_temp"), check_deceased),
    Step("death", "去世时间和原因", ("death_date", "death_time", "death_cause"), check_death),
    Step("certificate", "死亡证明", ("cert_no",), check_certificate),
    Step("funeral", "遗体接运", ("body_at_fh", "funeral_home", "funeral_home_other", "pickup_address",
                            "pickup_date", "pickup_time"), check_funeral),
    Step("ashes", "骨灰安放和文明治丧",
         ("ashes_category", *(f"ashes_place_{c}" for c, _ in ASHES_CATEGORIES), "route", "pledge"), check_ashes),
    Step("matters", "要办理的事项", ("pension_type", "flags", "matters"), check_matters, multi=("flags", "matters")),
    Step("applicant", "申请人", ("a_relation", "a_address", "a_phone"), check_applicant),
    Step("recipient", "丧葬费和抚恤金领取人",
         ("r_who", "r_name", "r_relation", "r_id", "r_bank", "r_account", "r_luhn_ok", "r_account_confirm"),
         check_recipient, applies=wants_pension),
    Step("check", "核对并提交", ("declaration",), check_check),
)
STEPS = tuple(with_declared(s, declared.for_step(s.name)) for s in STEPS)
BY_NAME: dict[str, Step] = {s.name: s for s in STEPS}


def applicable(answers: Mapping[str, Any]) -> list[Step]:
    return [s for s in STEPS if s.applies(answers)]


def form_dict(form: Any, step: Step) -> dict[str, Any]:
    """A posted FormData (or dict) reduced to the step's fields, lists for checkbox groups."""
    out: dict[str, Any] = {}
    for name in step.fields:
        if name in step.multi:
            out[name] = list(form.getlist(name)) if hasattr(form, "getlist") else values_of(form, name)
        else:
            value = form.get(name)
            out[name] = "" if value is None else str(value)
    return out


def validate(step: Step, form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    """Check one step; the values are only the fields that passed."""
    return step.check(form, ctx)


def first_invalid(answers: Mapping[str, Any], done: list[str], applicant: Applicant,
                  now: datetime | None = None) -> str | None:
    """The first applicable step (before check) that is unfinished or no longer valid."""
    ctx = Ctx(answers=dict(answers), applicant=applicant, now=now or china_now())
    for step in applicable(answers):
        if step.name == "check":
            return None
        if step.name not in done:
            return step.name
        _, errors = step.check(answers, ctx)
        if errors:
            return step.name
    return None


def answered_steps(answers: Mapping[str, Any], applicant: Applicant, now: datetime | None = None) -> list[str]:
    """The leading steps that answers known before the family came (a department's facts) already
    answer in full: the family starts after them, and sees them all again on the check page."""
    ctx = Ctx(answers=dict(answers), applicant=applicant, now=now or china_now())
    done: list[str] = []
    for step in applicable(answers):
        if step.name == "check" or step.check(answers, ctx)[1]:
            break
        done.append(step.name)
    return done


GUIDE_KEYS = ("scenario", "death_date", "pension_type", "matters", "veteran", "disability", "assistance")


def prefill_from_guide(params: Mapping[str, Any], *, today: date | None = None) -> dict[str, Any]:
    """Answers carried over from the policy eligibility guide (/policy/guide → /apply?…).

    Only well-formed values are kept; the family still sees and confirms every screen.
    """
    answers: dict[str, Any] = {}
    code = str(params.get("scenario") or "")
    if code in {s.code for s in SCENARIOS}:
        answers["scenario"] = code
    try:
        died = date.fromisoformat(str(params.get("death_date") or ""))
        if died <= (today or clock.today()):
            answers["death_date"] = died.isoformat()
    except ValueError:
        pass
    pension = str(params.get("pension_type") or "")
    if pension in {c for c, _ in PENSION_TYPES}:
        answers["pension_type"] = pension
    flags = [c for c, _, _ in FLAGS if params.get(c) == "1"]
    if flags:
        answers["flags"] = flags
    catalogue = default_catalogue()
    wanted = [m for m in str(params.get("matters") or "").split(",") if m]
    matters = [m.code for m in catalogue.requestable_matters()
               if m.code in wanted and catalogue.blocked_reason(m.code, pension_type=pension or "none") is None]
    if matters:
        answers["matters"] = matters
    return answers
