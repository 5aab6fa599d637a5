"""一表申请, correcting: the window or a department sent the application back for a step, and the
family changes that step online (what may not change online is refused, with the way to ask)."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.db import is_conflict, transaction
from portal.domain import application_form as steps
from portal.domain.delegation import may_change
from portal.models import Application
from portal.services import applications as drafts
from portal.services import queues, sharing, submission
from portal.services.errors import NotFound
from portal.web.apply_view import (
    actor,
    applicant,
    facts_of,
    not_found,
    owned_or_404,
    render_step,
    spends_in_progress_check,
    step_context,
    step_or_404,
    values_for,
)
from portal.web.common import page, redirect, services
from portal.web.site import error_page
from portal.web.throttling import limited

CORRECTION_CONFLICT = ("这份申请刚刚有了变化：可能您在另一个窗口里已经提交了修改，或者工作人员正在处理。"
                       "您这次的修改没有保存。请先看看办理进度里的最新情况，如果还需要修改，再提交一次。")


@page
@limited("step_save", per="account", methods=("POST",))
@spends_in_progress_check
@citizen_only
def fix_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    try:
        return _fix_page(request, form, user)
    except (StaleDataError, IntegrityError) as exc:
        if not is_conflict(exc):
            raise
        app_id = int(request.path_params["app_id"])
        return error_page(request, 409, CORRECTION_CONFLICT, retry_url=f"/my/{app_id}", retry_label="查看办理进度")


def _case_and_applicant(session: Session, request: Request, user: SessionUser,
                        step: str) -> tuple[Application, drafts.ApplicantFacts]:
    """The case and its applicant: the family's own, or a case whose applicant authorised this
    person as their agent (委托) for this step (portal/domain/delegation.py); 404 otherwise."""
    try:
        app, role = sharing.shared_case(session, int(request.path_params["app_id"]), user.account_id)
    except NotFound:
        raise not_found() from None
    if role == "owner":
        return owned_or_404(session, app.id, user), facts_of(session, request, user)
    if not may_change(role, step) or app.account_id is None:
        raise not_found()
    return app, drafts.applicant_facts(session, services(request).vault, app.account_id)


def _fix_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    step = step_or_404(request.path_params["step"])
    if step.name == "check":
        raise not_found()
    svc = services(request)
    with transaction(svc.db) as session:
        app, facts = _case_and_applicant(session, request, user, step.name)
        if not submission.correctable(app, step.name):
            raise not_found()
        answers = drafts.read_draft(svc.vault, app).answers
        requests = queues.correction_requests(app, step.name)
        if form is None:
            return render_step(request, step, step_context(step, answers, values_for(step, answers), {}, facts,
                                                           mode="fix", app_id=app.id, requests=requests))
        posted = steps.form_dict(form, step)
        values, errors = steps.validate(step, posted, steps.Ctx(answers=answers, applicant=applicant(facts)))
        if not errors:
            errors = submission.correct_step(session, svc.vault, app, step, values, facts, actor(request, user))
        if errors:
            return render_step(request, step, step_context(step, answers, posted, errors, facts, mode="fix",
                                                           app_id=app.id, requests=requests))
        app_id = app.id
    return redirect(f"/my/{app_id}")
