"""Facts exchanged with department systems (issue 14): the log of every event received, and the
contradictions a window clerk must look at.

`exchange_event` is the idempotency record: (source, event_id) is unique, so the same CloudEvent
sent twice (a retry, a replay, two workers at once) is stored once and answered as the first time.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.models.core import utcnow


class ExchangeEvent(Base):
    """One fact a department system pushed (CloudEvents), with the answer it was given."""

    __tablename__ = "exchange_event"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_exchange_event_source_event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(120))
    client_name: Mapped[str] = mapped_column(String(80))
    department: Mapped[str] = mapped_column(String(20), index=True)
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    deceased_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # applied | already_done | no_case | proactive_case | exception | informed
    outcome: Mapped[str] = mapped_column(String(20))
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)  # the first answer, returned again to a replay
    # A fact whose matter could not finish yet (not_ready), sealed (it holds the 身份证号) until
    # the window's acceptance or a prerequisite lets it finish (portal/services/held_facts.py).
    held_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class CaseException(Base):
    """A fact that contradicts the case (another funeral home, another date of death): nothing was
    overwritten; the window clerk looks and marks it resolved."""

    __tablename__ = "case_exception"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    exchange_event_id: Mapped[int | None] = mapped_column(ForeignKey("exchange_event.id"))
    kind: Mapped[str] = mapped_column(String(40))  # funeral_home | death_date
    detail: Mapped[str] = mapped_column(Text)  # plain Chinese, for the clerk
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[int | None] = mapped_column(Integer)  # staff_member.id
    resolution: Mapped[str | None] = mapped_column(String(300))


class CaseInvitation(Base):
    """The text inviting the next of kin to finish a proactive case online: the link's random
    token is kept only as its SHA-256, the phone sealed (portal/services/pii.py)."""

    __tablename__ = "case_invitation"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[int | None] = mapped_column(Integer)  # citizen_account.id
