"""Which areas the portal serves. Each area module exposes `routes(settings, services)`.

Areas are listed here once; a listed module that cannot be imported stops start-up (an error,
not a silently missing area). The login pages (auth.web) are added by the app factory, which
hands them the login use case.
"""
from __future__ import annotations

import importlib

from starlette.routing import BaseRoute

from portal.config import Settings
from portal.web.common import Services

AREAS = (
    "portal.web.apply",     # 一表申请: guided application for families
    "portal.web.progress",  # 我的申请: progress, corrections
    "portal.web.receipt",   # PDF receipts and the public verification page
    "portal.web.completion",  # 办结告知: the completion notice as a PDF
    "portal.web.policy",    # 政策咨询
    "portal.web.backoffice",  # /admin: window, department queues, administration
    "portal.web.admin_jobs",  # /admin/jobs: the background job queue for administrators
    "portal.web.observe",   # /admin/metrics: Prometheus (administrators, or the scraper's token)
)


def area_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    collected: list[BaseRoute] = []
    for name in AREAS:
        module = importlib.import_module(name)
        collected.extend(module.routes(settings, svc))
    return collected
