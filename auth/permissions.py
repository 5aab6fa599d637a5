"""One place that decides who may do what on a page: citizen, window clerk, department officer,
administrator.

The rules (roles, what each may see) and the membership read are in auth/staff.py, re-exported
here for the pages; this module adds the guards that wrap a page handler.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from auth.session import SessionUser, current_user
from auth.staff import OFFICER_REVEAL_ALL, OFFICER_REVEAL_BY_DEPARTMENT, ROLE_LABELS, Role, Staff, load_staff
from portal.pages import redirect, services

__all__ = [
    "OFFICER_REVEAL_ALL", "OFFICER_REVEAL_BY_DEPARTMENT", "ROLE_LABELS", "Role", "Staff", "citizen_only", "load_staff",
    "staff_only",
]

Handler = Callable[[Request, FormData | None], Response]
StaffHandler = Callable[[Request, FormData | None, Staff], Response]
CitizenHandler = Callable[[Request, FormData | None, SessionUser], Response]


def staff_only(*roles: Role) -> Callable[[StaffHandler], Handler]:
    """Wrap a sync staff handler: login required, active staff membership with one of `roles`."""

    def decorate(fn: StaffHandler) -> Handler:
        @functools.wraps(fn)
        def wrapper(request: Request, form: FormData | None) -> Response:
            user = current_user(request)
            if user is None:
                return redirect(f"/login?next={request.url.path}")
            with services(request).db() as session:
                staff = load_staff(session, user.issuer, user.sub)
            if staff is None or (roles and staff.role not in roles):
                raise HTTPException(status_code=403)
            return fn(request, form, staff)

        wrapper.staff_roles = roles  # type: ignore[attr-defined]  # route audit in tests
        return wrapper

    return decorate


def citizen_only(fn: CitizenHandler) -> Handler:
    """Wrap a sync citizen handler: redirect to login when nobody is signed in."""

    @functools.wraps(fn)
    def wrapper(request: Request, form: FormData | None) -> Response:
        user = current_user(request)
        if user is None:
            return redirect(f"/login?next={request.url.path}")
        return fn(request, form, user)

    return wrapper
