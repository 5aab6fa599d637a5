"""一表申请: the guided application for families, one topic per screen.

Every step is a plain form POST with redirect-after-post; htmx only adds checking a field as
it is left (POST /apply/step/<step>/check, the page re-rendered and only that field swapped).
"""
from __future__ import annotations

import functools
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.permissions import citizen_only
from auth.session import SessionUser, current_user
from portal.config import Settings
from portal.db import is_conflict, transaction
from portal.domain import application_form as steps
from portal.domain.catalogue import default_catalogue
from portal.domain.deadlines import promise_text
from portal.domain.idcard import mask_id, parse_id
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    ASHES_NAME_PROMPTS,
    ETHNICITIES,
    PENSION_TYPES,
    SCENARIOS,
    recipient_needs_review,
)
from portal.domain.validators import FieldError, mask_account, mask_name, mask_phone
from portal.models import Application
from portal.services import applications as drafts
from portal.services import deadlines, queues, submission
from portal.services.events import Actor, record
from portal.web.common import Services, page, redirect, render, services
from portal.web.site import error_page
from portal.web.throttling import account_key, enforce, ensure_within, limited

STATUS_WORDS = {
    "submitted": "已提交，等待乡镇（街道）窗口受理",
    "accepted": "已受理，各部门办理中",
    "returned": "需要补正",
    "completed": "已办结",
}


# --- small helpers -------------------------------------------------------------------------


def _actor(request: Request, user: SessionUser) -> Actor:
    return Actor("citizen", user.account_id, user.name, request.client.host if request.client else None)


def _facts(session: Session, request: Request, user: SessionUser) -> drafts.ApplicantFacts:
    return drafts.applicant_facts(session, services(request).vault, user.account_id)


def _applicant(facts: drafts.ApplicantFacts) -> steps.Applicant:
    return steps.Applicant(facts.name, facts.id_card, facts.phone)


def _not_found() -> HTTPException:
    return HTTPException(status_code=404)


def _step_or_404(name: str) -> steps.Step:
    step = steps.BY_NAME.get(name)
    if step is None:
        raise _not_found()
    return step


def _first_open(draft: drafts.Draft, facts: drafts.ApplicantFacts) -> str:
    return steps.first_invalid(draft.answers, draft.done, _applicant(facts)) or "check"


def _next_after(step: steps.Step, answers: dict[str, Any]) -> str:
    names = [s.name for s in steps.applicable(answers)]
    if step.name in names and names.index(step.name) + 1 < len(names):
        return names[names.index(step.name) + 1]
    return "check"


def _previous(step: steps.Step, answers: dict[str, Any]) -> str:
    names = [s.name for s in steps.applicable(answers)]
    if step.name in names and names.index(step.name) > 0:
        return f"/apply/step/{names[names.index(step.name) - 1]}"
    return "/apply?intro=1"


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


def _values_for(step: steps.Step, answers: dict[str, Any]) -> dict[str, Any]:
    values = _defaults(step, answers)
    if step.name in ("matters",) and "matters" in answers:
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


def _step_context(request: Request, step: steps.Step, answers: dict[str, Any], values: dict[str, Any],
                  errors: dict[str, str], facts: drafts.ApplicantFacts, *, mode: str = "draft",
                  app_id: int | None = None, back_check: bool = False,
                  requests: tuple[Any, ...] | list[Any] = ()) -> dict[str, Any]:
    merged = {**answers, **{k: v for k, v in values.items() if k in ("d_id", "death_date", "death_time")}}
    if mode == "fix":
        action = f"/apply/{app_id}/fix/{step.name}"
        back_url = f"/my/{app_id}"
        check_url = f"/apply/{app_id}/fix/{step.name}/check"
    else:
        action = f"/apply/step/{step.name}" + ("?back=check" if back_check else "")
        back_url = "/apply/step/check" if back_check else _previous(step, answers)
        check_url = f"/apply/step/{step.name}/check"
    return {
        "step": step,
        "answers": answers,
        "values": values,
        "errors": {k: v for k, v in errors.items() if k not in steps.CONFIRMATIONS},
        "warnings": {k: v for k, v in errors.items() if k in steps.CONFIRMATIONS},
        "derived": steps.derived_facts(merged),
        "applicant": facts,
        "applicant_id_masked": _masked(facts.id_card, mask_id) or "",
        "applicant_phone_masked": _masked(facts.phone, mask_phone) or "",
        "caption": "补正申请" if mode == "fix" else _caption(step, answers),
        "action": action,
        "check_url": check_url,
        "back_url": back_url,
        "mode": mode,
        "app_id": app_id,
        "requests": requests,  # in a correction: what the window or the departments asked for
        "certificate_title": steps.certificate_title(answers),
        "new_format": steps.new_format_certificate(answers),
        "scenario_code": answers.get("scenario"),
        "labels": steps.labels(answers),
        "self_review": bool(answers.get("a_relation")) and recipient_needs_review(str(answers.get("a_relation"))),
        "opts": _options(step, answers),
    }


def _raw_values(step: steps.Step, posted: dict[str, Any]) -> dict[str, Any]:
    """What the family typed, trimmed and bounded, for 保存，稍后继续 with unfinished answers."""
    out: dict[str, Any] = {}
    for key, value in posted.items():
        if isinstance(value, list):
            out[key] = [str(v)[:60] for v in value][:10]
        else:
            out[key] = str(value).strip()[:200]
    return out


# --- start page ----------------------------------------------------------------------------


@page
def start_page(request: Request, form: FormData | None) -> Response:
    from auth.session import current_user

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
                    facts = _facts(session, request, user)
                    draft = drafts.read_draft(services(request).vault, app)
                    resume = _first_open(draft, facts)
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
            record(session, _actor(request, user), "citizen:application:start", "开始填写一表申请",
                   application_id=app.id)
        draft = drafts.read_draft(svc.vault, app)
        resume = _first_open(draft, _facts(session, request, user))
    return redirect(f"/apply/step/{resume}")


@page
@citizen_only
def saved_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    return render(request, "citizen/apply_saved.html", {})


# --- the in-progress check (issue 11, item 12) ----------------------------------------------


def _valid_id(raw: Any) -> str | None:
    try:
        return parse_id(str(raw or "")).number
    except FieldError:
        return None


def _saved_deceased_id(request: Request, user: SessionUser) -> str | None:
    """The deceased's number already in the draft (or in the application being corrected)."""
    svc = services(request)
    with svc.db() as session:
        app_id = request.path_params.get("app_id")
        app = drafts.open_draft(session, user.account_id) if app_id is None else session.get(Application, int(app_id))
        if app is None or app.account_id != user.account_id:
            return None
        return _valid_id(drafts.read_draft(svc.vault, app).answers.get("d_id"))


def _spends_in_progress_check(fn: Any) -> Any:
    """A POST of the deceased step with a valid 身份证号 other than the one saved will look that number
    up for a case in progress: it first spends one unit of the account's tight `in_progress` limit,
    before anything is saved (refused: 429, nothing saved). Re-saving the same number costs nothing."""

    @functools.wraps(fn)
    def handler(request: Request, form: FormData | None, *args: Any) -> Response:
        user = current_user(request)
        if form is not None and user is not None and request.path_params.get("step") == "deceased":
            typed = _valid_id(form.get("d_id"))
            if typed is not None and typed != _saved_deceased_id(request, user):
                enforce(request, "in_progress", account_key(user.account_id))
        return fn(request, form, *args)

    return handler


# --- steps ---------------------------------------------------------------------------------


def _load_draft(session: Session, request: Request, user: SessionUser) -> Application | None:
    return drafts.open_draft(session, user.account_id)


STEP_SAVE_ATTEMPTS = 4  # tabs saving the same draft at once: each save runs again on the fresh draft


@page
@limited("step_save", per="account", methods=("POST",))
@_spends_in_progress_check
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
    step = _step_or_404(request.path_params["step"])
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    back_check = request.query_params.get("back") == "check"
    with transaction(svc.db) as session:
        app = _load_draft(session, request, user)
        if app is None:
            return redirect("/apply")
        facts = _facts(session, request, user)
        draft = drafts.read_draft(svc.vault, app)
        answers = draft.answers
        open_step = _first_open(draft, facts)
        names = [s.name for s in steps.applicable(answers)]
        if step.name not in names:
            return redirect(f"/apply/step/{open_step}")
        # Later steps need the earlier answers: never skip ahead of the first unfinished step.
        if names.index(step.name) > names.index(open_step):
            return redirect(f"/apply/step/{open_step}")

        if step.name == "check":
            if form is None:
                return _check_page(request, app, draft, facts, {})
            return redirect("/apply/step/check")

        if form is None:
            values = _values_for(step, answers)
            return render(request, f"citizen/apply_{step.name}.html",
                          _step_context(request, step, answers, values, {}, facts, back_check=back_check))

        posted = steps.form_dict(form, step)
        ctx = steps.Ctx(answers=answers, applicant=_applicant(facts))
        values, errors = steps.validate(step, posted, ctx)
        if form.get("action") == "save":
            keep = values if not errors else {**_raw_values(step, posted), **values}
            drafts.save_step(svc.vault, app, step.name, keep, step.fields, complete=not errors)
            return redirect("/apply/saved")
        if errors:
            return render(request, f"citizen/apply_{step.name}.html",
                          _step_context(request, step, answers, posted, errors, facts, back_check=back_check))
        draft = drafts.save_step(svc.vault, app, step.name, values, step.fields, complete=True)
        if step.name == "deceased":
            other = drafts.find_in_progress(session, svc.vault, _actor(request, user), values["d_id"],
                                            exclude_id=app.id)
            if other is not None:
                return redirect("/apply/in-progress")
        if back_check:
            target = steps.first_invalid(draft.answers, draft.done, _applicant(facts)) or "check"
        else:
            target = _next_after(step, draft.answers)
        return redirect(f"/apply/step/{target}")


@page
@citizen_only
def step_field_check(request: Request, form: FormData | None, user: SessionUser) -> Response:
    """htmx: check the step as typed so far and show only the field that was left."""
    step = _step_or_404(request.path_params["step"])
    assert form is not None
    svc = services(request)
    field = request.headers.get("hx-trigger-name") or str(form.get("_field") or "")
    app_id = request.path_params.get("app_id")
    with svc.db() as session:
        if app_id is not None:
            app = _owned_or_404(session, int(app_id), user)
        else:
            app = _load_draft(session, request, user)
            if app is None:
                raise _not_found()
        facts = _facts(session, request, user)
        answers = drafts.read_draft(svc.vault, app).answers
    posted = steps.form_dict(form, step)
    _, errors = steps.validate(step, posted, steps.Ctx(answers=answers, applicant=_applicant(facts)))
    shown = {k: v for k, v in errors.items() if k == field and posted.get(k)}
    ctx = _step_context(request, step, answers, posted, shown, facts,
                        mode="fix" if app_id is not None else "draft", app_id=int(app_id) if app_id else None)
    ctx["inline"] = True
    return render(request, f"citizen/apply_{step.name}.html", ctx)


@page
@citizen_only
def in_progress_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    # Showing the answer again costs nothing (the number was counted when saved), but not past the limit.
    ensure_within(request, "in_progress", account_key(user.account_id))
    svc = services(request)
    with transaction(svc.db) as session:
        app = _load_draft(session, request, user)
        if app is None:
            return redirect("/apply")
        answers = drafts.read_draft(svc.vault, app).answers
        other = drafts.find_in_progress(session, svc.vault, _actor(request, user), str(answers["d_id"]),
                                        exclude_id=app.id) if answers.get("d_id") else None
        if other is None:
            return redirect("/apply")
        return _duplicate_page(request, other, user, answers)


def _county_name(code: str) -> str:
    try:
        return default_catalogue().county(code).name
    except KeyError:
        return ""


def _duplicate_page(request: Request, other: Application, user: SessionUser, answers: dict[str, Any]) -> Response:
    """A case for this person is in progress. The family's own case is shown in full; another
    family's shows nothing of it (no name, 编号, date, status or place): only what to do, with the
    window taken from what this family typed."""
    mine = other.account_id == user.account_id
    info: dict[str, Any] = {"deceased_id": mask_id(str(answers.get("d_id") or "")), "mine": mine}
    if not mine:
        hukou = steps.hukou_parts(answers)
        info["window"] = f"{_county_name(hukou[0])}{hukou[1]}" if hukou else ""
    else:
        county = _county_name(other.county_code or "")
        info.update({
            "deceased_name": mask_name(other.deceased.name if other.deceased else str(answers.get("d_name") or "")),
            "number": other.number,
            "submitted_on": steps.fmt_date(other.submitted_at.astimezone(steps.CHINA).date())
            if other.submitted_at else "",
            "status": STATUS_WORDS.get(other.status, "办理中"),
            "county": county,
            "township": other.township or "",
            "id": other.id,
        })
    return render(request, "citizen/apply_in_progress.html", {"other": info})


# --- check answers and submit --------------------------------------------------------------


def _masked(value: Any, mask: Any) -> str | None:
    """A personal number as shown on screen (masked); None when there is none."""
    text = "".join(str(value or "").split())
    return mask(text) if text else None


def _summary(answers: dict[str, Any], facts: drafts.ApplicantFacts) -> list[dict[str, Any]]:
    """Sections of (label, value, step, field) rows for check answers; None = 未填写."""
    cat = default_catalogue()
    lab = steps.labels(answers)
    derived = steps.derived_facts(answers)
    hukou = steps.hukou_parts(answers)
    county_name = ""
    if hukou:
        try:
            county_name = cat.county(hukou[0]).name
        except KeyError:
            county_name = hukou[0]

    def row(label: str, value: Any, step: str, field: str) -> dict[str, Any]:
        return {"label": label, "value": value if value not in (None, "", []) else None, "step": step, "field": field}

    sections: list[dict[str, Any]] = []
    sections.append({"title": "去世时的情况", "rows": [row("情况", lab.get("scenario"), "scenario", "scenario")]})
    sections.append({"title": "逝者", "rows": [
        row("姓名", answers.get("d_name"), "deceased", "d_name"),
        row("身份证号码", answers.get("d_id"), "deceased", "d_id"),
        row("性别、出生日期", f"{derived.get('gender', '')}，{derived.get('birth_text', '')}出生" if derived else None,
            "deceased", "d_id"),
        row("民族", lab.get("d_ethnicity"), "deceased", "d_ethnicity"),
        row("户籍所在地", f"{county_name}{hukou[1]}" if hukou else None, "deceased", "d_hukou"),
        row("户籍详细地址", answers.get("d_address"), "deceased", "d_address"),
        row("暂住地/单位所在乡镇", answers.get("d_temp"), "deceased", "d_temp"),
    ]})
    died = steps.death_datetime(answers)
    sections.append({"title": "去世时间和死亡证明", "rows": [
        row("去世时间", f"{steps.fmt_date(died.date())} {died:%H:%M}" if died else None, "death", "death_date"),
        row("去世时年龄", f"{derived['age']}岁" if "age" in derived else None, "death", "death_date"),
        row("死亡原因", answers.get("death_cause"), "death", "death_cause"),
        row(f"{steps.certificate_title(answers)}编号", answers.get("cert_no"), "certificate", "cert_no"),
    ]})
    body_rows = []
    if answers.get("body_at_fh") == "yes":
        fh = answers.get("funeral_home")
        body_rows += [row("遗体是否已运到殡仪馆", "是", "funeral", "body_at_fh"),
                      row("殡仪馆", answers.get("funeral_home_other") if fh == steps.OTHER else fh, "funeral", "funeral_home")]
    else:
        pick = ""
        if answers.get("pickup_date"):
            pick = f"{steps.fmt_date(date.fromisoformat(answers['pickup_date']))} {answers.get('pickup_time', '')}"
        body_rows += [row("遗体是否已运到殡仪馆", "否，需要接运" if answers.get("body_at_fh") == "no" else None, "funeral",
                          "body_at_fh"),
                      row("接运地址", answers.get("pickup_address"), "funeral", "pickup_address"),
                      row("接运时间", pick, "funeral", "pickup_date")]
    category = answers.get("ashes_category")
    body_rows += [
        row("骨灰安放", f"{lab.get('ashes_category', '')}：{answers.get(f'ashes_place_{category}', '')}" if category else None,
            "ashes", "ashes_category"),
        row("出殡路线", answers.get("route"), "ashes", "route"),
        row("文明治丧承诺", "已承诺" if answers.get("pledge") == "yes" else None, "ashes", "pledge"),
    ]
    sections.append({"title": "遗体接运和骨灰安放", "rows": body_rows})
    flags = [label for code, label, _ in steps.FLAGS if code in (answers.get("flags") or [])]
    matter_names = []
    for code in answers.get("matters") or []:
        try:
            matter_names.append(cat.matter(code).name)
        except KeyError:
            pass
    sections.append({"title": "要办理的事项", "rows": [
        row("养老保险", lab.get("pension_type"), "matters", "pension_type"),
        row("特殊情况", "、".join(flags) if flags else "无", "matters", "flags"),
        row("申请办理", matter_names, "matters", "matters"),
    ]})
    sections.append({"title": "申请人（您）", "rows": [
        row("姓名", facts.name, "", ""),
        row("身份证号码", _masked(facts.id_card, mask_id), "", ""),
        row("联系电话", _masked(facts.phone or answers.get("a_phone"), mask_phone),
            "" if facts.phone else "applicant", "a_phone"),
        row("与逝者的关系", lab.get("a_relation"), "applicant", "a_relation"),
        row("联系地址", answers.get("a_address"), "applicant", "a_address"),
    ]})
    if steps.wants_pension(answers):
        if answers.get("r_who") == "self":
            who = [row("领取人", f"您本人（{facts.name}）", "recipient", "r_who")]
        else:
            who = [row("领取人姓名", answers.get("r_name"), "recipient", "r_name"),
                   row("与逝者的关系", lab.get("r_relation"), "recipient", "r_relation"),
                   row("身份证号码", _masked(answers.get("r_id"), mask_id), "recipient", "r_id")]
        sections.append({"title": "丧葬费和抚恤金领取人", "rows": who + [
            row("开户银行", answers.get("r_bank"), "recipient", "r_bank"),
            row("银行卡号或账号", _masked(answers.get("r_account"), mask_account), "recipient", "r_account"),
        ]})
    return sections


def _check_page(request: Request, app: Application, draft: drafts.Draft, facts: drafts.ApplicantFacts,
                errors: dict[str, str]) -> Response:
    answers = draft.answers
    names = [s.name for s in steps.applicable(answers)]
    return render(request, "citizen/apply_check.html", {
        "sections": _summary(answers, facts),
        "errors": errors,
        "submit_key": app.submit_key,
        "declaration": steps.DECLARATION,
        "review": steps.recipient_review(answers),
        "luhn_confirmed": answers.get("r_account_confirm") == "yes" and steps.wants_pension(answers),
        "back_url": f"/apply/step/{names[-2]}",
        "caption": f"一表申请 · 第{len(names)}步，共{len(names)}步",
    })


@page
@citizen_only
def submit_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    assert form is not None
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    key = str(form.get("submit_key") or "")
    # Declaration first (a re-shown page keeps everything else as it was).
    with svc.db() as session:
        app = session.query(Application).filter(Application.submit_key == key).one_or_none()
        if app is None or app.account_id != user.account_id:
            raise _not_found()
        if app.status != "draft":
            return redirect(f"/apply/{app.id}/done")
        if form.get("declaration") != "yes":
            facts = _facts(session, request, user)
            draft = drafts.read_draft(svc.vault, app)
            return _check_page(request, app, draft, facts,
                               {"declaration": "请阅读申请人承诺，并勾选“我已阅读并同意以上承诺”"})
    try:
        with transaction(svc.db) as session:
            app = session.query(Application).filter(Application.submit_key == key).one()
            draft = drafts.read_draft(svc.vault, app)
            if app.status == "draft" and draft.answers.get("declaration") != "yes":
                draft.answers["declaration"] = "yes"
                drafts.write_draft(svc.vault, app, draft)
                session.flush()
            facts = _facts(session, request, user)
            result = submission.submit(session, svc.vault, account_id=user.account_id, submit_key=key,
                                       applicant=facts, actor=_actor(request, user))
            if result.outcome == "duplicate":
                assert result.duplicate is not None
                ensure_within(request, "in_progress", account_key(user.account_id))
                drafts.log_in_progress_check(session, _actor(request, user), result.duplicate)
                return _duplicate_page(request, result.duplicate, user, draft.answers)
            if result.outcome == "incomplete":
                return redirect(f"/apply/step/{result.step}")
            if result.outcome == "unknown" or result.application is None:
                raise _not_found()
            app_id = result.application.id
    except (OperationalError, IntegrityError, StaleDataError):
        # Another request (double tap, second tab) submitted this draft at the same moment.
        with svc.db() as session:
            app = session.query(Application).filter(Application.submit_key == key).one_or_none()
            if app is None or app.status == "draft":
                raise
            app_id = app.id
    return redirect(f"/apply/{app_id}/done")


# --- confirmation --------------------------------------------------------------------------


def _owned_or_404(session: Session, app_id: int, user: SessionUser) -> Application:
    try:
        return drafts.owned(session, app_id, user.account_id)
    except drafts.NotFound:
        raise _not_found() from None


def _matter_or_none(cat: Any, code: str) -> Any:
    """The catalogue's matter, or None when it was removed since (then the code is shown)."""
    try:
        return cat.matter(code)
    except KeyError:
        return None


def _matter_name(cat: Any, code: str) -> str:
    matter = _matter_or_none(cat, code)
    return matter.name if matter else code


@page
@citizen_only
def done_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    svc = services(request)
    cat = default_catalogue()
    with svc.db() as session:
        app = _owned_or_404(session, int(request.path_params["app_id"]), user)
        if app.status == "draft":
            raise _not_found()
        answers = drafts.read_draft(svc.vault, app).answers
        by_id = {t.id: t for t in app.tasks}
        promised = deadlines.promises(app)
        rows = []
        for task in sorted(app.tasks, key=lambda t: (promised[t.matter_code].due or date.max, t.id)):
            matter = _matter_or_none(cat, task.matter_code)
            waits = [_matter_name(cat, by_id[d.depends_on_id].matter_code) for d in task.depends_on
                     if d.depends_on_id in by_id]
            try:
                department = cat.department(task.department).name
            except KeyError:
                department = task.department
            rows.append({
                "matter": matter.name if matter else task.matter_code,
                "summary": matter.summary if matter else "",
                "department": department,
                "deadline": promise_text(promised[task.matter_code]),
                "waits": waits,
                "note": matter.note if matter else "",
                "automatic": any(m.matter_code == task.matter_code and m.automatic for m in app.matters),
            })
        recipient = next((p for p in app.parties if p.role == "recipient"), None)
        ctx = {
            "app": app,
            "rows": rows,
            "submitted_on": steps.fmt_date(app.submitted_at.astimezone(steps.CHINA).date()) if app.submitted_at else "",
            "deceased_name": answers.get("d_name", ""),
            "review": bool(recipient and recipient.needs_review),
            "account_masked": mask_account(svc.vault.open(recipient.bank_account_enc) or "") if recipient else "",
            "phone_masked": mask_phone(_facts(session, request, user).phone or answers.get("a_phone") or ""),
        }
    return render(request, "citizen/confirmation.html", ctx)


# --- correction mode (a department returned the application for one step) ------------------


CORRECTION_CONFLICT = ("这份申请刚刚有了变化：可能您在另一个窗口里已经提交了修改，或者工作人员正在处理。"
                       "您这次的修改没有保存。请先看看办理进度里的最新情况，如果还需要修改，再提交一次。")


@page
@limited("step_save", per="account", methods=("POST",))
@_spends_in_progress_check
@citizen_only
def fix_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    try:
        return _fix_page(request, form, user)
    except (StaleDataError, IntegrityError) as exc:
        if not is_conflict(exc):
            raise
        app_id = int(request.path_params["app_id"])
        return error_page(request, 409, CORRECTION_CONFLICT, retry_url=f"/my/{app_id}", retry_label="查看办理进度")


def _fix_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    step = _step_or_404(request.path_params["step"])
    if step.name == "check":
        raise _not_found()
    svc = services(request)
    with transaction(svc.db) as session:
        app = _owned_or_404(session, int(request.path_params["app_id"]), user)
        if not submission.correctable(app, step.name):
            raise _not_found()
        facts = _facts(session, request, user)
        answers = drafts.read_draft(svc.vault, app).answers
        requests = queues.correction_requests(app, step.name)
        if form is None:
            values = _values_for(step, answers)
            return render(request, f"citizen/apply_{step.name}.html",
                          _step_context(request, step, answers, values, {}, facts, mode="fix", app_id=app.id,
                                        requests=requests))
        posted = steps.form_dict(form, step)
        ctx = steps.Ctx(answers=answers, applicant=_applicant(facts))
        values, errors = steps.validate(step, posted, ctx)
        if not errors:
            errors = _fix_refusal(session, svc, app, step, answers, values, _actor(request, user))
        if not errors:
            # The change must keep the rest of the application consistent (e.g. a new date of
            # death must still fit the certificate number).
            trial = {k: v for k, v in answers.items() if k not in step.fields} | values
            done = [s.name for s in steps.applicable(trial)]
            broken = steps.first_invalid(trial, done, _applicant(facts))
            if broken is not None:
                errors[step.fields[0]] = (
                    f"这样修改后，“{steps.BY_NAME[broken].title}”里已填的内容就对不上了。"
                    "请核对后再提交；如有疑问，请拨打 12345 或到乡镇（街道）窗口咨询"
                )
        if errors:
            return render(request, f"citizen/apply_{step.name}.html",
                          _step_context(request, step, answers, posted, errors, facts, mode="fix", app_id=app.id,
                                        requests=requests))
        try:
            submission.apply_correction(session, svc.vault, app, step, values, facts, _actor(request, user))
        except submission.CorrectionRefused as refused:
            errors = {refused.field if refused.field in step.fields else step.fields[0]: refused.message}
            return render(request, f"citizen/apply_{step.name}.html",
                          _step_context(request, step, answers, posted, errors, facts, mode="fix", app_id=app.id,
                                        requests=requests))
        app_id = app.id
    return redirect(f"/my/{app_id}")


DUPLICATE_IN_FIX = ("这个身份证号码的逝者已经有一份申请在办理中，同一位逝者只需要申请一次，不能改成这个号码。"
                    "请核对号码；如有疑问，请联系乡镇（街道）窗口，或拨打 12345 政务服务热线。")


def _fix_refusal(session: Session, svc: Services, app: Application, step: steps.Step,
                 answers: dict[str, Any], values: dict[str, Any], actor: Actor) -> dict[str, str]:
    """Changes a correction may not make online, as field errors (the typed values are kept)."""
    conflict = submission.correction_conflict(answers, submission.corrected_answers(answers, step, values))
    if conflict is not None:
        return {conflict.field if conflict.field in step.fields else step.fields[0]: conflict.message}
    new_id = values.get("d_id")
    if new_id and drafts.find_in_progress(session, svc.vault, actor, str(new_id), exclude_id=app.id) is not None:
        return {"d_id": DUPLICATE_IN_FIX}
    return {}


def routes(settings: Settings, svc: Services) -> list[Route]:
    return [
        Route("/apply", start_page, methods=["GET"]),
        Route("/apply/start", start_post, methods=["POST"]),
        Route("/apply/saved", saved_page, methods=["GET"]),
        Route("/apply/in-progress", in_progress_page, methods=["GET"]),
        Route("/apply/submit", submit_post, methods=["POST"]),
        Route("/apply/step/{step}", step_page, methods=["GET", "POST"]),
        Route("/apply/step/{step}/check", step_field_check, methods=["POST"]),
        Route("/apply/{app_id:int}/done", done_page, methods=["GET"]),
        Route("/apply/{app_id:int}/fix/{step}", fix_page, methods=["GET", "POST"]),
        Route("/apply/{app_id:int}/fix/{step}/check", step_field_check, methods=["POST"]),
    ]
