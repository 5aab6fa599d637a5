"""Receipt downloads and the public verification page.

GET  /my/<id>/receipt.pdf                  the family copy, for the applicant only (others: 404)
POST /admin/applications/<id>/archive.pdf  the archive copy for staff who may view the application,
                                           with a reason; the numbers they may reveal in full, the
                                           rest masked; logged like a reveal (GET: the form's page)
GET  /verify/<token>                       public: genuine? current? 编号, date, masked name, status

Handlers are sync and run in the thread pool (`page`), so rendering never blocks the loop; they
issue the receipt token in a short transaction and render after it has committed.
"""
from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.permissions import Staff, staff_only
from auth.session import current_user
from portal.db import transaction
from portal.services import disclosure, receipts
from portal.services.errors import Invalid, NotFound
from portal.web.backoffice import application_page  # the page that carries the archive form
from portal.web.common import Services, page, redirect, render, services
from portal.web.throttling import limited


def pdf_response(pdf: bytes, filename: str) -> Response:
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
        job = receipts.family_copy(session, svc.vault, svc.settings, _app_id(request), user.account_id)
    if job is None:
        raise HTTPException(status_code=404)
    pdf = receipts.render_pdf(job, svc.vault)  # after the commit: no write lock while rendering
    return pdf_response(pdf, receipts.download_filename(job.view.number, "family"))


@page
@limited("download", per="account")
@staff_only()
def archive_pdf(request: Request, form: FormData | None, staff: Staff) -> Response:
    app_id = _app_id(request)
    svc = services(request)
    if form is None:  # the copy needs a reason: the form is on the application page
        try:
            with svc.db() as session:
                disclosure.viewable_application(session, app_id, staff)
        except NotFound:
            raise HTTPException(status_code=404) from None
        return redirect(f"/admin/applications/{app_id}#archive")
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        with transaction(svc.db) as session:
            copy = disclosure.print_archive(session, app_id, staff, values.get("archive_reason", ""), svc.vault, svc.settings,
                                    ip=request.client.host if request.client else None)
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        return application_page(request, staff, app_id, status_code=400, errors=exc.errors, values=values,
                                 error_form="archive")
    pdf = receipts.render_pdf(copy.job, svc.vault)  # after the commit: no write lock while rendering
    return pdf_response(pdf, receipts.download_filename(copy.number, "archive"))


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
        Route("/admin/applications/{app_id:int}/archive.pdf", archive_pdf, methods=["GET", "POST"], name="archive_pdf"),
        Route("/verify/{token:str}", verify_page, methods=["GET"], name="verify_receipt"),
    ]
