"""The portal's data model (SQLAlchemy 2 typed mappings).

Personal numbers are never stored in clear: `*_enc` columns hold AES-GCM ciphertext and
`*_bidx` columns an HMAC blind index (see portal/crypto.py). Status values are plain
strings whose meaning lives in portal/domain (state machines); the DB only stores them.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.domain import clock


def utcnow() -> datetime:
    return clock.now()


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class CitizenAccount(TimestampMixin, Base):
    """A person who logged in through the government identity (family member or staff).

    Only (issuer, sub) identifies a person: the same `sub` at another provider is someone else.
    """

    __tablename__ = "citizen_account"
    __table_args__ = (UniqueConstraint("issuer", "sub", name="uq_citizen_account_issuer_sub"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sub: Mapped[str] = mapped_column(String(128))
    issuer: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(60))
    id_type: Mapped[int] = mapped_column(Integer, default=1)
    id_card_enc: Mapped[str | None] = mapped_column(String(255))
    id_card_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    auth_level: Mapped[int] = mapped_column(Integer, default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffMember(TimestampMixin, Base):
    """Staff membership is granted here (by an administrator or the demo seed), never by a claim."""

    __tablename__ = "staff_member"
    __table_args__ = (UniqueConstraint("issuer", "sub", name="uq_staff_member_issuer_sub"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))  # the provider this membership is for
    sub: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20))  # window_clerk | officer | admin
    department: Mapped[str | None] = mapped_column(String(20))
    county_code: Mapped[str | None] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Application(TimestampMixin, Base):
    """One 一表申请: a draft until submitted, then the case every department task hangs on."""

    __tablename__ = "application"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # 编号, set on submit
    # NULL for a proactive case (主动办) until a family joins it
    account_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_account.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    channel: Mapped[str] = mapped_column(String(20), default="online")  # online | walk_in | phone | proactive
    entered_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    scenario: Mapped[str | None] = mapped_column(String(20))
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    township: Mapped[str | None] = mapped_column(String(60))
    current_step: Mapped[str | None] = mapped_column(String(40))
    draft_blob: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted JSON answers
    deceased_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    submit_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # idempotency
    return_reason: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    deceased: Mapped[Deceased | None] = relationship(back_populates="application", uselist=False)
    parties: Mapped[list[Party]] = relationship(back_populates="application")
    matters: Mapped[list[ApplicationMatter]] = relationship(back_populates="application")
    tasks: Mapped[list[DepartmentTask]] = relationship(back_populates="application")


class Deceased(Base):
    """The person who died, as stated on the 登记表 (fields of DOMAIN.md §1.3)."""

    __tablename__ = "deceased"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    id_card_enc: Mapped[str] = mapped_column(String(255))
    id_card_bidx: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str] = mapped_column(String(2))
    birth_date: Mapped[date] = mapped_column(Date)
    age: Mapped[int] = mapped_column(Integer)
    ethnicity: Mapped[str] = mapped_column(String(2))
    hukou_county: Mapped[str] = mapped_column(String(6))
    hukou_township: Mapped[str] = mapped_column(String(60))
    hukou_address: Mapped[str | None] = mapped_column(String(200))
    temp_township: Mapped[str | None] = mapped_column(String(100))
    death_time: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    death_cause: Mapped[str] = mapped_column(String(200))
    certificate_type: Mapped[str] = mapped_column(String(20))  # medical | police
    # From 2026-07-01 the certificate number is the deceased's 身份证号: sealed like one (services/pii.py).
    certificate_no_enc: Mapped[str | None] = mapped_column(String(255))
    certificate_no_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    body_at_funeral_home: Mapped[bool] = mapped_column(Boolean)
    funeral_home: Mapped[str | None] = mapped_column(String(100))
    pickup_address: Mapped[str | None] = mapped_column(String(200))
    pickup_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    ashes_category: Mapped[str] = mapped_column(String(30))
    ashes_place: Mapped[str] = mapped_column(String(100))
    procession_route: Mapped[str | None] = mapped_column(String(200))
    pension_type: Mapped[str] = mapped_column(String(30))
    is_veteran: Mapped[bool] = mapped_column(Boolean, default=False)
    has_disability_cert: Mapped[bool] = mapped_column(Boolean, default=False)
    receives_assistance: Mapped[bool] = mapped_column(Boolean, default=False)
    civil_pledge_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(back_populates="deceased")


class Party(Base):
    """The applicant (申请人) or the benefit recipient (丧葬抚恤金领取人) of an application."""

    __tablename__ = "party"
    __table_args__ = (UniqueConstraint("application_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # applicant | recipient
    name: Mapped[str] = mapped_column(String(60))
    relation: Mapped[str] = mapped_column(String(30))
    id_card_enc: Mapped[str | None] = mapped_column(String(255))
    id_card_bidx: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)  # staff find a case by phone
    address: Mapped[str | None] = mapped_column(String(200))
    bank_name: Mapped[str | None] = mapped_column(String(60))
    bank_account_enc: Mapped[str | None] = mapped_column(String(255))
    luhn_warning_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)

    application: Mapped[Application] = relationship(back_populates="parties")


class ApplicationMatter(Base):
    """A matter the family ticked (申请办理事项), or an automatic 注5 follow-up."""

    __tablename__ = "application_matter"
    __table_args__ = (UniqueConstraint("application_id", "matter_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    matter_code: Mapped[str] = mapped_column(String(30))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)

    application: Mapped[Application] = relationship(back_populates="matters")


class DepartmentTask(TimestampMixin, Base):
    """One department's part of an application, worked within its time limit (限时结办)."""

    __tablename__ = "department_task"
    __table_args__ = (
        UniqueConstraint("application_id", "matter_code"),
        Index("ix_task_queue", "department", "county_code", "status", "deadline"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    matter_code: Mapped[str] = mapped_column(String(30))
    department: Mapped[str] = mapped_column(String(20))
    county_code: Mapped[str] = mapped_column(String(6))
    # waiting | pending | in_progress | returned | done | refused
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    deadline: Mapped[date | None] = mapped_column(Date)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    message: Mapped[str | None] = mapped_column(Text)  # officer's words to the family
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    amount: Mapped[float | None] = mapped_column(Numeric(12, 2))  # e.g. 医保 settlement, may be negative
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Position in the change feed (GET /api/v1/tasks?cursor=…), set at each commit that changed it: services/task_feed.py
    change_seq: Mapped[int | None] = mapped_column(BigInteger, index=True)
    __mapper_args__ = {"version_id_col": version}

    application: Mapped[Application] = relationship(back_populates="tasks")
    depends_on: Mapped[list[TaskDependency]] = relationship(
        foreign_keys="TaskDependency.task_id", back_populates="task"
    )


class TaskDependency(Base):
    """task_id may not complete before depends_on_id is done (e.g. 医保清算 before 人社 payout, 注2/注4)."""

    __tablename__ = "task_dependency"
    task_id: Mapped[int] = mapped_column(ForeignKey("department_task.id"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("department_task.id"), primary_key=True)

    task: Mapped[DepartmentTask] = relationship(foreign_keys=[task_id], back_populates="depends_on")
    prerequisite: Mapped[DepartmentTask] = relationship(foreign_keys=[depends_on_id])


class Event(Base):
    """Append-only log of every change: who, when, what, before/after. Never updated or deleted."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    tag: Mapped[str] = mapped_column(String(80))  # source:subject:action, e.g. staff:task:complete
    actor_kind: Mapped[str] = mapped_column(String(20))  # citizen | staff | system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str | None] = mapped_column(String(60))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("department_task.id"), index=True)
    summary: Mapped[str] = mapped_column(String(300))  # plain Chinese, shown in timelines
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # shown to the family
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))


class Notification(Base):
    """SMS outbox: queued in the same transaction as the change it reports."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_bidx: Mapped[str | None] = mapped_column(String(64), index=True)  # per-number rate limit, set on send
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)  # queued | sent | failed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PolicyArticle(Base):
    """An entry of the policy knowledge base (content/policies), loaded by migrate/seed."""

    __tablename__ = "policy_article"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    body_md: Mapped[str] = mapped_column(Text)
    matters: Mapped[list[str]] = mapped_column(JSON, default=list)
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    situations: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[list[str]] = mapped_column(JSON, default=list)
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    related: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    time_limit: Mapped[str] = mapped_column(String(200), default="")
    verify_locally: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[str] = mapped_column(String(10), default="medium")
    reviewed: Mapped[date | None] = mapped_column(Date)
    search_text: Mapped[str] = mapped_column(Text, default="")  # segmented words for full-text search
    content_hash: Mapped[str] = mapped_column(String(64), default="")


class Receipt(Base):
    """A receipt (回执) issued for one version of an application; its token is in the QR code."""

    __tablename__ = "receipt"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    app_version: Mapped[int] = mapped_column(Integer)
    # Fingerprint of the family's answers as printed; a receipt stays current until they change
    # (a department's progress changes the status, not what the family stated).
    answers_digest: Mapped[str | None] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NumberSequence(Base):
    """Per county and day counter for readable application numbers (编号)."""

    __tablename__ = "number_sequence"
    prefix: Mapped[str] = mapped_column(String(20), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ThrottleCounter(Base):
    """One fixed-window counter of portal/services/throttle.py (limits' storage interface).

    `key` names the limit, the window length and a keyed hash of who is counted (never an IP,
    username or account id in clear); `expires_at` is epoch seconds, when the window ends.
    """

    __tablename__ = "throttle_counter"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float(precision=53), index=True)


class Job(Base):
    """Background work, written in the same transaction as the change that causes it (outbox).

    status: queued (due at run_at) | running (leased to a worker until lease_until) | done |
    dead (gave up after max_attempts; an administrator may retry) | cancelled.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_by: Mapped[str | None] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScheduleRun(Base):
    """One row per schedule and period: the primary key makes a schedule fire once across workers."""

    __tablename__ = "schedule_run"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Heartbeat(Base):
    """A row that /healthz rewrites: proof that the database accepts writes, not only reads."""

    __tablename__ = "heartbeat"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A browser session kept on the server (auth/sessions.py): the cookie carries a random id,
    this row only its SHA-256, so a session can be ended at once (logout, staff deactivation)."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("citizen_account.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # for the purge only
