"""Background jobs: a transactional outbox worked by `python -m portal worker`.

Why a table of our own (docs/decisions.md D12): no kept Python job library covers both the
embedded SQLite default and PostgreSQL *and* lets a job be written in the caller's SQLAlchemy
transaction. So:

* `enqueue` adds a row in the caller's session: a rolled-back change queues nothing;
* `claim` leases one due row in a single UPDATE (PostgreSQL: `FOR UPDATE SKIP LOCKED` in the
  sub-select; SQLite: the statement runs under the database's one write lock), so two workers
  never hold the same job; a job whose worker died is due again when its lease runs out;
* `run_one` runs the handler and marks the job done in the *same* transaction, guarded by the
  lease holder: if the lease was lost meanwhile, the handler's database effects roll back, so
  a job's database effects happen exactly once; effects outside (an SMS) are at least once and
  handlers make them idempotent (the SMS carries its outbox id);
* failures retry with exponential backoff and end as `dead` after `max_attempts`, visible to
  administrators, who can retry or cancel them.
"""
from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal.domain import clock
from portal.models import Job

log = logging.getLogger("portal.jobs")

QUEUED, RUNNING, DONE, DEAD, CANCELLED = "queued", "running", "done", "dead", "cancelled"
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 3600.0


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload: the database, settings and services it may use."""

    db: sessionmaker[Session]
    extras: dict[str, Any]
    job_id: int
    attempt: int


Handler = Callable[[Session, dict[str, Any], JobContext], None]
HANDLERS: dict[str, Handler] = {}
#: kind -> what administrators read for it
LABELS: dict[str, str] = {}
STATUS_LABELS = {QUEUED: "等待执行", RUNNING: "执行中", DONE: "已完成", DEAD: "已放弃（需处理）", CANCELLED: "已取消"}
#: kind -> what to record when a job of that kind gives up (e.g. mark its texts failed)
DEAD_HOOKS: dict[str, Callable[[Session, dict[str, Any], str], None]] = {}


class PermanentError(Exception):
    """A failure that retrying cannot fix: the job goes straight to the dead letters."""


class RetryLater(Exception):
    """Not a failure: try again after `seconds` (a rate limit), without using up an attempt."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:.0f} s")
        self.seconds = seconds


def handler(kind: str, label: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind`, and its name for administrators."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        LABELS[kind] = label
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> Job | None:
    """Queue a job in the caller's transaction; with `dedupe_key`, at most one such job ever exists.

    Returns the job, or None when a job with the same key is already there.
    """
    if dedupe_key is not None:
        existing = session.scalar(select(Job.id).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    job = Job(kind=kind, payload=payload or {}, status=QUEUED, run_at=run_at or clock.now(),
              attempts=0, max_attempts=max_attempts, dedupe_key=dedupe_key, created_at=clock.now())
    if dedupe_key is None:
        session.add(job)
        return job
    try:
        with session.begin_nested():  # a concurrent twin with the same key: keep theirs
            session.add(job)
    except IntegrityError:
        return None
    return job


def _due(now: datetime) -> Any:
    return or_(and_(Job.status == QUEUED, Job.run_at <= now),
               and_(Job.status == RUNNING, Job.lease_until < now))


def claim(db: sessionmaker[Session], worker_id: str, lease_seconds: float) -> Job | None:
    """Lease the oldest due job to `worker_id`, or return None when nothing is due."""
    now = clock.now()
    pick = (select(Job.id).where(_due(now)).order_by(Job.run_at, Job.id).limit(1)
            .with_for_update(skip_locked=True).scalar_subquery())
    with db() as session, session.begin():
        job_id = session.execute(
            update(Job).where(Job.id == pick, _due(now))
            .values(status=RUNNING, locked_by=worker_id, lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=Job.attempts + 1)
            .returning(Job.id).execution_options(synchronize_session=False)
        ).scalar()
        if job_id is None:
            return None
        return session.get(Job, job_id)


def extend_lease(db: sessionmaker[Session], job_id: int, worker_id: str, lease_seconds: float) -> bool:
    """Heartbeat for a long job; False when the lease was lost to another worker."""
    with db() as session, session.begin():
        result = session.execute(
            update(Job).where(Job.id == job_id, Job.locked_by == worker_id, Job.status == RUNNING)
            .values(lease_until=clock.now() + timedelta(seconds=lease_seconds))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class LeaseLost(Exception):
    """The job was taken over after our lease expired; our transaction is rolled back."""


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: about 10 s, 20 s, 40 s … capped at an hour."""
    base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return base * random.uniform(0.8, 1.2)


def run_one(db: sessionmaker[Session], job: Job, worker_id: str, extras: dict[str, Any]) -> str:
    """Run a claimed job; returns its new status (done, queued for a retry, or dead)."""
    fn = HANDLERS.get(job.kind)
    ctx = JobContext(db=db, extras=extras, job_id=job.id, attempt=job.attempts)
    try:
        if fn is None:
            raise PermanentError(f"no handler for job kind {job.kind!r}")
        with db() as session, session.begin():
            fn(session, dict(job.payload or {}), ctx)
            finished = session.execute(
                update(Job).where(Job.id == job.id, Job.locked_by == worker_id, Job.status == RUNNING)
                .values(status=DONE, finished_at=clock.now(), lease_until=None, last_error=None)
            )
            if not finished.rowcount:  # type: ignore[attr-defined]
                raise LeaseLost(job.id)
        return DONE
    except LeaseLost:
        log.warning("job %s (%s): lease lost, its work was rolled back", job.id, job.kind)
        return RUNNING
    except RetryLater as later:
        with db() as session, session.begin():
            session.execute(update(Job).where(Job.id == job.id, Job.locked_by == worker_id).values(
                status=QUEUED, lease_until=None, locked_by=None, attempts=Job.attempts - 1,
                run_at=clock.now() + timedelta(seconds=later.seconds), last_error=str(later)))
        return QUEUED
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job and retried
        permanent = isinstance(exc, PermanentError)
        return _record_failure(db, job, worker_id, exc, permanent)


def _record_failure(db: sessionmaker[Session], job: Job, worker_id: str, exc: BaseException, permanent: bool) -> str:
    reason = f"{type(exc).__name__}: {exc}"[:2000]
    dead = permanent or job.attempts >= job.max_attempts
    status = DEAD if dead else QUEUED
    values: dict[str, Any] = {"status": status, "lease_until": None, "locked_by": None, "last_error": reason}
    if dead:
        values["finished_at"] = clock.now()
    else:
        values["run_at"] = clock.now() + timedelta(seconds=backoff_seconds(job.attempts))
    with db() as session, session.begin():
        session.execute(update(Job).where(Job.id == job.id, Job.locked_by == worker_id).values(**values))
        hook = DEAD_HOOKS.get(job.kind)
        if dead and hook is not None:
            hook(session, dict(job.payload or {}), reason)
    log.warning("job %s (%s) attempt %s failed%s: %s", job.id, job.kind, job.attempts,
                " and is dead" if dead else "", reason)
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return status


# --- administration ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueStats:
    counts: dict[str, int]
    due: int
    oldest_due_seconds: float | None
    retrying: int


def stats(session: Session) -> QueueStats:
    """Counts by status and the age of the oldest due job (what /healthz and the admin show)."""
    now = clock.now()
    counts = {status: n for status, n in session.execute(select(Job.status, func.count()).group_by(Job.status))}
    due_filter = _due(now)
    due = session.scalar(select(func.count()).select_from(Job).where(due_filter)) or 0
    oldest = session.scalar(select(func.min(Job.run_at)).where(due_filter))
    retrying = session.scalar(select(func.count()).select_from(Job).where(Job.status == QUEUED, Job.attempts > 0)) or 0
    age = None
    if oldest is not None:
        if oldest.tzinfo is None:  # SQLite returns naive UTC
            oldest = oldest.replace(tzinfo=now.tzinfo)
        age = max(0.0, (now - oldest).total_seconds())
    return QueueStats(counts=counts, due=due, oldest_due_seconds=age, retrying=retrying)


def listing(session: Session, status: str | None = None, limit: int = 100) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status == "failed":
        query = query.where(Job.status == QUEUED, Job.attempts > 0)
    elif status:
        query = query.where(Job.status == status)
    return list(session.scalars(query))


def retry(session: Session, job_id: int) -> bool:
    """An administrator sends a dead (or cancelled) job back to the queue, with fresh attempts."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_((DEAD, CANCELLED)))
        .values(status=QUEUED, attempts=0, run_at=clock.now(), finished_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def cancel(session: Session, job_id: int) -> bool:
    """An administrator withdraws a job that has not run yet (or is dead)."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_((QUEUED, DEAD)))
        .values(status=CANCELLED, finished_at=clock.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
