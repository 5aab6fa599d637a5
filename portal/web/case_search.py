"""/admin/search: the back office's one search box. A case is found by its 编号, by the deceased's
身份证号 or by the applicant's phone (services/case_search.py). The box posts: a personal number
never goes into a URL."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.services import case_search
from portal.web.backoffice import page_context
from portal.web.common import Services, page, redirect, render, services

ANY_STAFF = (Role.WINDOW_CLERK, Role.OFFICER, Role.ADMIN)


@page
@staff_only(*ANY_STAFF)
def search_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    if form is None:
        return render(request, "backoffice/search.html", page_context(request, staff, result=None, q=""))
    q = str(form.get("q") or "")
    svc = services(request)
    with transaction(svc.db) as session:
        result = case_search.find_cases(session, svc.vault, staff, q,
                                        ip=request.client.host if request.client else None)
    if len(result.hits) == 1:
        return redirect(f"/admin/applications/{result.hits[0].application_id}")
    # the typed text is shown again only when it is not a personal number
    shown = q if result.kind in ("number", "name") else ""
    return render(request, "backoffice/search.html", page_context(request, staff, result=result, q=shown))


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [Route("/admin/search", search_page, methods=["GET", "POST"])]
