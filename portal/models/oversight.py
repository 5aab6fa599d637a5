"""Oversight (issue 16): the monthly reconciliation (月对账) as departments confirm and the
administrator closes it, and the record of every retention run.

A closed month keeps its lines as they were (`recon_line`); what changes in the cases afterwards
is shown beside them as amendments, never written into them. Lines hold no personal number in
clear: the deceased is named masked (林*燕) and found again by the application or blind index.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.models.core import utcnow


class ReconMonth(Base):
    """One county's month: open while departments confirm, frozen once the administrator closes it."""

    __tablename__ = "recon_month"
    __table_args__ = (UniqueConstraint("month", "county_code", name="uq_recon_month_month_county"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    county_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(Integer)  # staff_member.id
    closed_by_name: Mapped[str | None] = mapped_column(String(60))
    as_of: Mapped[date | None] = mapped_column(Date)  # the day the frozen lines were computed for
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class ReconLine(Base):
    """A death of a closed month as it stood when the month was closed (the frozen table)."""

    __tablename__ = "recon_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    month_id: Mapped[int] = mapped_column(ForeignKey("recon_month.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))  # app:<id> or fact:<exchange_event id>, to match live lines
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(32))
    person: Mapped[str] = mapped_column(String(60))  # masked name
    death_date: Mapped[date | None] = mapped_column(Date)
    known_on: Mapped[date | None] = mapped_column(Date)
    cells: Mapped[dict[str, Any]] = mapped_column(JSON)  # column -> {state, on, source}
    exceptions: Mapped[list[Any]] = mapped_column(JSON, default=list)


class ReconConfirmation(Base):
    """A department's confirmation of its part of a county's month."""

    __tablename__ = "recon_confirmation"
    __table_args__ = (UniqueConstraint("month_id", "department", name="uq_recon_confirmation_month_department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month_id: Mapped[int] = mapped_column(ForeignKey("recon_month.id"), index=True)
    department: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int] = mapped_column(Integer)
    staff_name: Mapped[str] = mapped_column(String(60))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(String(300))


class RetentionRun(Base):
    """Every retention run, dry or real: when, who or what started it, the cut-offs and the counts."""

    __tablename__ = "retention_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    trigger: Mapped[str] = mapped_column(String(20))  # cli | schedule
    draft_cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    case_cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    drafts_deleted: Mapped[int] = mapped_column(Integer, default=0)
    cases_anonymised: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # application ids and row counts
