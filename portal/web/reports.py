"""/admin/stats: statistics with server-drawn charts (administrators: the city or a county; officers:
their department), and their CSV / XLSX export. Filters (county, period) stay in the URL.
"""
from __future__ import annotations

from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import clock
from portal.domain import status as st
from portal.services import export
from portal.services import statistics as stats_service
from portal.services.casework import county_name
from portal.services.errors import Invalid
from portal.services.statistics import Statistics
from portal.web import charts
from portal.web.backoffice import page_context
from portal.web.common import Services, page, render, services


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


def chart_views(s: Statistics) -> dict[str, Markup]:
    """The page's charts, drawn from the same figures its tables print."""
    weeks = [f"{w.week.month}/{w.week.day}" for w in s.weeks]
    series = [charts.Series(label, [w.counts.get(code, 0) for w in s.weeks]) for code, label in s.channels]
    timed = [t for t in s.timings if t.finished]
    out = {
        "weeks": charts.stacked_columns(
            "c-weeks", "每周申请数（按渠道）", "每周提交的申请数，按网上申请、窗口代办、电话代办等渠道叠加；数字见下表。",
            weeks, series),
        "timings": charts.bars(
            "c-timings", "各事项办结用时中位数（工作日）", "每个事项办结用时的中位数，红线为承诺时限；数字见下表。",
            [charts.Bar(t.matter_name, t.median_days or 0.0, float(t.limit_days),
                        f"{_days(t.median_days)} 天（时限 {t.limit_days}）") for t in timed],
            mark_label="红线：承诺时限"),
        "overdue": charts.bars(
            "c-overdue", "各部门当前超期件数", "各部门正在办理且已超过办结期限的事项数；数字见下表。",
            [charts.Bar(o.department_name, float(o.total), text=f"{o.total} 件") for o in s.overdue]),
        "corrections": charts.bars(
            "c-corrections", "各事项退回补正次数", "各事项退回家属补正的次数；数字见下表。",
            [charts.Bar(c.matter_name, float(c.returns), text=f"{c.returns} 次") for c in s.corrections]),
    }
    cert = s.certificate
    if cert.cases:
        out["certificate"] = charts.bars(
            "c-cert", "死亡证明核验用时（小时）", "从窗口受理到卫健办结死亡证明核验的小时数，红线为宁海 3 小时；数字见下表。",
            [charts.Bar("中位数", cert.median_hours or 0.0, cert.headline_hours, f"{_days(cert.median_hours)} 小时"),
             charts.Bar("90%的案件", cert.p90_hours or 0.0, cert.headline_hours, f"{_days(cert.p90_hours)} 小时")],
            mark_label="红线：宁海 3 小时")
    return out


def query_of(request: Request) -> dict[str, str]:
    return {k: v[:20] for k, v in request.query_params.items() if k in ("county", "from", "to")}


@page
@staff_only(Role.OFFICER, Role.ADMIN)
def stats_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    params = query_of(request)
    scope = stats_service.scope_for(staff, staff.role, params)
    with services(request).db() as session:
        figures = stats_service.statistics(session, scope)
    export_query = urlencode({"what": "stats", "county": scope.county or "", "from": scope.start.isoformat(),
                              "to": scope.end.isoformat()})
    ctx = page_context(request, staff, s=figures, scope=scope, charts=chart_views(figures), days=_days,
                       cn_date=clock.cn_date, export_query=export_query,
                       may_choose_county=staff.role == "admin" and not staff.county_code,
                       county_label=county_name(scope.county) or "全市", step_labels=st.CORRECTION_STEPS)
    return render(request, "backoffice/stats.html", ctx)


# --- downloads ------------------------------------------------------------------------------------

def _export_request(request: Request, values: dict[str, str], staff: Staff) -> tuple[export.Exporter, export.Request, str]:
    what = values.get("what") or "queue"
    try:
        found = export.exporter_for(what, staff.role)
    except export.NotAllowed:
        raise HTTPException(status_code=404) from None
    fmt = values.get("format", "csv")
    params = {k: values.get(k, "")[:20] for k in found.params if values.get(k)}
    reason = values.get("reason", "") if request.method == "POST" else None
    ip = request.client.host if request.client else None
    return found, export.Request(what, params, reason, ip), fmt if fmt in export.FORMATS else "csv"


def _export_page(request: Request, staff: Staff, found: export.Exporter, req: export.Request, *,
                 status_code: int = 200, errors: dict[str, str] | None = None) -> Response:
    query = urlencode({"what": req.what, **req.params})
    return render(request, "backoffice/export.html", page_context(
        request, staff, exporter=found, req=req, query=query, errors=errors or {},
        values={"reason": req.reason or ""}), status_code=status_code)


@page
@staff_only(Role.WINDOW_CLERK, Role.OFFICER, Role.ADMIN)
def export_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    """What a download will hold, with the masked files and the form to ask for full numbers."""
    found, req, _ = _export_request(request, dict(request.query_params), staff)
    return _export_page(request, staff, found, req)


@page
@staff_only(Role.WINDOW_CLERK, Role.OFFICER, Role.ADMIN)
def export_file(request: Request, form: FormData | None, staff: Staff) -> Response:
    """The file: GET masked; POST with a reason, the numbers this staff member may reveal in full (logged)."""
    values = {k: str(v) for k, v in (form or request.query_params).items() if isinstance(v, str)}
    found, req, fmt = _export_request(request, values, staff)
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            tables = export.export(session, svc.vault, staff, staff.role, req)
    except Invalid as exc:
        return _export_page(request, staff, found, req, status_code=400, errors=exc.errors)
    body = export.file_bytes(tables, fmt)
    name = f"{req.what}-{clock.today():%Y%m%d}{'-full' if req.reason else ''}.{fmt}"
    return Response(body, media_type=export.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin/stats", stats_page, methods=["GET"]),
        Route("/admin/export", export_page, methods=["GET"]),
        Route("/admin/export/file", export_file, methods=["GET", "POST"]),
    ]
