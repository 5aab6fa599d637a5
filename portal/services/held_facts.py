"""Facts that came before their matter could finish (a cremation reported before the window
accepted the application, a 医保 settlement while … waits): kept sealed on their `exchange_event`
row, and applied by the worker as soon as the matter may finish (`exchange.apply_held`), when the
window accepts or a prerequisite finishes. The sender's answer stays the first one (not_ready)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ExchangeEvent
from portal.services import jobs

APPLY_KIND = "exchange.apply_held"


def queue_if_held(session: Session, application_id: int) -> None:
    """Queue the worker's look at the case's held facts, if it has any (same transaction)."""
    held = session.scalar(select(ExchangeEvent.id).where(ExchangeEvent.application_id == application_id,
                                                         ExchangeEvent.held_enc.is_not(None)).limit(1))
    if held is not None:
        jobs.enqueue(session, APPLY_KIND, {"application_id": application_id})
