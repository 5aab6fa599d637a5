"""/admin/proxy: 代办 — a window clerk fills in the one application for a family at the window
or on the phone, with the family's own step pages and checks (portal/web/apply_steps.py), then
prints the 登记表 for the applicant's signature. Only who acts differs (apply_view.Acting)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import application_form as steps
from portal.domain.documents import ID_TYPES
from portal.domain.idcard import mask_id
from portal.models import Application
from portal.services import applications as drafts
from portal.services import disclosure, intake, proxy, receipts
from portal.services.casework import staff_actor
from portal.services.errors import Invalid, NotFound
from portal.web.apply_check import DECLARATION_MISSING, check_page
from portal.web.apply_steps import field_check, fill_step
from portal.web.apply_view import Acting, masked, render_step, step_context
from portal.web.backoffice import flash, page_context
from portal.web.common import Services, page, redirect, render, services
from portal.web.receipt import pdf_response

CLERKS = (Role.WINDOW_CLERK, Role.ADMIN)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _start_page(request: Request, staff: Staff, *, status_code: int = 200, **extra: Any) -> Response:
    with services(request).db() as session:
        open_cases = proxy.open_cases(session, staff)
    ctx = page_context(request, staff, channels=proxy.PROXY_CHANNELS, id_types=ID_TYPES, consent_ways=proxy.CONSENT_WAYS,
                       consent_text=proxy.CONSENT_TEXT, open_cases=open_cases, **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {"id_type": "1", "channel": "walk_in"})
    return render(request, "backoffice/proxy.html", ctx, status_code=status_code)


@page
@staff_only(*CLERKS)
def start_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    """代办 start: the applicant's identity document, phone and consent; then the family's steps."""
    if form is None:
        return _start_page(request, staff)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    start = proxy.ProxyStart(channel=values.get("channel", ""), name=values.get("p_name", ""),
                             id_type=values.get("id_type", ""), id_no=values.get("id_no", ""),
                             phone=values.get("p_phone", ""), consent_how=values.get("consent_how", ""))
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            app = proxy.start(session, svc.vault, staff, start, ip=_ip(request))
            app_id = app.id
    except Invalid as exc:
        return _start_page(request, staff, status_code=400, errors=exc.errors, values=values)
    return redirect(f"/admin/proxy/{app_id}/step/scenario")


def _acting(request: Request, session: Session, staff: Staff, app: Application,
            row: Any) -> Acting:
    svc = services(request)
    facts = proxy.applicant_of(svc.vault, row)
    base = f"/admin/proxy/{app.id}"
    document = proxy.applicant_document_masked(session, svc.vault, app)

    def in_progress(other: Application) -> Response:
        draft = drafts.read_draft(svc.vault, app)
        number = other.number if other.number and staff.may_accept(other.county_code) else None
        message = (f"这位逝者已有申请在办理（编号 {number}），请打开那份申请，不要重复登记" if number else
                   "这位逝者已有申请在办理，请不要重复登记；可以请家属提供编号，或到“查找案件”中按逝者身份证号查找")
        step = steps.BY_NAME["deceased"]
        ctx = step_context(step, draft.answers, draft.answers, {"d_id": message}, facts, mode="proxy",
                           app_id=app.id, base=base)
        return render_step(request, step, {**ctx, "applicant_document": document})

    return Acting(base, facts, staff_actor(staff, _ip(request)), mode="proxy", saved_url="/admin/proxy",
                  on_in_progress=in_progress,
                  extra={"applicant_document": document, "applicant": facts,
                         "applicant_id_masked": masked(facts.id_card, mask_id) or ""})


def _case(session: Session, staff: Staff, request: Request) -> tuple[Application, Any]:
    try:
        return proxy.case_for(session, staff, int(request.path_params["proxy_id"]))
    except NotFound:
        raise HTTPException(status_code=404) from None


@page
@staff_only(*CLERKS)
def step_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    svc = services(request)
    with transaction(svc.db) as session:
        app, row = _case(session, staff, request)
        return fill_step(request, form, session, app, _acting(request, session, staff, app, row))


@page
@staff_only(*CLERKS)
def step_check(request: Request, form: FormData | None, staff: Staff) -> Response:
    assert form is not None
    svc = services(request)
    with svc.db() as session:
        app, row = _case(session, staff, request)
        answers = drafts.read_draft(svc.vault, app).answers
        facts = proxy.applicant_of(svc.vault, row)
    return field_check(request, form, answers, facts, mode="proxy", app_id=app.id, base=f"/admin/proxy/{app.id}")


@page
@staff_only(*CLERKS)
def submit_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    """Submit for the family (the same intake as theirs); then the case page, to print and accept."""
    assert form is not None
    svc = services(request)
    with transaction(svc.db) as session:
        app, row = _case(session, staff, request)
        acting = _acting(request, session, staff, app, row)
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
        if result.outcome == "duplicate":
            return check_page(request, app.submit_key, draft, acting.facts,
                              {"declaration": "这位逝者已有申请在办理，不能重复提交；请到“查找案件”中按逝者身份证号查找"},
                              acting=acting)
        if result.outcome != "submitted" or result.application is None:
            raise HTTPException(status_code=404)
        case = result.application
        joined = case.id != app.id  # the death was reported before (主动办): the family joined that case
        if joined:
            proxy.moved_to(session, row, case)
        number, case_id = case.number, case.id
    words = "，并入了部门已主动启动的办理" if joined else ""
    flash(request, f"已代家属提交申请{words}，编号 {number}。请打印登记表请申请人签名，核对无误后点“受理”。")
    return redirect(f"/admin/applications/{case_id}")


@page
@staff_only(*CLERKS)
def registration_pdf(request: Request, form: FormData | None, staff: Staff) -> Response:
    """The 登记表 (附件1) to sign at the window: numbers masked as on screen, the declaration, a
    signature line. Every print is in the case's log."""
    svc = services(request)
    app_id = int(request.path_params["app_id"])
    try:
        with transaction(svc.db) as session:
            app = disclosure.viewable_application(session, app_id, staff)
            if not app.number:
                raise NotFound()
            job = receipts.prepare_pdf(session, svc.vault, app, svc.settings, copy="family")
            proxy.record_print(session, staff, app, ip=_ip(request))
    except NotFound:
        raise HTTPException(status_code=404) from None
    pdf = receipts.render_pdf(job, svc.vault)  # after the commit: no write lock while rendering
    return pdf_response(pdf, receipts.download_filename(job.view.number, "family"))


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin/proxy", start_page, methods=["GET", "POST"]),
        Route("/admin/proxy/{proxy_id:int}/step/{step}", step_page, methods=["GET", "POST"]),
        Route("/admin/proxy/{proxy_id:int}/step/{step}/check", step_check, methods=["POST"]),
        Route("/admin/proxy/{proxy_id:int}/submit", submit_post, methods=["POST"]),
        Route("/admin/applications/{app_id:int}/form.pdf", registration_pdf, methods=["GET"]),
    ]
