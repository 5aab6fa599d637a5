"""/admin/report: 死讯简况 — the 12345 operator or a grid worker reports a death in a short form
(portal/services/death_report.py): the proactive case opens (or the known one is joined), the
health centre gets the home visit, the next of kin a text with the link."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain.reference import APPLICANT_RELATIONS, SCENARIOS
from portal.services import death_report
from portal.services.casework import catalogue
from portal.services.errors import Invalid
from portal.web.backoffice import flash, page_context
from portal.web.common import Services, page, redirect, render, services

REPORTERS = (Role.HOTLINE, Role.GRID_WORKER, Role.ADMIN)
FIELDS = ("d_name", "d_id", "d_hukou", "place", "death_date", "death_time", "scenario", "kin_name", "kin_phone",
          "kin_relation", "reporter")


def _page(request: Request, staff: Staff, *, status_code: int = 200, **extra: Any) -> Response:
    cat = catalogue()
    counties = [c for c in cat.counties if staff.county_code in (None, c.code)]
    ctx = page_context(request, staff, scenarios=[(s.code, s.label) for s in SCENARIOS],
                       relations=APPLICANT_RELATIONS,
                       hukou_groups=[(c.name, [(f"{c.code}:{t}", t) for t in c.townships]) for c in counties], **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {"reporter": staff.name, "scenario": "home"})
    return render(request, "backoffice/report.html", ctx, status_code=status_code)


@page
@staff_only(*REPORTERS)
def report_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    if form is None:
        return _page(request, staff)
    values = {k: str(form.get(k) or "")[:200] for k in FIELDS}
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            done = death_report.report(session, svc.vault, staff, staff.role.value, death_report.ReportForm(**values),
                                       base_url=svc.settings.base_url,
                                       ip=request.client.host if request.client else None)
    except Invalid as exc:
        return _page(request, staff, status_code=400, errors=exc.errors, values=values)
    words = ("已主动启动办理" if done.created else "这位逝者的去世信息此前已有报告，本次报告已并入该案件")
    visit = f"；卫生院须在{done.visit_due}上门" if done.visit_due else ""
    texted = "；已短信告知家属" if done.texted else ""
    flash(request, f"已收到报告，编号 {done.number}：{words}{visit}{texted}。")
    return redirect("/admin/report")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [Route("/admin/report", report_page, methods=["GET", "POST"])]
