"""The routes of /api/v1: every declared operation, the OpenAPI document and the reference page.

Each module listed in `MODULES` declares its operations with `portal.web.api.framework`
(`@api.get(...)`, `@api.post(...)`); this module turns them into routes, and serves the
OpenAPI document generated from them and the reference page rendered from that document.
Adding an endpoint: declare it in one of these modules (or a new module added to MODULES).
"""
from __future__ import annotations

import importlib

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from portal.config import Settings
from portal.pages import Services, render
from portal.web.api import framework, openapi, reference
from portal.web.api.problems import PROBLEMS, problem_response

#: The modules that declare operations (order = order in the document).
MODULES = (
    "portal.web.api.oauth",  # POST /api/v1/token
    "portal.web.api.me",  # GET /api/v1/me
    "portal.web.api.tasks",  # GET /api/v1/tasks, /api/v1/tasks/{id}, POST …/actions
    "portal.web.api.webhooks",  # /api/v1/webhooks
    "portal.web.api.events",  # POST /api/v1/events
)


async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.document(), headers={"Cache-Control": "no-cache"})


async def docs(request: Request) -> Response:
    return render(request, "api/reference.html", reference.view(openapi.document()))


async def problem_type(request: Request) -> Response:
    """A problem's `type` URI leads to its explanation on the reference page."""
    slug = request.path_params["problem"]
    if slug not in PROBLEMS:
        return problem_response(request, "not-found", "没有这种问题类型。")
    return RedirectResponse(f"/api/v1/docs#problem-{slug}", status_code=303)


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    for name in MODULES:
        importlib.import_module(name)
    return [
        Route("/api/v1/openapi.json", openapi_json, methods=["GET"]),
        Route("/api/v1/docs", docs, methods=["GET"]),
        Route("/api/v1/problems/{problem:str}", problem_type, methods=["GET"]),
        *framework.routes(),
    ]
