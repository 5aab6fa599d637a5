"""GET /my/<id>/completion.pdf: the family's completion notice (办结告知) as a PDF."""
from __future__ import annotations

from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.config import Settings
from portal.services import completion
from portal.web.common import Services, page, redirect, services


@page
@citizen_only
def completion_pdf(request: Request, form: FormData | None, user: SessionUser) -> Response:
    app_id = request.path_params["app_id"]
    with services(request).db() as session:
        view = completion.notice_for_owner(session, app_id, user.account_id)
        own = view is not None or completion.owns(session, app_id, user.account_id)
    if view is None:
        if own:  # not finished yet (an old link, a second tab): the progress page says where it stands
            return redirect(f"/my/{app_id}")
        raise HTTPException(status_code=404)
    pdf = completion.notice_pdf(view)  # rendered outside any transaction
    name = completion.download_filename(view.number)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"completion-{view.number}.pdf\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [Route("/my/{app_id:int}/completion.pdf", completion_pdf, methods=["GET"])]
