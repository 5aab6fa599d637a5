"""Tables of the machine interface (/api/v1): department clients and their webhooks.

A client's secret is kept only as a scrypt hash (portal/services/api_clients.py); `generation`
goes up on every rotation and revocation, and a bearer token names the generation it was issued
for, so rotating or revoking stops every token of the client at once, in every server process.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.models.core import utcnow


class ApiClient(Base):
    """A department system allowed to call /api/v1, scoped to its department and county."""

    __tablename__ = "api_client"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    department: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[str | None] = mapped_column(String(6))  # None: every county of the city
    secret_hash: Mapped[str] = mapped_column(String(200))
    generation: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookSubscription(Base):
    """Where a client wants task changes pushed; its secret signs each delivery (HMAC-SHA256)."""

    __tablename__ = "webhook_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_enc: Mapped[str] = mapped_column(String(200))  # sealed with the vault (portal/crypto.py)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChangeCounter(Base):
    """The task change sequence (portal/services/task_feed.py): one row, bumped at commit under its row lock."""

    __tablename__ = "change_counter"
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
