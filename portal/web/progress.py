"""我的申请: the family's applications and each one's progress, department by department.

The progress page refreshes itself with htmx while it is open (hx-get every 10 s, swapping only
the progress block; the server answers 204 when nothing changed, so nothing flickers or is
re-announced). Without JavaScript the same page is simply reloaded.
"""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.config import Settings
from portal.db import transaction
from portal.domain import status as st
from portal.domain.delegation import may_change
from portal.services import progress as family
from portal.services import sharing
from portal.services.errors import NotFound
from portal.web.apply_view import actor
from portal.web.common import Services, is_htmx, page, render, services

POLL_SECONDS = 10


@page
@citizen_only
def my_list(request: Request, form: FormData | None, user: SessionUser) -> Response:
    with services(request).db() as session:
        rows = family.my_applications(session, user.account_id)
        shared = sharing.shared_with(session, user.account_id)
    return render(request, "citizen/my_list.html", {"rows": rows, "shared": shared})


@page
@citizen_only
def my_progress(request: Request, form: FormData | None, user: SessionUser) -> Response:
    app_id = int(request.path_params["app_id"])
    with services(request).db() as session:
        try:  # the family's own, or shared with this relative (live grants: a revocation counts at once)
            app, role = sharing.shared_case(session, app_id, user.account_id)
        except NotFound:
            raise HTTPException(status_code=404) from None  # someone else's: not found
        if app.status == st.APP_DRAFT:
            raise HTTPException(status_code=404)
        since = request.query_params.get("since")
        if is_htmx(request) and since:
            stamp = family.progress_stamp(session, app_id)
            if stamp is None:
                raise HTTPException(status_code=404)
            if stamp == since:
                return Response(status_code=204)  # unchanged: htmx keeps the page as it is
        view = family.family_progress(session, app_id, app.account_id) if app.account_id is not None else None
    if view is None:
        raise HTTPException(status_code=404)
    if role != "owner":  # a relative's look at someone else's case is kept (not each htmx refresh)
        with transaction(services(request).db) as session:
            sharing.record_view(session, app_id, role, actor(request, user))
    ctx = {"v": view, "st": st, "poll": POLL_SECONDS, "notice": view.notice, "role": role,
           "may_change": lambda step: may_change(role, step)}
    if is_htmx(request):
        return render(request, "citizen/progress.html", ctx, block="progress")
    return render(request, "citizen/progress.html", ctx)


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/my", my_list, methods=["GET"]),
        Route("/my/{app_id:int}", my_progress, methods=["GET"]),
    ]
