"""Which areas the portal serves. Each area module exposes `routes(settings, services)`.

Areas are listed here once; a module that is not present yet is skipped, so areas can be
developed side by side without editing a shared file.
"""
from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

from portal.config import Settings
from portal.web.common import Services

AREAS = (
    "auth.web",             # /login, /auth/callback, /logout and the embedded provider at /idp
    "portal.web.apply",     # 一表申请: guided application for families
    "portal.web.progress",  # 我的申请: progress, corrections
    "portal.web.receipt",   # PDF receipts and the public verification page
    "portal.web.completion",  # 办结告知: the completion notice as a PDF
    "portal.web.policy",    # 政策咨询
    "portal.web.backoffice",  # /admin: window, department queues, administration
    "portal.web.admin_jobs",  # /admin/jobs: the background job queue for administrators
    "portal.web.api",       # JSON API for department systems
)


def area_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    collected: list[BaseRoute] = []
    for name in AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        collected.extend(module.routes(settings, svc))
    return collected
