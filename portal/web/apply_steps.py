"""一表申请, filling in: the start page, one screen per step, checking a field as it is left, and
the notice that a case for this deceased is already in progress."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from auth.permissions import citizen_only
from auth.session import SessionUser, current_user
from portal.db import transaction
from portal.domain import application_form as steps
from portal.domain.catalogue import default_catalogue
from portal.models import Application
from portal.services import applications as drafts
from portal.services import proactive, sharing
from portal.services.errors import NotFound
from portal.services.events import record
from portal.web.apply_check import check_page
from portal.web.apply_view import (
    Acting,
    actor,
    applicant,
    facts_of,
    first_open,
    next_after,
    not_found,
    render_in_progress,
    render_step,
    spends_in_progress_check,
    step_context,
    step_or_404,
    values_for,
)
from portal.web.common import page, redirect, render, services
from portal.web.throttling import account_key, ensure_within, limited

# --- start page ----------------------------------------------------------------------------


@page
def start_page(request: Request, form: FormData | None) -> Response:
    user = current_user(request)
    carry = [(k, v) for k in steps.GUIDE_KEYS if (v := request.query_params.get(k))]  # from /policy/guide
    ctx: dict[str, Any] = {"user_state": "anonymous", "matters": default_catalogue().requestable_matters(),
                           "flags": steps.FLAGS, "carry": carry,
                           "login_next": "/apply" + ("?" + urlencode(carry) if carry else "")}
    if user is not None:
        if user.auth_level < 2:
            ctx["user_state"] = "unverified"
        elif user.id_type != 1:
            ctx["user_state"] = "no_id_card"
        else:
            ctx["user_state"] = "ready"
            with services(request).db() as session:
                app = drafts.open_draft(session, user.account_id)
                if app is not None:
                    facts = facts_of(session, request, user)
                    draft = drafts.read_draft(services(request).vault, app)
                    resume = first_open(draft, facts)
                    if request.query_params.get("intro") != "1":
                        return redirect(f"/apply/step/{resume}")
                    ctx["resume"] = resume
    return render(request, "citizen/apply_start.html", ctx)


@page
@citizen_only
def start_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    with transaction(svc.db) as session:
        existing = drafts.open_draft(session, user.account_id)
        prefill = steps.prefill_from_guide(form) if existing is None and form is not None else None
        app = drafts.start_draft(session, svc.vault, user.account_id, prefill)
        if existing is None:
            record(session, actor(request, user), "citizen:application:start", "开始填写一表申请",
                   application_id=app.id)
        draft = drafts.read_draft(svc.vault, app)
        resume = first_open(draft, facts_of(session, request, user))
    return redirect(f"/apply/step/{resume}")


@page
@citizen_only
def claim_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    """The link in the text inviting the next of kin of a proactive case (主动办) to finish online."""
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    proactive.claim_into_draft(svc.db, svc.vault, str(request.path_params["token"])[:64], user.account_id,
                               actor(request, user))
    return redirect("/apply")


@page
@citizen_only
def saved_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    return render(request, "citizen/apply_saved.html", {})


# --- steps ---------------------------------------------------------------------------------


def _raw_values(posted: dict[str, Any]) -> dict[str, Any]:
    """What the family typed, trimmed and bounded, for 保存，稍后继续 with unfinished answers."""
    out: dict[str, Any] = {}
    for key, value in posted.items():
        if isinstance(value, list):
            out[key] = [str(v)[:60] for v in value][:10]
        else:
            out[key] = str(value).strip()[:200]
    return out


STEP_SAVE_ATTEMPTS = 4  # tabs saving the same draft at once: each save runs again on the fresh draft


@page
@limited("step_save", per="account", methods=("POST",))
@spends_in_progress_check
@citizen_only
def step_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    for attempt in range(1, STEP_SAVE_ATTEMPTS + 1):
        try:
            return _step_page(request, form, user)
        except StaleDataError:
            # Tabs saved the same draft at once: run again on the fresh draft, as if this save had
            # come a moment later (nothing is lost). Past the bound: the 409 page, nothing saved.
            if attempt == STEP_SAVE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _step_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    step_or_404(request.path_params["step"])
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    with transaction(svc.db) as session:
        app = drafts.open_draft(session, user.account_id)
        if app is None:
            return redirect("/apply")
        acting = Acting("/apply", facts_of(session, request, user), actor(request, user),
                        on_in_progress=lambda other: redirect("/apply/in-progress"))
        return fill_step(request, form, session, app, acting)


def fill_step(request: Request, form: FormData | None, session: Session, app: Application,
              acting: Acting) -> Response:
    """One step of the draft `app`, shown or saved, by whoever `acting` says is filling it in."""
    step = step_or_404(request.path_params["step"])
    svc = services(request)
    base = acting.base
    back_check = request.query_params.get("back") == "check"
    facts = acting.facts
    draft = drafts.read_draft(svc.vault, app)
    answers = draft.answers
    open_step = first_open(draft, facts)
    names = [s.name for s in steps.applicable(answers)]
    if step.name not in names:
        return redirect(f"{base}/step/{open_step}")
    # Later steps need the earlier answers: never skip ahead of the first unfinished step.
    if names.index(step.name) > names.index(open_step):
        return redirect(f"{base}/step/{open_step}")

    if step.name == "check":
        if form is None:
            return check_page(request, app.submit_key, draft, facts, {}, acting=acting)
        return redirect(f"{base}/step/check")

    def context(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
        ctx = step_context(step, answers, values, errors, facts, back_check=back_check, base=base,
                           mode=acting.mode, app_id=None if acting.mode == "draft" else app.id)
        return {**ctx, **acting.extra}

    if form is None:
        return render_step(request, step, context(values_for(step, answers), {}))

    posted = steps.form_dict(form, step)
    ctx = steps.Ctx(answers=answers, applicant=applicant(facts))
    values, errors = steps.validate(step, posted, ctx)
    if form.get("action") == "save":
        keep = values if not errors else {**_raw_values(posted), **values}
        drafts.save_step(svc.vault, app, step.name, keep, step.fields, complete=not errors)
        return redirect(acting.saved_url)
    if errors:
        return render_step(request, step, context(posted, errors))
    draft = drafts.save_step(svc.vault, app, step.name, values, step.fields, complete=True)
    if step.name == "deceased":
        proactive.fill_from_case(session, svc.vault, app)  # a department reported the death: pre-fill
    if step.name == "deceased" and acting.on_in_progress is not None:
        other = drafts.find_in_progress(session, svc.vault, acting.actor, values["d_id"], exclude_id=app.id)
        if other is not None:
            return acting.on_in_progress(other)
    if back_check:
        target = steps.first_invalid(draft.answers, draft.done, applicant(facts)) or "check"
    else:
        target = next_after(step, draft.answers)
    return redirect(f"{base}/step/{target}")


def field_check(request: Request, form: FormData, answers: dict[str, Any], facts: drafts.ApplicantFacts, *,
                mode: str, app_id: int | None, base: str = "/apply") -> Response:
    """htmx: the step checked as typed so far, showing only the field that was left."""
    step = step_or_404(request.path_params["step"])
    field = request.headers.get("hx-trigger-name") or str(form.get("_field") or "")
    posted = steps.form_dict(form, step)
    _, errors = steps.validate(step, posted, steps.Ctx(answers=answers, applicant=applicant(facts)))
    shown = {k: v for k, v in errors.items() if k == field and posted.get(k)}
    ctx = step_context(step, answers, posted, shown, facts, mode=mode, app_id=app_id, base=base)
    ctx["inline"] = True
    return render_step(request, step, ctx)


@page
@citizen_only
def step_field_check(request: Request, form: FormData | None, user: SessionUser) -> Response:
    """htmx: check the step as typed so far and show only the field that was left."""
    step_or_404(request.path_params["step"])
    assert form is not None
    svc = services(request)
    app_id = request.path_params.get("app_id")
    with svc.db() as session:
        if app_id is not None:  # a correction: the family's own case, or one they are the agent of (委托)
            try:
                app, role = sharing.shared_case(session, int(app_id), user.account_id)
            except NotFound:
                raise not_found() from None
            if role not in ("owner", "agent") or app.account_id is None:
                raise not_found()
            facts = drafts.applicant_facts(session, svc.vault, app.account_id)
        else:
            own = drafts.open_draft(session, user.account_id)
            if own is None:
                raise not_found()
            app, facts = own, facts_of(session, request, user)
        answers = drafts.read_draft(svc.vault, app).answers
    return field_check(request, form, answers, facts, mode="fix" if app_id is not None else "draft",
                       app_id=int(app_id) if app_id else None)


@page
@citizen_only
def in_progress_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    # Showing the answer again costs nothing (the number was counted when saved), but not past the limit.
    ensure_within(request, "in_progress", account_key(user.account_id))
    svc = services(request)
    other = drafts.draft_in_progress(svc.db, svc.vault, user.account_id, actor(request, user))
    if other is None:
        return redirect("/apply")
    return render_in_progress(request, other)
