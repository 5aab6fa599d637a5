"""Receipt downloads and the public verification page.

GET /my/<id>/receipt.pdf                  the family copy, for the applicant only (others: 404)
GET /admin/applications/<id>/archive.pdf  the archive copy (full numbers), staff who may view
                                          the application; each print is an audit event
GET /verify/<token>                       public: genuine? current? 编号, date, masked name, status

Handlers are sync and run in the thread pool (`page`), so rendering never blocks the loop; they
issue the receipt token in a short transaction and render after it has committed.
"""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.permissions import Staff, staff_only
from auth.session import current_user
from portal.db import transaction
from portal.models import Application, DepartmentTask
from portal.services import receipts
from portal.services.events import Actor, record
from portal.web.common import Services, page, render, services
from portal.web.throttling import limited


def _pdf_response(pdf: bytes, filename: str) -> Response:
    ascii_name = "receipt-" + "".join(ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "-."))
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": disposition,
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })


def _app_id(request: Request) -> int:
    raw = request.path_params["app_id"]
    return int(raw)


@page
@limited("download", per="account")
def family_pdf(request: Request, form: FormData | None) -> Response:
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=404)
    svc = services(request)
    with transaction(svc.db) as session:
        application = session.get(Application, _app_id(request))
        if application is None or application.account_id != user.account_id or not application.number:
            raise HTTPException(status_code=404)
        job = receipts.prepare_pdf(session, svc.vault, application, svc.settings, copy="family")
        number = application.number
    pdf = receipts.render_pdf(job, svc.vault)  # after the commit: no write lock while rendering
    return _pdf_response(pdf, receipts.download_filename(number, "family"))


@page
@limited("download", per="account")
@staff_only()
def archive_pdf(request: Request, form: FormData | None, staff: Staff) -> Response:
    svc = services(request)
    with transaction(svc.db) as session:
        application = session.get(Application, _app_id(request))
        if application is None or not application.number:
            raise HTTPException(status_code=404)
        departments = set(session.scalars(select(DepartmentTask.department)
                                          .where(DepartmentTask.application_id == application.id)))
        if not staff.may_view_application(application.county_code, departments):
            raise HTTPException(status_code=404)
        job = receipts.prepare_pdf(session, svc.vault, application, svc.settings, copy="archive")
        ip = request.client.host if request.client else None
        record(session, Actor("staff", staff.id, staff.name, ip), "staff:receipt:print",
               f"打印登记表存档联（编号 {application.number}，含完整证件号码）",
               application_id=application.id, after={"version": application.version})
        number = application.number
    pdf = receipts.render_pdf(job, svc.vault)  # after the commit: no write lock while rendering
    return _pdf_response(pdf, receipts.download_filename(number, "archive"))


@page
@limited("verify", per="ip")
def verify_page(request: Request, form: FormData | None) -> Response:
    token = request.path_params["token"]
    svc = services(request)
    with svc.db() as session:
        result = receipts.verify(session, svc.vault, svc.settings, token)
    status = 200 if result else 404
    response = render(request, "receipt/verify.html", {"result": result}, status_code=status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def routes(settings: object, svc: Services) -> list[Route]:
    return [
        Route("/my/{app_id:int}/receipt.pdf", family_pdf, methods=["GET"], name="receipt_pdf"),
        Route("/admin/applications/{app_id:int}/archive.pdf", archive_pdf, methods=["GET"], name="archive_pdf"),
        Route("/verify/{token:str}", verify_page, methods=["GET"], name="verify_receipt"),
    ]
