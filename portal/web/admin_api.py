"""/admin/api-clients: administrators open, rotate and revoke the department clients of /api/v1.

A new or rotated secret is shown once, on the page that answers the form (never stored in clear,
never put in the session or a URL); whoever opens the page later sees only the client_id.
"""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import clock
from portal.services import api_clients, webhooks
from portal.services.casework import county_name, department_name, staff_actor
from portal.services.errors import Invalid, NotFound
from portal.web.backoffice import flash, page_context
from portal.web.common import Services, page, redirect, render, services


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _rows(request: Request) -> list[dict[str, Any]]:
    with services(request).db() as session:
        return [{
            "client_id": c.client_id, "name": c.name, "department": department_name(c.department),
            "county": county_name(c.county_code) or "全市", "active": c.active,
            "created": clock.cn_date(clock.as_china(c.created_at).date()),
            "rotated": clock.cn_date(clock.as_china(c.rotated_at).date()) if c.rotated_at else "",
        } for c in api_clients.clients(session)]


def _hooks(request: Request) -> list[dict[str, Any]]:
    with services(request).db() as session:
        names = {c.id: c.name for c in api_clients.clients(session)}
        return [{"id": h.id, "client": names.get(h.client_id, ""), "url": h.url,
                 "created": clock.cn_date(clock.as_china(h.created_at).date())} for h in webhooks.subscriptions(session)]


def _page(request: Request, staff: Staff, *, status_code: int = 200, **extra: Any) -> Response:
    rows = _rows(request)
    ctx = page_context(request, staff, rows=rows, hooks=_hooks(request),
                       client_options=[(r["client_id"], r["name"]) for r in rows if r["active"]], **extra)
    ctx.setdefault("errors", {})
    ctx.setdefault("values", {})
    return render(request, "backoffice/api_clients.html", ctx, status_code=status_code)


@page
@staff_only(Role.ADMIN)
def clients_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    if form is None:
        return _page(request, staff)
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        with transaction(services(request).db) as session:
            issued = api_clients.add_client(session, staff_actor(staff, _ip(request)), values.get("name", ""),
                                            values.get("department", ""), values.get("county_code", "") or None)
    except Invalid as exc:
        return _page(request, staff, status_code=400, errors=exc.errors, values=values)
    return _page(request, staff, issued=issued, flash_now=f"已开通接口客户端“{issued.name}”。")


@page
@staff_only(Role.ADMIN)
def client_rotate(request: Request, form: FormData | None, staff: Staff) -> Response:
    try:
        with transaction(services(request).db) as session:
            issued = api_clients.rotate_client(session, staff_actor(staff, _ip(request)), request.path_params["client_id"])
    except NotFound:
        flash(request, "找不到这个客户端。")
        return redirect("/admin/api-clients")
    return _page(request, staff, issued=issued,
                 flash_now=f"已为“{issued.name}”更换密钥：旧密钥和用它申请的令牌都已失效。")


@page
@staff_only(Role.ADMIN)
def client_revoke(request: Request, form: FormData | None, staff: Staff) -> Response:
    try:
        with transaction(services(request).db) as session:
            client = api_clients.revoke_client(session, staff_actor(staff, _ip(request)), request.path_params["client_id"])
            name = client.name
    except NotFound:
        flash(request, "找不到这个客户端。")
        return redirect("/admin/api-clients")
    flash(request, f"已停用“{name}”：它的令牌立即失效。需要恢复时点“更换密钥”，把新密钥交给对方。")
    return redirect("/admin/api-clients")


@page
@staff_only(Role.ADMIN)
def webhook_add(request: Request, form: FormData | None, staff: Staff) -> Response:
    values = {k: str(v) for k, v in (form or {}).items() if isinstance(v, str)}
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            client = api_clients.find(session, values.get("client_id", ""))
            sub, secret = webhooks.subscribe(session, svc.vault, staff_actor(staff, _ip(request)), client.id,
                                             values.get("url", ""), public_only=svc.settings.production)
            hook = {"client": client.name, "url": sub.url, "secret": secret}
    except NotFound:
        return _page(request, staff, status_code=400, hook_errors={"client_id": "请选择接口客户端"}, hook_values=values)
    except Invalid as exc:
        return _page(request, staff, status_code=400, hook_errors=exc.errors, hook_values=values)
    return _page(request, staff, issued_hook=hook, flash_now=f"已为“{hook['client']}”登记推送地址。")


@page
@staff_only(Role.ADMIN)
def webhook_delete(request: Request, form: FormData | None, staff: Staff) -> Response:
    try:
        with transaction(services(request).db) as session:
            webhooks.unsubscribe(session, staff_actor(staff, _ip(request)), request.path_params["webhook_id"])
    except NotFound:
        flash(request, "这个推送地址已经删除了。")
        return redirect("/admin/api-clients")
    flash(request, "已删除推送地址：不再向它推送。")
    return redirect("/admin/api-clients")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin/api-clients", clients_page, methods=["GET", "POST"]),
        Route("/admin/api-clients/{client_id:str}/rotate", client_rotate, methods=["POST"]),
        Route("/admin/api-clients/{client_id:str}/revoke", client_revoke, methods=["POST"]),
        Route("/admin/api-clients/webhooks", webhook_add, methods=["POST"]),
        Route("/admin/api-clients/webhooks/{webhook_id:int}/delete", webhook_delete, methods=["POST"]),
    ]
