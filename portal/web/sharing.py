"""/my/<id>/access: the applicant authorises a relative to act (委托) or to follow the progress,
and revokes it (portal/services/sharing.py; rules in portal/domain/delegation.py)."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.config import Settings
from portal.db import transaction
from portal.domain.delegation import ACCESS_KINDS
from portal.domain.reference import APPLICANT_RELATIONS
from portal.services import sharing
from portal.services.errors import Invalid, NotFound
from portal.web.apply_view import actor
from portal.web.common import Services, page, redirect, render, services

FLASH = "access_flash"


def _page(request: Request, user: SessionUser, app_id: int, *, status_code: int = 200, **extra: Any) -> Response:
    svc = services(request)
    with svc.db() as session:
        try:
            app = sharing.owned(session, app_id, user.account_id)
        except NotFound:
            raise HTTPException(status_code=404) from None
        rows = sharing.grants(session, svc.vault, app)
        number = app.number or ""
    ctx = {"app_id": app_id, "number": number, "rows": rows, "kinds": ACCESS_KINDS,
           "relations": [r for r in APPLICANT_RELATIONS if r[0] != "agent"], "errors": {}, "values": {},
           "flash": request.session.pop(FLASH, None), **extra}
    return render(request, "citizen/access.html", ctx, status_code=status_code)


@page
@citizen_only
def access_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    app_id = int(request.path_params["app_id"])
    if form is None:
        return _page(request, user, app_id)
    values = {k: str(v)[:60] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    grant = sharing.GrantForm(kind=values.get("kind", ""), name=values.get("g_name", ""),
                              relation=values.get("g_relation", ""), id_no=values.get("g_id", ""),
                              phone=values.get("g_phone", ""), agreed=values.get("agreed") == "yes")
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            row = sharing.grant(session, svc.vault, app_id, user.account_id, grant, actor(request, user))
            name, kind = row.name, sharing.KIND_WORDS[row.kind]
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        return _page(request, user, app_id, status_code=400, errors=exc.errors, values=values)
    request.session[FLASH] = f"已授权{name}{kind}。对方用本人身份证登录政务服务网后，在“我的申请”里就能看到。"
    return redirect(f"/my/{app_id}/access")


@page
@citizen_only
def revoke_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    app_id = int(request.path_params["app_id"])
    svc = services(request)
    try:
        with transaction(svc.db) as session:
            row = sharing.revoke(session, app_id, user.account_id, int(request.path_params["access_id"]),
                                 actor(request, user))
            name = row.name
    except NotFound:
        raise HTTPException(status_code=404) from None
    request.session[FLASH] = f"已取消{name}的授权，立即生效。"
    return redirect(f"/my/{app_id}/access")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/my/{app_id:int}/access", access_page, methods=["GET", "POST"]),
        Route("/my/{app_id:int}/access/{access_id:int}/revoke", revoke_post, methods=["POST"]),
    ]
