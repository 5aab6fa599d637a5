"""What the 一表申请 pages share: the step page's context, prefills, choices and small helpers.

Pure presentation over the answers (no queries): the handlers in apply_steps, apply_check and
apply_fix load the draft through the services and render with these.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from auth.session import SessionUser, current_user
from portal.domain import application_form as steps
from portal.domain.catalogue import default_catalogue
from portal.domain.idcard import mask_id
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    ASHES_NAME_PROMPTS,
    ETHNICITIES,
    PENSION_TYPES,
    SCENARIOS,
    recipient_needs_review,
)
from portal.domain.validators import mask_phone
from portal.models import Application
from portal.services import applications as drafts
from portal.services.events import Actor
from portal.web.common import render, services
from portal.web.throttling import account_key, enforce

Handler = Callable[..., Response]


@dataclass(frozen=True)
class Acting:
    """Who fills in a draft and where its pages live: the family at /apply, or a window clerk
    for the family at /admin/proxy/<id> (代办). The steps and their checks are the same."""

    base: str
    facts: drafts.ApplicantFacts
    actor: Actor
    mode: str = "draft"  # "draft" | "proxy"
    saved_url: str = "/apply/saved"
    # A case is already in progress for the deceased just typed: the page to show instead.
    on_in_progress: Callable[[Application], Response] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the applicant's document, masked


def actor(request: Request, user: SessionUser) -> Actor:
    return Actor("citizen", user.account_id, user.name, request.client.host if request.client else None)


def facts_of(session: Session, request: Request, user: SessionUser) -> drafts.ApplicantFacts:
    return drafts.applicant_facts(session, services(request).vault, user.account_id)


def applicant(facts: drafts.ApplicantFacts) -> steps.Applicant:
    return steps.Applicant(facts.name, facts.id_card, facts.phone)


def not_found() -> HTTPException:
    return HTTPException(status_code=404)


def step_or_404(name: str) -> steps.Step:
    step = steps.BY_NAME.get(name)
    if step is None:
        raise not_found()
    return step


def owned_or_404(session: Session, app_id: int, user: SessionUser) -> Application:
    try:
        return drafts.owned(session, app_id, user.account_id)
    except drafts.NotFound:
        raise not_found() from None


def first_open(draft: drafts.Draft, facts: drafts.ApplicantFacts) -> str:
    return steps.first_invalid(draft.answers, draft.done, applicant(facts)) or "check"


def next_after(step: steps.Step, answers: dict[str, Any]) -> str:
    names = [s.name for s in steps.applicable(answers)]
    if step.name in names and names.index(step.name) + 1 < len(names):
        return names[names.index(step.name) + 1]
    return "check"


def _previous(step: steps.Step, answers: dict[str, Any], base: str = "/apply") -> str:
    names = [s.name for s in steps.applicable(answers)]
    if step.name in names and names.index(step.name) > 0:
        return f"{base}/step/{names[names.index(step.name) - 1]}"
    return "/apply?intro=1" if base == "/apply" else base


def _caption(step: steps.Step, answers: dict[str, Any]) -> str:
    # Until the matters are chosen, count the recipient step too, so the total does not grow.
    names = [s.name for s in steps.applicable(answers if "matters" in answers else {**answers, "matters": ["pension"]})]
    if step.name not in names:
        return "一表申请"
    return f"一表申请 · 第{names.index(step.name) + 1}步，共{len(names)}步"


def _defaults(step: steps.Step, answers: dict[str, Any]) -> dict[str, Any]:
    """Prefills: what we already know, so the family types less."""
    values: dict[str, Any] = {}
    if step.name == "certificate" and steps.new_format_certificate(answers):
        values["cert_no"] = answers.get("d_id", "")
    if step.name == "funeral":
        parts = steps.hukou_parts(answers)
        if parts and answers.get("d_address"):
            try:
                county = default_catalogue().county(parts[0]).name
            except KeyError:
                county = ""
            values["pickup_address"] = f"{county}{parts[1]}{answers['d_address']}"
    if step.name == "matters":
        values["matters"] = list(steps.DEFAULT_MATTERS)
        values["flags"] = []
    return values


def values_for(step: steps.Step, answers: dict[str, Any]) -> dict[str, Any]:
    """The values a step's page opens with: the saved answers over the prefills."""
    values = _defaults(step, answers)
    if step.name == "matters" and "matters" in answers:
        values.pop("matters", None)
    for name in step.fields:
        if name in answers:
            values[name] = answers[name]
    return values


def _options(step: steps.Step, answers: dict[str, Any]) -> dict[str, Any]:
    cat = default_catalogue()
    opts: dict[str, Any] = {}
    if step.name == "scenario":
        opts["scenarios"] = [(s.code, s.label, s.hint) for s in SCENARIOS]
    elif step.name == "deceased":
        opts["ethnicities"] = ETHNICITIES
        opts["counties"] = [(c.name, [(f"{c.code}:{t}", t) for t in c.townships]) for c in cat.counties]
    elif step.name == "funeral":
        opts["funeral_homes"] = steps.funeral_homes_for(answers, cat)
    elif step.name == "ashes":
        opts["ashes"] = [(code, label, ASHES_NAME_PROMPTS[code]) for code, label in ASHES_CATEGORIES]
        opts["civil_pledge"] = steps.CIVIL_PLEDGE
    elif step.name == "matters":
        opts["pension_types"] = PENSION_TYPES
        opts["flags"] = steps.FLAGS
        opts["matters"] = cat.requestable_matters()
        opts["public_note"] = cat.blocked_reason("pension", pension_type="public_institution")
    elif step.name in ("applicant", "recipient"):
        opts["relations"] = APPLICANT_RELATIONS
        opts["banks"] = steps.BANKS
    return opts


def masked(value: Any, mask: Callable[[str], str]) -> str | None:
    """A personal number as shown on screen (masked); None when there is none."""
    text = "".join(str(value or "").split())
    return mask(text) if text else None


def step_context(step: steps.Step, answers: dict[str, Any], values: dict[str, Any],
                 errors: dict[str, str], facts: drafts.ApplicantFacts, *, mode: str = "draft",
                 app_id: int | None = None, back_check: bool = False,
                 requests: tuple[Any, ...] | list[Any] = (), base: str = "/apply") -> dict[str, Any]:
    """Everything a step's template needs, in the draft, in a correction (`mode="fix"`) or in a
    draft a window clerk fills in for the family (`mode="proxy"`, `base` its /admin/proxy/<id>)."""
    merged = {**answers, **{k: v for k, v in values.items() if k in ("d_id", "death_date", "death_time")}}
    if mode == "fix":
        action = f"/apply/{app_id}/fix/{step.name}"
        back_url = f"/my/{app_id}"
        check_url = f"/apply/{app_id}/fix/{step.name}/check"
    else:
        action = f"{base}/step/{step.name}" + ("?back=check" if back_check else "")
        back_url = f"{base}/step/check" if back_check else _previous(step, answers, base)
        check_url = f"{base}/step/{step.name}/check"
    return {
        "step": step,
        "answers": answers,
        "values": values,
        "errors": {k: v for k, v in errors.items() if k not in steps.CONFIRMATIONS},
        "warnings": {k: v for k, v in errors.items() if k in steps.CONFIRMATIONS},
        "derived": steps.derived_facts(merged),
        "applicant": facts,
        "applicant_id_masked": masked(facts.id_card, mask_id) or "",
        "applicant_phone_masked": masked(facts.phone, mask_phone) or "",
        "caption": "补正申请" if mode == "fix" else _caption(step, answers),
        "action": action,
        "check_url": check_url,
        "back_url": back_url,
        "mode": mode,
        "base": base,
        "app_id": app_id,
        "requests": requests,  # in a correction: what the window or the departments asked for
        "certificate_title": steps.certificate_title(answers),
        "new_format": steps.new_format_certificate(answers),
        "scenario_code": answers.get("scenario"),
        "labels": steps.labels(answers),
        "self_review": bool(answers.get("a_relation")) and recipient_needs_review(str(answers.get("a_relation"))),
        "opts": _options(step, answers),
    }


def render_step(request: Request, step: steps.Step, ctx: dict[str, Any]) -> Response:
    return render(request, f"citizen/apply_{step.name}.html", ctx)


def render_in_progress(request: Request, other: drafts.InProgress) -> Response:
    """A case for this person is in progress (what this family may see of it)."""
    return render(request, "citizen/apply_in_progress.html", {"other": other})


# --- the in-progress check (issue 11, item 12) ----------------------------------------------


def spends_in_progress_check(fn: Handler) -> Handler:
    """A POST of the deceased step with a valid 身份证号 other than the one saved will look that number
    up for a case in progress: it first spends one unit of the account's tight `in_progress` limit,
    before anything is saved (refused: 429, nothing saved). Re-saving the same number costs nothing."""

    @functools.wraps(fn)
    def handler(request: Request, form: FormData | None, *args: Any) -> Response:
        user = current_user(request)
        if form is not None and user is not None and request.path_params.get("step") == "deceased":
            typed = drafts.valid_id(form.get("d_id"))
            app_id = request.path_params.get("app_id")
            svc = services(request)
            if typed is not None and typed != drafts.saved_deceased_id(
                    svc.db, svc.vault, user.account_id, int(app_id) if app_id is not None else None):
                enforce(request, "in_progress", account_key(user.account_id))
        return fn(request, form, *args)

    return handler
