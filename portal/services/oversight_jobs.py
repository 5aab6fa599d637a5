"""The worker's part of oversight: the daily retention run and the 月对账 on the 10th.

Registered by portal.services.job_handlers (which adds `monthly_reconciliation` to its
MONTHLY_HOOKS); the schedules live in portal.services.schedules.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from portal.db import transaction
from portal.domain import clock
from portal.services import jobs, reconciliation, retention
from portal.services.jobs import JobContext

log = logging.getLogger("portal.oversight")
RETENTION_KIND = "retention.run"


@jobs.handler(RETENTION_KIND, "个人数据保存期限清理")
def retention_run(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Delete expired drafts and anonymise expired cases in a transaction of its own, then compact
    the SQLite file (which needs no transaction open on this connection)."""
    settings = ctx.extras["settings"]
    with transaction(ctx.db) as own:
        record = retention.run(own, retention.Policy.from_settings(settings), dry_run=False, trigger="schedule")
        line = retention.describe(record)
        expired = list(record.detail.get("drafts", [])) + list(record.detail.get("cases", []))
    retention.remove_cached_files(settings, expired)
    engine = ctx.db.kw.get("bind")
    if engine is not None:
        retention.compact(engine)
    log.info("%s", line)


def monthly_reconciliation(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """The 10th: open last month's reconciliation of every county for the departments to confirm
    (the table itself is computed whenever it is looked at, and frozen when it is closed)."""
    fired = str(payload.get("period") or "")[:10]
    try:
        on = date.fromisoformat(fired)
    except ValueError:
        on = clock.today()
    month = reconciliation.previous_month(on)
    new = reconciliation.open_months(session, month)
    log.info("月对账 %s: %d county months opened", month, new)


#: What runs on the 10th for the month before (job_handlers.MONTHLY_HOOKS).
MONTHLY: list[Any] = [monthly_reconciliation]
