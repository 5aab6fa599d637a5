"""The job kinds the worker knows, each a small function over one transaction.

Handlers are idempotent: a job may run again after its worker died (at-least-once), so each
one checks what is already done before doing it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.services import (  # noqa: F401 - each registers its jobs
    digest,
    exchange,
    jobs,
    notifications,
    receipts,
    reminders,
    text_phone,
    webhooks,
)
from portal.services.jobs import JobContext


@jobs.handler(notifications.FLUSH_KIND, "发送短信")
def sms_flush(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Send the family's queued texts as one message."""
    settings = ctx.extras["settings"]
    notifications.flush_family(session, ctx.extras["sms_sender"], ctx.extras["vault"], payload.get("application_id"),
                               per_hour=settings.sms_per_number_per_hour)


jobs.DEAD_HOOKS[notifications.FLUSH_KIND] = notifications.mark_failed


@jobs.handler(text_phone.CODE_KIND, "发送短信验证码")
def sms_code(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Send one one-time code to the number it confirms (never grouped with a family's texts)."""
    text_phone.send_code(session, ctx.extras["sms_sender"], ctx.extras["vault"], int(payload["notification_id"]))


@jobs.handler(receipts.RENDER_KIND, "生成回执 PDF")
def receipt_render(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """Render the family's receipt into the cache so the first download is instant."""
    settings = ctx.extras["settings"]
    if settings.prerender_receipts:
        receipts.prerender(ctx.db, ctx.extras["vault"], settings, int(payload["application_id"]), strict=True)


#: Functions the monthly reconciliation runs on the 10th (the 月对账 issue adds its own here).
MONTHLY_HOOKS: list[Any] = []


@jobs.handler("reconcile.month", "月对账")
def reconcile_month(session: Session, payload: dict[str, Any], ctx: JobContext) -> None:
    """The 10th of the month: run every reconciliation step registered for the month before."""
    for hook in MONTHLY_HOOKS:
        hook(session, payload, ctx)
