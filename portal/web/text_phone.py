"""/my/phone: texts to a number that is not the login phone, once a one-time code sent to it is
typed back (services/text_phone.py). Sending a code spends the `sms_code` limit twice: once for
the account, once for the number (no one can flood a stranger's phone)."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.config import Settings
from portal.db import transaction
from portal.services import pii
from portal.services import text_phone as phones
from portal.services.errors import Invalid
from portal.web.apply_view import actor
from portal.web.common import Services, page, redirect, render, services
from portal.web.throttling import account_key, enforce

FLASH = "phone_flash"


def _page(request: Request, user: SessionUser, *, status_code: int = 200, **extra: Any) -> Response:
    svc = services(request)
    with svc.db() as session:
        view = phones.view(session, svc.vault, user.account_id)
    ctx = {"v": view, "errors": {}, "values": {}, "flash": request.session.pop(FLASH, None), **extra}
    return render(request, "citizen/text_phone.html", ctx, status_code=status_code)


@page
@citizen_only
def phone_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    if form is None:
        return _page(request, user)
    svc = services(request)
    try:
        phone = phones.checked_phone(str(form.get("phone") or ""))
    except Invalid as exc:
        return _page(request, user, status_code=400, errors=exc.errors, values={"phone": str(form.get("phone") or "")[:40]})
    enforce(request, "sms_code", account_key(user.account_id))
    enforce(request, "sms_code", "number:" + (pii.index(svc.vault, pii.Kind.PHONE, phone) or ""))
    with transaction(svc.db) as session:
        phones.request_code(session, svc.vault, user.account_id, phone, actor(request, user))
    request.session[FLASH] = "验证码已发到这个号码，请在10分钟内填写。"
    return redirect("/my/phone#code")


@page
@citizen_only
def verify_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    assert form is not None
    svc = services(request)
    with transaction(svc.db) as session:
        problem = phones.verify(session, svc.vault, user.account_id, str(form.get("code") or ""), actor(request, user))
    if problem is not None:
        return _page(request, user, status_code=400, errors={"code": problem})
    request.session[FLASH] = "已确认。以后的办理短信会发到这个号码。"
    return redirect("/my/phone")


@page
@citizen_only
def stop_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    svc = services(request)
    with transaction(svc.db) as session:
        phones.stop(session, user.account_id, actor(request, user))
    request.session[FLASH] = "以后的办理短信会发到您登录用的手机号。"
    return redirect("/my/phone")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/my/phone", phone_page, methods=["GET", "POST"]),
        Route("/my/phone/verify", verify_post, methods=["POST"]),
        Route("/my/phone/stop", stop_post, methods=["POST"]),
    ]
