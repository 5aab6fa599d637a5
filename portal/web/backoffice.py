"""/admin: the back office. Window clerks accept or return submissions (一窗受理), department
officers work their queue within the time limit (限时结办), administrators manage staff and watch
every county's queues and the SMS outbox.

Every action is a plain form POST carrying the version the staff member saw; success redirects
with a one-line confirmation, a stale version re-shows the page with the latest state and a
conflict message (409), and nothing is overwritten.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import status as st
from portal.domain.reference import APPLICANT_RELATIONS
from portal.services import case_exceptions, case_views, casework, disclosure, notifications, queues, tasks
from portal.services import staff as staff_accounts
from portal.services import window as win
from portal.services.errors import Invalid, NotFound, WorkflowError
from portal.web import queue_rows
from portal.web.bounded import page_number
from portal.web.common import Services, page, redirect, render, services

FLASH_KEY = "bo_flash"
RELATIONS = dict(APPLICANT_RELATIONS)


def relation_label(code: str | None) -> str:
    return RELATIONS.get(code or "", code or "")


ANY_STAFF = (Role.WINDOW_CLERK, Role.OFFICER, Role.ADMIN)


# --- helpers ------------------------------------------------------------------------------------

def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _flash(request: Request, text: str) -> None:
    request.session[FLASH_KEY] = text


def _ctx(request: Request, staff: Staff, **extra: Any) -> dict[str, Any]:
    flash = request.session.pop(FLASH_KEY, None)
    cat = casework.catalogue()
    return {"staff": staff, "flash": flash, "st": st, "role_label": staff_accounts.ROLES[staff.role],
            "staff_county": casework.county_name(staff.county_code) or "全市",
            "staff_department": casework.department_name(staff.department),
            "departments": cat.departments, "counties": cat.counties,
            "department_options": [(d.code, d.name) for d in cat.departments],
            "county_options": [(c.code, c.name) for c in cat.counties], "relation_label": relation_label, **extra}


# For the other back-office areas (e.g. portal/web/admin_jobs.py): the same layout context and flash.
def page_context(request: Request, staff: Staff, **extra: Any) -> dict[str, Any]:
    return _ctx(request, staff, **extra)


def flash(request: Request, text: str) -> None:
    _flash(request, text)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _form(form: FormData | None) -> dict[str, str]:
    return {k: str(v) for k, v in (form or {}).items() if isinstance(v, str)}


@page
@staff_only(*ANY_STAFF, Role.HOTLINE, Role.GRID_WORKER)
def home(request: Request, form: FormData | None, staff: Staff) -> Response:
    """工作台: what is waiting for this staff member, with links to their queues."""
    with services(request).db() as session:
        bench = queues.workbench(session, staff)
    return render(request, "backoffice/home.html", _ctx(request, staff, to_accept=bench.to_accept, todo=bench.todo,
                                                        overdue=bench.overdue, due_next=bench.due_next,
                                                        escalated=bench.escalated))


# --- window: 一窗受理 ------------------------------------------------------------------------------

@page
@staff_only(Role.WINDOW_CLERK, Role.ADMIN)
def window(request: Request, form: FormData | None, staff: Staff) -> Response:
    status = request.query_params.get("status") or "submitted"
    if status not in queues.WINDOW_FILTERS:
        status = "submitted"
    q = (request.query_params.get("q") or "").strip()[:40]
    with services(request).db() as session:
        rows, counts = queues.window_queue(session, staff, status=status, q=q)
        exceptions = case_exceptions.open_in_county(session, staff.county_code)
    return render(request, "backoffice/window.html",
                  _ctx(request, staff, rows=rows, counts=counts, status=status, q=q, filters=queues.WINDOW_FILTERS,
                       exceptions=exceptions))


def application_page(request: Request, staff: Staff, app_id: int, *, status_code: int = 200,
                     revealed: dict[str, str] | None = None, **extra: Any) -> Response:
    """The application page (also re-shown with errors or a conflict by the actions and web/receipt.py)."""
    svc = services(request)
    try:
        with svc.db() as session:
            view = case_views.staff_application(session, app_id, staff, svc.vault, revealed=revealed)
    except NotFound:
        raise HTTPException(status_code=404) from None
    ctx = _ctx(request, staff, v=view, app=view.application, channels=win.CHANNELS,
               reveal_options=view.reveal_options, may_accept=view.may_accept, **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    ctx.setdefault("error_form", "")
    return render(request, "backoffice/application.html", ctx, status_code=status_code)


@page
@staff_only(*ANY_STAFF)
def application_detail(request: Request, form: FormData | None, staff: Staff) -> Response:
    return application_page(request, staff, int(request.path_params["app_id"]))


def _app_action(request: Request, form: FormData | None, staff: Staff,
                act: Callable[[Any, int, dict[str, str]], str], form_name: str) -> Response:
    """Run one action of the application page; `form_name` says which of its forms the errors belong to."""
    app_id = int(request.path_params["app_id"])
    values = _form(form)
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            done = act(session, app_id, values)
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        return application_page(request, staff, app_id, status_code=400, errors=exc.errors, values=values,
                                error_form=form_name)
    except WorkflowError as exc:  # Conflict included: the latest state is shown, nothing saved
        return application_page(request, staff, app_id, status_code=409, problem=exc.message)
    _flash(request, done)
    return redirect(f"/admin/applications/{app_id}")


@page
@staff_only(Role.WINDOW_CLERK, Role.ADMIN)
def accept_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    def act(session: Any, app_id: int, values: dict[str, str]) -> str:
        app = win.accept(session, app_id, values.get("version"), staff, ip=_ip(request))
        started = sum(1 for t in app.tasks if t.status == st.PENDING)
        return f"已受理申请 {app.number}：{started} 个事项已推送到各部门，已短信告知家属。"

    return _app_action(request, form, staff, act, "accept")


@page
@staff_only(Role.WINDOW_CLERK, Role.ADMIN)
def return_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    def act(session: Any, app_id: int, values: dict[str, str]) -> str:
        app = win.return_application(session, app_id, values.get("version"), staff, values.get("reason", ""),
                                    ip=_ip(request))
        return f"已将申请 {app.number} 退回家属修改，已短信告知家属。"

    return _app_action(request, form, staff, act, "return")


@page
@staff_only(Role.WINDOW_CLERK, Role.ADMIN)
def channel_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    def act(session: Any, app_id: int, values: dict[str, str]) -> str:
        app = win.record_channel(session, app_id, values.get("version"), staff, values.get("channel", ""),
                                    ip=_ip(request))
        return f"已登记申请 {app.number} 的办理渠道：{win.CHANNELS[app.channel]}。"

    return _app_action(request, form, staff, act, "channel")


@page
@staff_only(*ANY_STAFF)
def reveal_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    app_id = int(request.path_params["app_id"])
    values = _form(form)
    field_name = values.get("field", "")
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            value = disclosure.reveal(session, app_id, staff, field_name, values.get("reason", ""), svc.vault,
                                      ip=_ip(request))
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        return application_page(request, staff, app_id, status_code=400, errors=exc.errors, values=values,
                                error_form="reveal")
    return application_page(request, staff, app_id, revealed={field_name: value},
                             flash_now=f"已显示{disclosure.REVEALABLE[field_name]}，本次查看已记录。")


# --- department officers: 限时结办 ----------------------------------------------------------------------

@page
@staff_only(Role.OFFICER)
def task_queue(request: Request, form: FormData | None, staff: Staff) -> Response:
    params = request.query_params
    status = params.get("status") or "todo"
    if status not in queues.TASK_FILTERS:
        status = "todo"
    overdue_only = params.get("overdue") == "1"
    q = (params.get("q") or "").strip()[:40]
    page_no = page_number(params.get("page"))
    with services(request).db() as session:
        result = queues.officer_queue(session, staff, status=status, overdue_only=overdue_only, q=q,
                                      offset=(page_no - 1) * queues.PAGE_SIZE)
    base = {"status": status, **({"overdue": "1"} if overdue_only else {}), **({"q": q} if q else {})}
    pages = max(1, -(-result.total // queues.PAGE_SIZE))
    return render(request, "backoffice/tasks.html", _ctx(
        request, staff, page=result, rows_html=queue_rows.render_rows(result.rows), status=status,
        overdue_only=overdue_only, q=q, filters=queues.TASK_FILTERS,
        page_no=page_no, pages=pages,
        prev_url=f"?{urlencode({**base, 'page': page_no - 1})}" if page_no > 1 else None,
        next_url=f"?{urlencode({**base, 'page': page_no + 1})}" if page_no < pages else None,
    ))


def _task_page(request: Request, staff: Staff, task_id: int, *, status_code: int = 200, **extra: Any) -> Response:
    try:
        with services(request).db() as session:
            view = case_views.task_page(session, task_id, staff)
    except NotFound:
        raise HTTPException(status_code=404) from None
    ctx = _ctx(request, staff, t=view, task=view.task, app=view.application, steps=st.CORRECTION_STEPS, **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    ctx.setdefault("open_form", "")
    return render(request, "backoffice/task.html", ctx, status_code=status_code)


@page
@staff_only(Role.OFFICER)
def task_detail(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _task_page(request, staff, int(request.path_params["task_id"]))


@page
@staff_only(Role.OFFICER)
def task_action(request: Request, form: FormData | None, staff: Staff) -> Response:
    task_id = int(request.path_params["task_id"])
    action = request.path_params["action"]
    values = _form(form)
    version = values.get("version")
    svc = services(request)
    ip = _ip(request)
    try:
        with transaction(svc.db) as session:
            if action == "take":
                task = tasks.take_task(session, task_id, version, staff, ip=ip)
                done = (f"已接办“{casework.matter_name(task.matter_code)}”（{task.application.number}），"
                        f"请在{st.cn_date(task.deadline)}前办结。")
            elif action == "complete":
                task = tasks.complete_task(session, task_id, version, staff, values, ip=ip)
                done = f"“{casework.matter_name(task.matter_code)}”（{task.application.number}）已办结，已短信告知家属。"
            elif action == "refuse":
                task = tasks.refuse_task(session, task_id, version, staff,
                                         values.get("refuse_reason") or values.get("reason", ""), ip=ip)
                done = f"“{casework.matter_name(task.matter_code)}”（{task.application.number}）已记为不予办理，已短信告知家属。"
            elif action == "return":
                task = tasks.return_task(session, task_id, version, staff, values.get("reason", ""),
                                         values.get("step", ""), ip=ip)
                done = f"“{casework.matter_name(task.matter_code)}”（{task.application.number}）已退回家属补正，已短信告知家属。"
            else:
                raise HTTPException(status_code=404)
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        errors = exc.errors
        if action == "refuse":  # the refuse and return forms share a page: distinct field ids
            errors = {("refuse_reason" if k == "reason" else k): v for k, v in errors.items()}
        return _task_page(request, staff, task_id, status_code=400, errors=errors, values=values, open_form=action)
    except WorkflowError as exc:  # Conflict included: the latest state is shown, nothing saved
        return _task_page(request, staff, task_id, status_code=409, problem=exc.message)
    _flash(request, done)
    return redirect(f"/admin/tasks/{task_id}")


# --- administration ------------------------------------------------------------------------------------

@page
@staff_only(Role.ADMIN)
def overview_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    with services(request).db() as session:
        rows = queues.overview(session)
    return render(request, "backoffice/overview.html", _ctx(request, staff, rows=rows))


def _staff_page(request: Request, staff: Staff, *, status_code: int = 200, **extra: Any) -> Response:
    with services(request).db() as session:
        members = staff_accounts.members(session)
    ctx = _ctx(request, staff, members=members, roles=staff_accounts.ROLES, **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    return render(request, "backoffice/staff.html", ctx, status_code=status_code)


@page
@staff_only(Role.ADMIN)
def staff_list(request: Request, form: FormData | None, staff: Staff) -> Response:
    if form is not None:
        values = _form(form)
        try:
            with transaction(services(request).db) as session:
                member = staff_accounts.create_staff(session, staff_accounts.StaffForm(
                    issuer=services(request).settings.oidc_issuer,
                    sub=values.get("sub", ""), name=values.get("name", ""), role=values.get("role", ""),
                    department=values.get("department", ""), county_code=values.get("county_code", "")),
                    staff, ip=_ip(request))
                name = member.name
        except Invalid as exc:
            return _staff_page(request, staff, status_code=400, errors=exc.errors, values=values)
        _flash(request, f"已开通工作人员 {name}。对方用政务服务网账号登录后即可使用。")
        return redirect("/admin/staff")
    return _staff_page(request, staff)


@page
@staff_only(Role.ADMIN)
def staff_active(request: Request, form: FormData | None, staff: Staff) -> Response:
    values = _form(form)
    active = values.get("active") == "1"
    try:
        with transaction(services(request).db) as session:
            member = staff_accounts.set_staff_active(session, int(request.path_params["member_id"]),
                                                     values.get("version"), active, staff, ip=_ip(request))
            name = member.name
    except NotFound:
        raise HTTPException(status_code=404) from None
    except WorkflowError as exc:
        return _staff_page(request, staff, status_code=409, problem=exc.message)
    _flash(request, f"已{'启用' if active else '停用'}工作人员 {name}。")
    return redirect("/admin/staff")


@page
@staff_only(Role.ADMIN)
def outbox_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    svc = services(request)
    with svc.db() as session:
        items = notifications.outbox_items(session, svc.vault)
    dev = not svc.settings.sms_gateway_url
    return render(request, "backoffice/outbox.html", _ctx(request, staff, items=items, dev_sender=dev))


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin", home, methods=["GET"]),
        Route("/admin/window", window, methods=["GET"]),
        Route("/admin/applications/{app_id:int}", application_detail, methods=["GET"]),
        Route("/admin/applications/{app_id:int}/accept", accept_post, methods=["POST"]),
        Route("/admin/applications/{app_id:int}/return", return_post, methods=["POST"]),
        Route("/admin/applications/{app_id:int}/channel", channel_post, methods=["POST"]),
        Route("/admin/applications/{app_id:int}/reveal", reveal_post, methods=["POST"]),
        Route("/admin/tasks", task_queue, methods=["GET"]),
        Route("/admin/tasks/{task_id:int}", task_detail, methods=["GET"]),
        Route("/admin/tasks/{task_id:int}/{action:str}", task_action, methods=["POST"]),
        Route("/admin/overview", overview_page, methods=["GET"]),
        Route("/admin/staff", staff_list, methods=["GET", "POST"]),
        Route("/admin/staff/{member_id:int}/active", staff_active, methods=["POST"]),
        Route("/admin/outbox", outbox_page, methods=["GET"]),
    ]
