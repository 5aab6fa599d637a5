"""/admin/jobs: administrators watch the background queue and retry or cancel a job.

Due, running, retrying and dead jobs with their last error; a dead job (e.g. a text the
gateway never took) can be sent back to the queue or withdrawn.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.permissions import Role, Staff, staff_only
from portal.config import Settings
from portal.db import transaction
from portal.domain import clock
from portal.services import (
    job_handlers,  # noqa: F401 - registers the kinds and their labels
    jobs,
)
from portal.web.backoffice import flash, page_context
from portal.web.common import Services, page, redirect, render, services

FILTERS = {"": "全部", "queued": "等待执行", "failed": "重试中", "running": "执行中", "dead": "已放弃", "done": "已完成",
           "cancelled": "已取消"}


def _time(value: datetime | None) -> str:
    """11月22日 14:05:09: a job monitor wants the seconds, not the year."""
    if value is None:
        return ""
    local = clock.as_china(value)
    return f"{local.month}月{local.day}日 {local:%H:%M:%S}"


@page
@staff_only(Role.ADMIN)
def jobs_page(request: Request, form: FormData | None, staff: Staff) -> Response:
    status = request.query_params.get("status", "")
    if status not in FILTERS:
        status = ""
    with services(request).db() as session:
        stats = jobs.stats(session)
        rows = [{
            "id": j.id, "kind": jobs.LABELS.get(j.kind, j.kind), "status": jobs.STATUS_LABELS.get(j.status, j.status),
            "dead": j.status == jobs.DEAD, "can_cancel": j.status in (jobs.QUEUED, jobs.DEAD),
            "attempts": j.attempts, "max_attempts": j.max_attempts, "run_at": _time(j.run_at),
            "error": j.last_error or "", "application_id": (j.payload or {}).get("application_id"),
        } for j in jobs.listing(session, status or None)]
    age = stats.oldest_due_seconds
    return render(request, "backoffice/jobs.html", page_context(
        request, staff, stats=stats, rows=rows, filters=FILTERS, current=status,
        oldest=None if age is None else int(age)))


def _act(request: Request, act: Callable[[Session, int], bool], done: str, refused: str) -> Response:
    with transaction(services(request).db) as session:
        ok = act(session, request.path_params["job_id"])
    flash(request, done if ok else refused)
    return redirect("/admin/jobs")


@page
@staff_only(Role.ADMIN)
def job_retry(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _act(request, jobs.retry, "已重新排队，后台任务进程会马上执行。",
                "这个任务现在不能重试（可能已经在执行或已完成）。")


@page
@staff_only(Role.ADMIN)
def job_cancel(request: Request, form: FormData | None, staff: Staff) -> Response:
    return _act(request, jobs.cancel, "已取消这个任务。", "这个任务现在不能取消（可能已经在执行或已完成）。")


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    return [
        Route("/admin/jobs", jobs_page, methods=["GET"]),
        Route("/admin/jobs/{job_id:int}/retry", job_retry, methods=["POST"]),
        Route("/admin/jobs/{job_id:int}/cancel", job_cancel, methods=["POST"]),
    ]
