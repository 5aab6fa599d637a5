"""The append-only event log: every change is recorded with who, when, what, before/after."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from portal.models import Event


@dataclass(frozen=True)
class Actor:
    kind: str  # citizen | staff | system
    id: int | None
    name: str | None
    ip: str | None = None


SYSTEM = Actor("system", None, "系统")
SUMMARY_MAX: int = Event.__table__.c.summary.type.length  # type: ignore[attr-defined]


def fit_summary(summary: str) -> str:
    """Cut a summary that would not fit its column (a long typed reason) instead of failing the change.

    The full text stays where the change keeps it (return reason, task message, SMS body).
    """
    return summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"


def record(
    session: Session,
    actor: Actor,
    tag: str,
    summary: str,
    *,
    application_id: int | None = None,
    task_id: int | None = None,
    public: bool = False,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Append one event in the caller's transaction (so it commits or rolls back with the change).

    `tag` is source:subject:action (e.g. "staff:task:complete"); `summary` is plain Chinese and
    `public` events are shown to the family in their timeline.
    """
    event = Event(
        tag=tag,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        application_id=application_id,
        task_id=task_id,
        summary=fit_summary(summary),
        public=public,
        before=before,
        after=after,
        ip=actor.ip,
    )
    session.add(event)
    return event


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete a logged event."""


@sa_event.listens_for(Session, "before_flush")
def _refuse_event_changes(session: Session, _ctx: object, _instances: object) -> None:
    """The log is append-only: an Event is never updated or deleted through the ORM."""
    for obj in session.deleted:
        if isinstance(obj, Event):
            raise AppendOnlyError("events are append-only")
    for obj in session.dirty:
        if isinstance(obj, Event) and session.is_modified(obj):
            raise AppendOnlyError("events are append-only")


# Task changes are numbered for the change feed, and queue their webhooks, wherever they happen
# (listeners like the one above).
from portal.services import task_feed  # noqa: E402,F401
