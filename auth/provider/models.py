"""Tables of the stand-in identity provider (on the shared ``portal.db.Base``).

Codes and access tokens are stored only as SHA-256 hashes. Datetimes are timezone-aware
UTC; SQLite hands them back naive, so read them through :func:`as_utc`.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.domain import clock


def utcnow() -> datetime:
    return clock.now()


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive datetime read back from SQLite; convert aware ones to UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class IdpAuthCode(Base):
    """An authorization code. Consumed (``used_at``) on its first presentation."""

    __tablename__ = "idp_auth_code"
    __table_args__ = (Index("ix_idp_auth_code_client_nonce", "client_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 (hex) of the code; the raw code is never stored
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(16))
    user_sub: Mapped[str] = mapped_column(String(64), index=True)
    acr: Mapped[str | None] = mapped_column(String(32))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdpAccessToken(Base):
    """A bearer access token for the userinfo endpoint."""

    __tablename__ = "idp_access_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 (hex) of the token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sub: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(Text)
    #: the code it was issued for; its tokens are revoked if the code is replayed
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("idp_auth_code.id", ondelete="SET NULL"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
