"""Personal plan (我的办理计划): dated to-dos from the date of death, and an .ics export.

:func:`plan_for` turns a date of death (general plan) or a :class:`Situation`
(tailored plan) into :class:`PlanItem` rows sorted by date (their words are in
``content/plan_steps.toml``); :func:`to_ics` writes
them as an RFC 5545 calendar of all-day events with the ``icalendar`` package.

Which dates are firm and which are only suggestions is recorded in
``PlanItem.kind``: ``"deadline"`` (a time limit stated in the rules, e.g. 户口注销
within 30 days, 注1), ``"suggestion"`` (a sensible target, configurable in
``content/policy_params.toml`` ``[plan]``) or ``"info"`` (something that happens
on that day, e.g. the monthly reconciliation).
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Alarm, Calendar, Event

from portal.domain import clock
from portal.domain.eligibility import (
    Params,
    PlanSettings,
    Situation,
    first_day_of_next_month,
    guide,
)

__all__ = ["KINDS", "PlanItem", "plan_for", "to_ics"]

KINDS = {"deadline": "期限", "suggestion": "建议", "info": "提醒"}


@dataclass(frozen=True)
class PlanItem:
    due: date
    title: str
    detail: str
    matter: str | None  # matter code, or None for general steps
    policy_slug: str
    kind: str = "suggestion"  # "deadline" | "suggestion" | "info"

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _settings(params: Params | PlanSettings | None) -> PlanSettings:
    if params is None:
        return PlanSettings()
    if isinstance(params, PlanSettings):
        return params
    return params.plan


def _reconciliation_date(death_date: date, day: int) -> date:
    nxt = first_day_of_next_month(death_date)
    return date(nxt.year, nxt.month, day)


def plan_for(
    situation_or_death_date: Situation | date,
    params: Params | PlanSettings | None = None,
) -> list[PlanItem]:
    """Dated to-dos, sorted by date (items on the same day keep their logical order).

    With a plain ``date`` the plan covers what most families need; with a
    :class:`Situation` it follows :func:`portal.domain.eligibility.guide`.
    """
    if isinstance(situation_or_death_date, Situation):
        situation: Situation | None = situation_or_death_date
        death = situation_or_death_date.death_date
    elif isinstance(situation_or_death_date, date) and not isinstance(situation_or_death_date, datetime):
        situation = None
        death = situation_or_death_date
    elif isinstance(situation_or_death_date, datetime):
        situation = None
        death = situation_or_death_date.date()
    else:
        raise TypeError("plan_for() 需要去世日期（date）或 Situation")
    ps = _settings(params)
    items = _general_plan(death, ps) if situation is None else _situation_plan(situation, params, ps)
    order = {id(item): i for i, item in enumerate(items)}
    return sorted(items, key=lambda it: (it.due, order[id(it)]))


def _days(death: date, n: int) -> date:
    return death + timedelta(days=n)


# ---------------------------------------------------------------------------------------------
# The words of each step (content/plan_steps.toml)
# ---------------------------------------------------------------------------------------------

STEPS_PATH = Path(__file__).resolve().parents[2] / "content" / "plan_steps.toml"


@functools.cache
def plan_texts() -> dict[str, dict[str, dict[str, str]]]:
    """The shipped step texts, read once per process."""
    with STEPS_PATH.open("rb") as fh:
        return tomllib.load(fh)


def _step(section: str, key: str, due: date, matter: str | None, slug: str, kind: str = "suggestion", /,
          **values: str) -> PlanItem:
    """One plan item; ``values`` fill the {words} of its text."""
    t = plan_texts()[section][key]
    return PlanItem(due, t["title"].format_map(values), t["detail"].format_map(values), matter, slug, kind)


def _general_plan(death: date, ps: PlanSettings) -> list[PlanItem]:
    hukou_due = _days(death, ps.hukou_days)
    g = "general"
    return [
        _step(g, "certificate", death, "certificate", "death-at-home"),
        _step(g, "application", _days(death, ps.application_days), None, "process-overview"),
        _step(g, "cremation", _days(death, ps.cremation_days), "cremation", "cremation-materials"),
        _step(g, "reconciliation", _reconciliation_date(death, ps.reconciliation_day), None, "overpaid-pension", "info"),
        _step(g, "medical", _days(death, ps.medical_reimbursement_days), "medical", "medical-bills-first"),
        _step(g, "hukou", hukou_due, "hukou", "hukou-cancellation", "deadline",
              due=clock.cn_date(hukou_due), days=str(ps.hukou_days)),
        _step(g, "pension", _days(death, ps.pension_claim_days), "pension", "enterprise-retiree-benefits"),
    ]


def _situation_plan(s: Situation, params: Params | PlanSettings | None, ps: PlanSettings) -> list[PlanItem]:
    full = params if isinstance(params, Params) else Params(plan=ps)
    result = guide(s, full)
    death = s.death_date
    texts = plan_texts()["situation"]
    sit = "situation"

    cert = result.matter("certificate")
    key = "certificate_abroad" if s.died_abroad else f"certificate_{s.place}"
    fallback = "death-abroad" if s.died_abroad else "death-at-home"
    items = [
        _step(sit, key, death, "certificate", cert.policy_slug if cert else fallback),
        _step(sit, "application", _days(death, ps.application_days), None, "process-overview"),
    ]
    if result.matter("cremation"):
        extra = texts["cremation"]["extra_unnatural"] if s.place == "unnatural" else ""
        items.append(_step(sit, "cremation", _days(death, ps.cremation_days), "cremation", "cremation-materials",
                           extra=extra))
    if s.pension_type in ("enterprise_retired", "resident"):
        items.append(_step(sit, "pension_stops", first_day_of_next_month(death), "pension", "overpaid-pension", "info"))

    recon = _reconciliation_date(death, ps.reconciliation_day)
    items.append(_step(sit, "reconciliation", recon, None, "how-long-it-takes", "info"))
    for code in ("veteran", "disability", "assistance"):
        advice = result.matter(code)
        if advice:
            items.append(_step(sit, code, recon, code, advice.policy_slug, "info",
                               handled_by=advice.handled_by, note=advice.note))

    if result.matter("medical"):
        items.append(_step(sit, "medical", _days(death, ps.medical_reimbursement_days), "medical",
                           "medical-bills-first"))
    hukou = result.matter("hukou")
    if hukou and hukou.deadline:
        items.append(_step(sit, "hukou", hukou.deadline, "hukou", hukou.policy_slug, "deadline",
                           deadline_text=hukou.deadline_text, handled_by=hukou.handled_by))

    claim = _days(death, ps.pension_claim_days)
    pension = result.matter("pension")
    if pension:
        what = texts["pension"]["what_resident" if s.pension_type == "resident" else "what_enterprise"]
        items.append(_step(sit, "pension", claim, "pension", pension.policy_slug,
                           what=what, handled_by=pension.handled_by))
    elif s.pension_type == "public_institution":
        items.append(_step(sit, "public_institution", _days(death, ps.application_days), "pension",
                           "public-institution"))
    if result.matter("provident"):
        items.append(_step(sit, "provident", claim, "provident", "provident-fund"))
    return items


# ---------------------------------------------------------------------------------------------
# iCalendar (RFC 5545) through the icalendar package: it escapes, folds at 75 octets and writes CRLF
# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> str:
    """Control characters other than line breaks are not allowed in a TEXT value."""
    return _CONTROL.sub(" ", value)


def _uid(item: PlanItem, domain: str, seen: dict[str, int]) -> str:
    digest = hashlib.sha256(f"{item.due.isoformat()}|{item.matter}|{item.title}".encode()).hexdigest()[:20]
    base = f"{item.due:%Y%m%d}-{digest}"
    count = seen.get(base, 0)
    seen[base] = count + 1
    if count:
        base = f"{base}-{count}"
    return f"{base}@{domain}"


def to_ics(
    items: Iterable[PlanItem],
    *,
    uid_domain: str = "shenhou.wenzhou.example",
    dtstamp: datetime | None = None,
    calendar_name: str = "身后事办理提醒",
    policy_url: Callable[[str], str] | None = None,
    alarm: bool = True,
) -> str:
    """Render ``items`` as an iCalendar document (one all-day VEVENT each).

    ``policy_url(slug)`` (optional) adds a URL property and a link in the description.
    ``alarm`` adds a display reminder at 09:00 the day before each event.
    UIDs are stable for the same date, matter and title, so a re-import updates events.
    """
    stamp = (dtstamp or clock.now()).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", "-//Wenzhou shenhou yijianshi portal//Personal plan//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _text(calendar_name))
    seen: dict[str, int] = {}
    for item in items:
        summary = _text(item.title)
        description = f"{item.kind_label}：{item.detail}"
        url = policy_url(item.policy_slug) if policy_url else None
        if url:
            description = f"{description}\n\n详细说明：{url}"
        event = Event()
        event.add("uid", _uid(item, uid_domain, seen))
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("summary", summary)
        event.add("description", _text(description))
        event.add("transp", "TRANSPARENT")
        if url:
            event.add("url", url)
        if alarm:
            reminder = Alarm()
            reminder.add("action", "DISPLAY")
            reminder.add("description", summary)
            reminder.add("trigger", timedelta(hours=-15))
            event.add_component(reminder)
        cal.add_component(event)
    return str(cal.to_ical(), "utf-8")
