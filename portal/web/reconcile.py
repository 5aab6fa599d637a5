"""/admin/reconcile: the 月对账 page. Administrators see a county (or the whole city) and close a
county's month once every department confirmed; officers see their county and confirm their part.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import clock
from portal.domain import reconciliation as rules
from portal.services import reconciliation
from portal.services.casework import catalogue, county_name, department_name
from portal.services.errors import Invalid, WorkflowError
from portal.web.backoffice import flash, page_context
from portal.web.common import Services, page, redirect, render, services

STATE_KINDS = {"done": "done", "refused": "refused", "reported": "done", "open": "active", "none": "waiting"}


def _county(staff: Staff, raw: str | None) -> str | None:
    if staff.county_code:
        return staff.county_code
    known = {c.code for c in catalogue().counties}
    return raw if raw in known else None


def _page(request: Request, staff: Staff, month: str, county: str | None, *, status_code: int = 200,
          errors: dict[str, str] | None = None, problem: str | None = None) -> Response:
    svc = services(request)
    try:
        with svc.db() as session:
            view = reconciliation.view(session, svc.vault, month, county,
                                       overdue_after=svc.settings.reconcile_overdue_workdays)
    except Invalid as exc:
        month, errors, status_code = reconciliation.previous_month(), exc.errors, 400
        with svc.db() as session:
            view = reconciliation.view(session, svc.vault, month, county,
                                       overdue_after=svc.settings.reconcile_overdue_workdays)
    ctx: dict[str, Any] = page_context(
        request, staff, v=view, columns=rules.COLUMNS, words=rules.EXCEPTION_WORDS, kinds=STATE_KINDS,
        department_name=department_name, cn_date=clock.cn_date, cn_datetime=clock.cn_datetime,
        may_choose_county=not staff.county_code, errors=errors or {}, problem=problem,
        may_confirm=(staff.role == "officer" and staff.department in rules.CONFIRMING and view.status == "open"),
        may_close=(staff.role == "admin" and bool(county) and view.status == "open"),
        export_query=urlencode({"what": "reconcile", "month": view.month, **({"county": county} if county else {})}),
        overdue_after=svc.settings.reconcile_overdue_workdays,
        county_names={c.code: c.name for c in catalogue().counties})
    return render(request, "backoffice/reconcile.html", ctx, status_code=status_code)


@page
@staff_only(Role.OFFICER, Role.ADMIN)
def reconcile_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    params = request.query_params
    month = (params.get("month") or reconciliation.previous_month())[:7]
    return _page(request, staff, month, _county(staff, params.get("county")))


def _values(form: FormData | None) -> dict[str, str]:
    return {k: str(v) for k, v in (form or {}).items() if isinstance(v, str)}


def _act(request: Request, staff: Staff, form: FormData | None, closing: bool) -> Response:
    values = _values(form)
    month = values.get("month", "")[:7]
    county = _county(staff, values.get("county"))
    svc = services(request)
    ip = request.client.host if request.client else None
    try:
        with transaction(svc.db) as session:
            if closing:
                reconciliation.close(session, svc.vault, month, county or "", staff,
                                     overdue_after=svc.settings.reconcile_overdue_workdays, ip=ip)
                done = f"已结账：{county_name(county)} {month} 的月对账已冻结，之后的变化会作为更正列出。"
            else:
                reconciliation.confirm(session, month, staff, values.get("note"), ip=ip)
                done = f"已确认{department_name(staff.department)}在 {month} 月对账中的部分。"
    except Invalid as exc:
        return _page(request, staff, month if "month" not in exc.errors else reconciliation.previous_month(), county,
                     status_code=400, errors=exc.errors)
    except WorkflowError as exc:
        return _page(request, staff, month, county, status_code=409, problem=exc.message)
    flash(request, done)
    return redirect("/admin/reconcile?" + urlencode({"month": month, **({"county": county} if county else {})}))


@page
@staff_only(Role.OFFICER)
def confirm_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _act(request, staff, form, closing=False)


@page
@staff_only(Role.ADMIN)
def close_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _act(request, staff, form, closing=True)


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin/reconcile", reconcile_page, methods=["GET"]),
        Route("/admin/reconcile/confirm", confirm_post, methods=["POST"]),
        Route("/admin/reconcile/close", close_post, methods=["POST"]),
    ]
