"""Personal data that does not outlive its purpose: drafts nobody finished, and completed cases
past their keeping period.

* A **draft** untouched for `RETENTION_DRAFT_DAYS` is deleted with everything hanging on it.
* A **completed case** older than `RETENTION_CASE_YEARS` (counted from completion) is anonymised:
  the deceased's and the family's rows (names, 身份证号, phones, bank account, certificate) go, and
  so do the saved answers, the receipts and their cached PDFs, the texts, the blind index and
  the officers' free-text messages. What stays is what the statistics and the 月对账 count: the
  case's county, channel and dates, each task's matter, deadline, status and dates, and the
  audit log's who, what and when, its words replaced by the event's label (no personal number,
  no name of the family). The event log is append-only except for exactly this.
* A **login** (citizen account) unused for as long, with no case that still holds personal data,
  loses its numbers and name (the next login fills them in again); facts department systems sent
  about nobody's case lose their blind index after the same period.

`plan` decides, `apply` does; a dry run plans and records, a real run plans, applies and records,
so the two report the same cases. Every run, dry or real, is a `retention_run` row. On SQLite a
real run ends with a WAL checkpoint and VACUUM, so deleted rows do not linger in free pages of
the file; on PostgreSQL, VACUUM reclaims the space and the storage's own erasure applies.
"""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, exists, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.event_wording import OTHER_LABEL, STAFF_EVENTS
from portal.models import (
    Application,
    ApplicationMatter,
    CaseException,
    CaseInvitation,
    CitizenAccount,
    Deceased,
    DepartmentTask,
    Event,
    ExchangeEvent,
    Notification,
    Party,
    Receipt,
    ReconLine,
    RetentionRun,
    TaskDependency,
    WebSession,
)
from portal.services import receipts

ANONYMISED = "（已过保存期限）"
#: keys of a task's result and of an event's snapshots that are counted, not personal: kept
KEPT_RESULT_KEYS = frozenset({"correction_step", "corrected", "cancelled_on", "deduct_from"})
KEPT_SNAPSHOT_KEYS = frozenset({"status", "deadline", "channel", "step", "matters", "started", "field", "fields",
                                "version", "context"})


@dataclass(frozen=True)
class Policy:
    draft_days: int
    case_years: int

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(int(settings.retention_draft_days), int(settings.retention_case_years))


@dataclass
class Plan:
    draft_cutoff: datetime
    case_cutoff: datetime
    drafts: list[int] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)
    facts: list[int] = field(default_factory=list)  # exchange_event rows about nobody's case, as old as a case
    accounts: list[int] = field(default_factory=list)  # logins unused that long, with no case holding personal data


def cutoffs(policy: Policy, now: datetime) -> tuple[datetime, datetime]:
    """(drafts untouched before this go, cases completed before this are anonymised)."""
    try:
        case_cutoff = now.replace(year=now.year - policy.case_years)
    except ValueError:  # 29 February
        case_cutoff = now.replace(year=now.year - policy.case_years, day=28)
    return now - timedelta(days=policy.draft_days), case_cutoff


def plan(session: Session, policy: Policy, *, now: datetime | None = None) -> Plan:
    """What a run would delete and anonymise now (nothing is changed)."""
    now = now or clock.now()
    draft_cutoff, case_cutoff = cutoffs(policy, now)
    drafts = list(session.scalars(
        select(Application.id).where(Application.status == st.APP_DRAFT, Application.updated_at < draft_cutoff)
        .order_by(Application.id)))
    still_personal = or_(exists().where(Deceased.application_id == Application.id),
                         exists().where(Party.application_id == Application.id),
                         Application.draft_blob.is_not(None), Application.deceased_bidx.is_not(None))
    cases = list(session.scalars(
        select(Application.id).where(Application.status == st.APP_COMPLETED, Application.completed_at < case_cutoff,
                                     still_personal).order_by(Application.id)))
    facts = list(session.scalars(
        select(ExchangeEvent.id).where(ExchangeEvent.application_id.is_(None), ExchangeEvent.received_at < case_cutoff,
                                       ExchangeEvent.deceased_bidx.is_not(None)).order_by(ExchangeEvent.id)))
    holds_a_case = exists().where(Application.account_id == CitizenAccount.id, or_(
        Application.status != st.APP_COMPLETED, Application.draft_blob.is_not(None), Application.deceased_bidx.is_not(None)))
    accounts = list(session.scalars(
        select(CitizenAccount.id).where(or_(CitizenAccount.id_card_enc.is_not(None), CitizenAccount.phone_enc.is_not(None)),
                                        func.coalesce(CitizenAccount.last_login_at, CitizenAccount.created_at) < case_cutoff,
                                        ~holds_a_case).order_by(CitizenAccount.id)))
    return Plan(draft_cutoff, case_cutoff, drafts, cases, facts, accounts)


def _scrub(snapshot: dict[str, Any] | None, keep: frozenset[str]) -> dict[str, Any] | None:
    if not snapshot:
        return None
    out = {k: v for k, v in snapshot.items() if k in keep}
    result = snapshot.get("result")
    if isinstance(result, dict):
        out["result"] = {k: v for k, v in result.items() if k in KEPT_RESULT_KEYS}
    return out or None


def _label(tag: str) -> str:
    return STAFF_EVENTS.get(tag, (OTHER_LABEL, None))[0]


def _anonymise_events(session: Session, app_ids: Sequence[int], *, detach: bool) -> int:
    """Keep who did what and when; drop the words, the snapshots' free text, citizens' names and IPs.

    The one change the append-only log allows (services/events.py refuses ORM changes to events):
    written as plain UPDATE statements here, and nowhere else.
    """
    table = Event.__table__
    assert isinstance(table, Table)
    rows = session.execute(select(Event.id, Event.tag, Event.actor_kind, Event.before, Event.after)
                           .where(Event.application_id.in_(app_ids))).all()
    for row in rows:
        values: dict[str, Any] = {"summary": f"{_label(row.tag)}{ANONYMISED}", "ip": None,
                                  "before": _scrub(row.before, KEPT_SNAPSHOT_KEYS),
                                  "after": _scrub(row.after, KEPT_SNAPSHOT_KEYS)}
        if row.actor_kind != "staff":
            values["actor_name"] = None
        if detach:
            values |= {"application_id": None, "task_id": None}
        session.execute(table.update().where(table.c.id == row.id).values(**values))
    return len(rows)


def _exchange(session: Session, ids: Sequence[int], deleting: bool) -> dict[str, int]:
    """The facts department systems pushed about these cases keep their type, sender and date; the
    blind index goes, and so do the contradictions' words and the invitation's phone."""
    counts = {"exchange_event": session.execute(
        update(ExchangeEvent).where(ExchangeEvent.application_id.in_(ids))
        .values(deceased_bidx=None, **({"application_id": None} if deleting else {}))).rowcount}  # type: ignore[attr-defined]
    if deleting:
        for model in (CaseException, CaseInvitation):
            counts[model.__tablename__] = session.execute(
                delete(model).where(model.application_id.in_(ids))).rowcount  # type: ignore[attr-defined]
    else:
        counts["case_exception"] = session.execute(update(CaseException).where(CaseException.application_id.in_(ids))
                                                   .values(detail=ANONYMISED)).rowcount  # type: ignore[attr-defined]
        counts["case_invitation"] = session.execute(update(CaseInvitation).where(CaseInvitation.application_id.in_(ids))
                                                    .values(phone_enc=None)).rowcount  # type: ignore[attr-defined]
    return counts


def _delete_drafts(session: Session, ids: Sequence[int]) -> dict[str, int]:
    counts = {"events": _anonymise_events(session, ids, detach=True), **_exchange(session, ids, True)}
    session.execute(update(ReconLine).where(ReconLine.application_id.in_(ids))
                    .values(application_id=None, person=ANONYMISED))
    task_ids = select(DepartmentTask.id).where(DepartmentTask.application_id.in_(ids))
    session.execute(delete(TaskDependency).where(or_(TaskDependency.task_id.in_(task_ids),
                                                     TaskDependency.depends_on_id.in_(task_ids))))
    for model in (DepartmentTask, ApplicationMatter, Party, Deceased, Receipt, Notification):
        counts[model.__tablename__] = session.execute(
            delete(model).where(model.application_id.in_(ids))).rowcount  # type: ignore[attr-defined]
    session.execute(delete(Application).where(Application.id.in_(ids)))
    return counts


def _anonymise_cases(session: Session, ids: Sequence[int]) -> dict[str, int]:
    counts = {"events": _anonymise_events(session, ids, detach=False), **_exchange(session, ids, False)}
    counts["recon_line"] = session.execute(update(ReconLine).where(ReconLine.application_id.in_(ids))
                                           .values(person=ANONYMISED)).rowcount  # type: ignore[attr-defined]
    for model in (Party, Deceased, Receipt, Notification):
        counts[model.__tablename__] = session.execute(
            delete(model).where(model.application_id.in_(ids))).rowcount  # type: ignore[attr-defined]
    for task in session.scalars(select(DepartmentTask).where(DepartmentTask.application_id.in_(ids))):
        task.message = None
        task.amount = None
        task.result = {k: v for k, v in (task.result or {}).items() if k in KEPT_RESULT_KEYS} or None
    session.execute(update(Application).where(Application.id.in_(ids)).values(
        draft_blob=None, deceased_bidx=None, submit_key=None, return_reason=None, current_step=None))
    return counts


def apply(session: Session, todo: Plan) -> dict[str, Any]:
    """Delete the planned drafts and anonymise the planned cases, in the caller's transaction."""
    detail: dict[str, Any] = {"drafts": todo.drafts, "cases": todo.cases, "facts": todo.facts,
                              "accounts": todo.accounts}
    if session.get_bind().dialect.name == "sqlite":  # zero what is deleted, whatever SQLite was built with
        session.execute(text("PRAGMA secure_delete = ON"))
    if todo.drafts:
        detail["draft_rows"] = _delete_drafts(session, todo.drafts)
    if todo.cases:
        detail["case_rows"] = _anonymise_cases(session, todo.cases)
    if todo.facts:
        session.execute(update(ExchangeEvent).where(ExchangeEvent.id.in_(todo.facts)).values(deceased_bidx=None))
    if todo.accounts:
        detail["account_rows"] = _forget_accounts(session, todo.accounts)
    return detail


def _forget_accounts(session: Session, ids: Sequence[int]) -> dict[str, int]:
    """A login nobody used for the keeping period and with no case left: its numbers and name go (the
    next login fills them in again from the identity provider), its sessions end, and its own
    events keep the account id but lose the name."""
    events = Event.__table__
    assert isinstance(events, Table)
    return {
        "citizen_account": session.execute(update(CitizenAccount).where(CitizenAccount.id.in_(ids)).values(
            id_card_enc=None, id_card_bidx=None, phone_enc=None, name=ANONYMISED)).rowcount,  # type: ignore[attr-defined]
        "web_session": session.execute(delete(WebSession).where(WebSession.account_id.in_(ids))).rowcount,  # type: ignore[attr-defined]
        "events": session.execute(events.update().where(events.c.actor_kind != "staff", events.c.actor_id.in_(ids))
                                  .values(actor_name=None)).rowcount,  # type: ignore[attr-defined]
    }


def remove_cached_files(settings: Any, app_ids: Sequence[int]) -> None:
    """The receipts' cached PDFs of these applications (they print the family's numbers)."""
    for app_id in app_ids:
        shutil.rmtree(receipts.cache_dir(settings, app_id), ignore_errors=True)


def compact(engine: Engine) -> None:
    """SQLite: write the WAL back and rebuild the file, so deleted rows leave no bytes behind."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        conn.execute(text("VACUUM"))
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def run(session: Session, policy: Policy, *, dry_run: bool, trigger: str) -> RetentionRun:
    """Plan, apply unless dry, and record the run, in the caller's transaction (then `compact`)."""
    todo = plan(session, policy)
    record = RetentionRun(dry_run=dry_run, trigger=trigger, draft_cutoff=todo.draft_cutoff,
                          case_cutoff=todo.case_cutoff, started_at=clock.now())
    detail = ({"drafts": todo.drafts, "cases": todo.cases, "facts": todo.facts, "accounts": todo.accounts}
              if dry_run else apply(session, todo))
    record.drafts_deleted, record.cases_anonymised = len(todo.drafts), len(todo.cases)
    record.detail = detail
    record.finished_at = clock.now()
    session.add(record)
    session.flush()
    return record


def describe(record: RetentionRun) -> str:
    """One line for the command line and the job log."""
    verb = ("将删除", "将匿名化") if record.dry_run else ("已删除", "已匿名化")
    facts = (record.detail or {}).get("facts") or []
    accounts = (record.detail or {}).get("accounts") or []
    return (f"{'试运行' if record.dry_run else '已执行'}：{verb[0]} {record.drafts_deleted} 份超过期限未动的草稿"
            f"（{clock.cn_date(clock.as_china(record.draft_cutoff).date())}以前），"
            f"{verb[1]} {record.cases_anonymised} 件超过保存期限的已办结申请"
            f"（{clock.cn_date(clock.as_china(record.case_cutoff).date())}以前办结）"
            + (f"，{'将清除' if record.dry_run else '已清除'} {len(facts)} 条无案件的部门报送的身份索引" if facts else "")
            + (f"，{'将清除' if record.dry_run else '已清除'} {len(accounts)} 个长期未登录账号的号码" if accounts else "")
            + "。")


def history(session: Session, limit: int = 20) -> list[RetentionRun]:
    return list(session.scalars(select(RetentionRun).order_by(RetentionRun.started_at.desc()).limit(limit)))
