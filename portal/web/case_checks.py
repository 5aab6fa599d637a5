"""/admin: a fact a department system reported that contradicts the case (数据不一致) is checked
by the window clerk, who writes what they found and marks it resolved (portal/services/case_exceptions.py)."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.services import case_exceptions
from portal.services.errors import Invalid, NotFound, WorkflowError
from portal.web.backoffice import application_page, flash
from portal.web.common import Services, page, redirect, services


@page
@staff_only(Role.WINDOW_CLERK, Role.ADMIN)
def resolve_post(request: Request, form: FormData | None, staff: Staff) -> Response:
    app_id = int(request.path_params["app_id"])
    values = {k: str(v) for k, v in (form or {}).items()}
    ip = request.client.host if request.client else None
    try:
        with transaction(services(request).db) as session:
            case_exceptions.resolve_on_case(session, app_id, values.get("exception_id"), staff,
                                            values.get("resolution", ""), ip=ip)
    except NotFound:
        raise HTTPException(status_code=404) from None
    except Invalid as exc:
        return application_page(request, staff, app_id, status_code=400, errors=exc.errors, values=values,
                                error_form="exception")
    except WorkflowError as exc:
        return application_page(request, staff, app_id, status_code=409, problem=exc.message)
    flash(request, "已记录核实结果，这条不一致已处理。")
    return redirect(f"/admin/applications/{app_id}#exceptions")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [Route("/admin/applications/{app_id:int}/exceptions", resolve_post, methods=["POST"])]
