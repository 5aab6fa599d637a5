"""Tables of the other ways a case reaches the portal: the window filling in for a family (代办).

Personal numbers are sealed and blind-indexed like everywhere else (portal/services/pii.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.models.core import Application, utcnow


class ProxyApplicant(Base):
    """The applicant of a case a clerk filled in (窗口代办 / 电话代办), as the clerk saw their
    identity document. The family's account, once they log in with the same document, is
    linked to the case by `document_bidx` (services/proxy.py)."""

    __tablename__ = "proxy_applicant"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_member.id"))
    county_code: Mapped[str | None] = mapped_column(String(6))  # the clerk's county: who may continue the draft
    channel: Mapped[str] = mapped_column(String(20))  # walk_in | phone (domain/reference.py CHANNELS)
    name: Mapped[str] = mapped_column(String(60))
    id_type: Mapped[int] = mapped_column(Integer)  # domain/documents.py ID_TYPES
    document_enc: Mapped[str] = mapped_column(String(255))
    document_bidx: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str] = mapped_column(String(255))
    consent_how: Mapped[str] = mapped_column(String(20))  # in_person | phone
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    application: Mapped[Application] = relationship()


class TextPhone(Base):
    """A mobile number a family member asked their texts to go to instead of the login phone.

    It counts only once verified by the one-time code sent to it (services/text_phone.py): the
    code is kept as a keyed hash, expires, and allows a few attempts. A newer verified number
    replaces the older one (`replaced_at`)."""

    __tablename__ = "text_phone"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("citizen_account.id"), index=True)
    phone_enc: Mapped[str] = mapped_column(String(255))
    phone_bidx: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseAccess(Base):
    """The applicant authorised another family member on their case: an agent (委托: continue,
    correct) or a viewer (read-only progress). The person is recognised when they log in with the
    same 身份证号 (blind index); revoking (`revoked_at`) takes effect on their next request."""

    __tablename__ = "case_access"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    granted_by: Mapped[int] = mapped_column(ForeignKey("citizen_account.id"))
    kind: Mapped[str] = mapped_column(String(10))  # agent | viewer (domain/delegation.py)
    name: Mapped[str] = mapped_column(String(60))
    relation: Mapped[str] = mapped_column(String(30))
    id_card_enc: Mapped[str] = mapped_column(String(255))
    id_card_bidx: Mapped[str] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
