"""/apply/<id>/continue: a relative the applicant authorised (委托) continues the applicant's draft
with the same step pages and checks (apply_steps.fill_step), and may submit it for them. The
applicant stays the applicant (their name, 身份证号 and phone); every save and the submission are
logged under the agent's name. The recipient step stays the applicant's (domain/delegation.py)."""
from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.config import Settings
from portal.db import transaction
from portal.domain import status as st
from portal.domain.delegation import may_change
from portal.models import Application
from portal.services import applications as drafts
from portal.services import intake, sharing
from portal.services.errors import NotFound
from portal.web.apply_check import DECLARATION_MISSING, check_page
from portal.web.apply_steps import field_check, fill_step
from portal.web.apply_view import Acting, actor, step_or_404
from portal.web.common import Services, page, redirect, services
from portal.web.site import error_page
from portal.web.throttling import limited

AGENT_MAY_NOT = ("丧葬费、抚恤金的领取人和银行账号，需要申请人本人填写。请告诉申请人登录后填写这一步，"
                 "其他内容您已经帮忙填好，都已保存。")


def _acting(request: Request, session: Session, user: SessionUser) -> tuple[Application, Acting]:
    """The draft and who acts on it: its applicant or their agent; 404 for anyone else."""
    try:
        app, role = sharing.shared_case(session, int(request.path_params["draft_id"]), user.account_id)
    except NotFound:
        raise HTTPException(status_code=404) from None
    if app.status != st.APP_DRAFT or app.account_id is None or role not in ("owner", "agent"):
        raise HTTPException(status_code=404)
    facts = drafts.applicant_facts(session, services(request).vault, app.account_id)
    return app, Acting(f"/apply/{app.id}/continue", facts, actor(request, user), saved_url="/my",
                       extra={"agent": role == "agent"})


@page
@limited("step_save", per="account", methods=("POST",))
@citizen_only
def step_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    step = step_or_404(request.path_params["step"])
    with transaction(request.app.state.services.db) as session:
        app, acting = _acting(request, session, user)
        if acting.extra["agent"] and not may_change("agent", step.name):
            # the applicant chooses who is paid and the bank account (注3): nothing is shown or saved
            return error_page(request, 403, AGENT_MAY_NOT, retry_url="/my", retry_label="返回我的申请")
        return fill_step(request, form, session, app, acting)


@page
@citizen_only
def step_check(request: Request, form: FormData | None, user: SessionUser) -> Response:
    """htmx: the field just left, checked as the applicant's own page does."""
    assert form is not None
    svc = services(request)
    with svc.db() as session:
        app, acting = _acting(request, session, user)
        answers = drafts.read_draft(svc.vault, app).answers
    return field_check(request, form, answers, acting.facts, mode="draft", app_id=None, base=acting.base)


@page
@citizen_only
def submit_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    assert form is not None
    svc = services(request)
    with transaction(svc.db) as session:
        app, acting = _acting(request, session, user)
        draft = drafts.read_draft(svc.vault, app)
        if form.get("declaration") != "yes":
            return check_page(request, app.submit_key, draft, acting.facts, {"declaration": DECLARATION_MISSING},
                              acting=acting)
        draft.answers["declaration"] = "yes"
        drafts.write_draft(svc.vault, app, draft)
        session.flush()
        result = intake.submit(session, svc.vault, account_id=app.account_id, submit_key=app.submit_key or "",
                               applicant=acting.facts, actor=acting.actor)
        if result.outcome == "incomplete":
            return redirect(f"{acting.base}/step/{result.step}")
        if result.outcome != "submitted" or result.application is None:
            return check_page(request, app.submit_key, draft, acting.facts,
                              {"declaration": "这份申请没能提交：这位逝者可能已有申请在办理。请联系申请人，或拨打12345咨询"},
                              acting=acting)
        app_id = result.application.id
    return redirect(f"/my/{app_id}")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/apply/{draft_id:int}/continue/step/{step}", step_page, methods=["GET", "POST"]),
        Route("/apply/{draft_id:int}/continue/step/{step}/check", step_check, methods=["POST"]),
        Route("/apply/{draft_id:int}/continue/submit", submit_post, methods=["POST"]),
    ]
