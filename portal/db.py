"""Database engine and sessions, and what a database failure means for the request.

Sync SQLAlchemy throughout (see docs/decisions.md): services are plain functions over a
Session; the web layer runs them in Starlette's thread pool so the event loop never blocks.

Failures fall into three kinds, told apart here once (decision D12):
* a conflict: someone else changed the row first (optimistic lock, a unique key taken
  meanwhile): nothing was written, the page says so (409);
* busy: SQLite's write lock was not free within the busy timeout, or PostgreSQL picked this
  transaction as a deadlock or serialisation victim: worth running again (`run_with_retries`);
* storage failure: the database cannot write now (read-only, full disk, unreachable): nothing
  was written (503). The connection pool is invalidated, so connections opened during the
  fault (SQLite keeps a connection opened on an unwritable file read-only for good) are
  replaced and the portal recovers by itself once the fault is gone.
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import MetaData, create_engine, event, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

log = logging.getLogger("portal.db")
T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
BUSY_TIMEOUT_MS = 5000
BUSY_ATTEMPTS = 3  # a request runs at most this often when the database was busy
STORAGE_ATTEMPTS = 2  # one more try on a fresh connection after a storage failure

# SQLite reports these as OperationalError text; PostgreSQL by SQLSTATE.
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema has changed")
_SQLITE_STORAGE = ("readonly database", "disk is full", "disk i/o error", "unable to open database")
_PG_BUSY = {"40001", "40P01", "55P03"}  # serialization failure, deadlock detected, lock not available
_PG_STORAGE_PREFIXES = ("08", "53", "57", "58")  # connection, insufficient resources, shutdown, system
_PG_READ_ONLY = "25006"  # read_only_sql_transaction (a standby, default_transaction_read_only)


class Base(DeclarativeBase):
    """Declarative base shared by the portal and the stand-in identity provider."""

    metadata = MetaData(naming_convention=NAMING)


# --- telling failures apart -----------------------------------------------------------------


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def _text(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).lower()


def is_conflict(exc: BaseException) -> bool:
    """Another request changed the row first, or took the unique value: nothing was written."""
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, sa_exc.IntegrityError):
        return _sqlstate(exc) == "23505" or "unique constraint failed" in _text(exc)
    return False


def is_busy(exc: BaseException) -> bool:
    """The database was busy with other writers; the same work may simply be run again."""
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    return _sqlstate(exc) in _PG_BUSY or any(m in _text(exc) for m in _SQLITE_BUSY)


def _storage_fault(orig: BaseException, sqlstate: str) -> bool:
    text = str(orig).lower()
    return (sqlstate == _PG_READ_ONLY or sqlstate.startswith(_PG_STORAGE_PREFIXES)
            or any(m in text for m in _SQLITE_STORAGE))


def is_storage_failure(exc: BaseException) -> bool:
    """The database cannot store anything right now (read-only, full, unreachable, busy)."""
    if isinstance(exc, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):  # pool exhausted, server gone
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or (exc.orig is not None and _storage_fault(exc.orig, _sqlstate(exc)))
    return False


# --- engine -------------------------------------------------------------------------------


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _replace_connections_after_storage_fault(ctx: Any) -> None:
    """Treat a storage fault like a lost connection: SQLAlchemy then invalidates the whole pool.

    Without this a connection opened while the SQLite file could not be written stays
    read-only for its lifetime (and a PostgreSQL session opened on a read-only server keeps
    its read-only default), passes the pool's pre-ping, and fails every write until a restart.
    """
    orig = ctx.original_exception
    if ctx.is_disconnect or not isinstance(ctx.sqlalchemy_exception, sa_exc.DBAPIError):
        return
    if _storage_fault(orig, str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")):
        ctx.is_disconnect = True


def private_sqlite_file(url: str) -> None:
    """The SQLite file holds personal data: create it readable by its owner only (0600), and
    tighten one that exists. SQLite gives its -wal and -shm files the database file's mode."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists() and path.parent.is_dir():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for part in (path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))):
        if part.exists():
            os.chmod(part, 0o600)


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.
    The app passes DB_POOL_SIZE / DB_MAX_OVERFLOW (PostgreSQL: connections per process)."""
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_pre_ping=True,
                               pool_size=pool_size, max_overflow=max_overflow)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)
    event.listen(engine, "handle_error", _replace_connections_after_storage_fault)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    Errors are not translated here: callers that can do better catch them (a submission
    that raced its own double tap), and the web layer turns the rest into the right page
    (409 conflict, 503 nothing saved) in one place, `portal.web.site.db_fault`.
    """
    with factory() as session:
        with session.begin():
            yield session


# --- running a unit of work again when the database was busy --------------------------------

_current = threading.local()


class _Attempt:
    __slots__ = ("commits",)

    def __init__(self) -> None:
        self.commits = 0


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    attempt = getattr(_current, "attempt", None)
    if attempt is not None:
        attempt.commits += 1


def run_with_retries(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn`, again (bounded) when the database was busy or a connection left from a
    storage fault failed, but only while this attempt has committed nothing.

    `fn` is a whole request's work (see `portal.web.common.page`): with nothing committed yet,
    running it again is the same as the user pressing the button once more. An error that
    escapes carries `committed_before` (did an earlier transaction of this request commit?),
    so the error page does not claim that nothing was saved when something was.
    """
    attempt_no = 0
    outer = getattr(_current, "attempt", None)
    try:
        while True:
            attempt_no += 1
            attempt = _Attempt()
            _current.attempt = attempt
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                busy = is_busy(exc)
                limit = BUSY_ATTEMPTS if busy else STORAGE_ATTEMPTS
                if attempt.commits or attempt_no >= limit or not (busy or is_storage_failure(exc)):
                    if isinstance(exc, sa_exc.SQLAlchemyError):
                        exc.committed_before = bool(attempt.commits)  # type: ignore[attr-defined]
                    raise
                log.warning("database %s, running the request again (attempt %d): %s",
                            "busy" if busy else "failed", attempt_no + 1, exc.__class__.__name__)
                if busy:
                    time.sleep(0.05 * 2 ** (attempt_no - 1) * (0.5 + random.random()))
    finally:
        _current.attempt = outer
