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
    "portal.web.apply_shared",  # /apply/<id>/continue: a relative the applicant authorised continues the draft
    "portal.web.sharing",   # /my/<id>/access: 委托 a relative, or share the progress read-only
    "portal.web.text_phone",  # /my/phone: texts to another number, verified by a one-time code
    "portal.web.receipt",   # PDF receipts and the public verification page
    "portal.web.completion",  # 办结告知: the completion notice as a PDF
    "portal.web.policy",    # 政策咨询
    "portal.web.backoffice",  # /admin: window, department queues, administration
    "portal.web.case_search",  # /admin/search: one box finds a case by 编号, 身份证号 or phone
    "portal.web.death_report",  # /admin/report: 死讯简况 from 12345 and grid workers
    "portal.web.proxy",     # /admin/proxy: 代办, the window fills in the one application for a family
    "portal.web.reports",   # /admin/stats: statistics and their export
    "portal.web.reconcile",  # /admin/reconcile: 月对账
    "portal.web.case_checks",  # /admin: facts that contradict a case, checked by the window
    "portal.web.admin_jobs",  # /admin/jobs: the background job queue for administrators
    "portal.web.api",       # /api/v1: the machine interface for department systems (bearer tokens)
    "portal.web.admin_api",  # /admin/api-clients: administrators manage the department clients
    "portal.web.observe",   # /admin/metrics: Prometheus (administrators, or the scraper's token)
)


def area_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    collected: list[BaseRoute] = []
    for name in AREAS:
        module = importlib.import_module(name)
        collected.extend(module.routes(settings, svc))
    return collected
