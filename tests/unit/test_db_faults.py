"""How database failures are told apart, and when a request's work runs again (portal.db)."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.db import is_busy, is_conflict, is_storage_failure, make_engine, run_with_retries


class PgError(Exception):
    """A stand-in for a psycopg error: only its SQLSTATE matters here."""

    def __init__(self, sqlstate: str, message: str = "") -> None:
        super().__init__(message or sqlstate)
        self.sqlstate = sqlstate


def sqlite_error(kind: type[sa_exc.DBAPIError], message: str) -> sa_exc.DBAPIError:
    orig = (sqlite3.IntegrityError if kind is sa_exc.IntegrityError else sqlite3.OperationalError)(message)
    return kind("UPDATE x", {}, orig)


def pg_error(kind: type[sa_exc.DBAPIError], sqlstate: str) -> sa_exc.DBAPIError:
    return kind("UPDATE x", {}, PgError(sqlstate))


def test_conflicts() -> None:
    assert is_conflict(StaleDataError("UPDATE statement on table 'application' expected to update 1 row(s)"))
    assert is_conflict(sqlite_error(sa_exc.IntegrityError, "UNIQUE constraint failed: application.number"))
    assert is_conflict(pg_error(sa_exc.IntegrityError, "23505"))
    assert not is_conflict(sqlite_error(sa_exc.IntegrityError, "FOREIGN KEY constraint failed"))  # a defect
    assert not is_conflict(pg_error(sa_exc.IntegrityError, "23503"))
    assert not is_conflict(sqlite_error(sa_exc.OperationalError, "database is locked"))


def test_busy_and_storage_failures() -> None:
    locked = sqlite_error(sa_exc.OperationalError, "database is locked")
    assert is_busy(locked) and is_storage_failure(locked)
    assert is_busy(pg_error(sa_exc.OperationalError, "40P01")) and is_busy(pg_error(sa_exc.OperationalError, "40001"))
    for message in ("attempt to write a readonly database", "database or disk is full", "disk I/O error",
                    "unable to open database file"):
        failure = sqlite_error(sa_exc.OperationalError, message)
        assert is_storage_failure(failure) and not is_busy(failure) and not is_conflict(failure)
    assert is_storage_failure(pg_error(sa_exc.InternalError, "25006"))  # read-only transaction (a standby)
    assert is_storage_failure(pg_error(sa_exc.OperationalError, "53100"))  # disk full
    assert is_storage_failure(sa_exc.TimeoutError("QueuePool limit reached"))
    assert not is_storage_failure(pg_error(sa_exc.ProgrammingError, "42P01"))  # a defect, not the storage
    assert not is_storage_failure(ValueError("x"))


def test_busy_work_runs_again_up_to_three_times() -> None:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise sqlite_error(sa_exc.OperationalError, "database is locked")
        return "done"

    assert run_with_retries(work) == "done" and len(calls) == 3

    calls.clear()

    def always_busy() -> None:
        calls.append(1)
        raise sqlite_error(sa_exc.OperationalError, "database is locked")

    with pytest.raises(sa_exc.OperationalError) as caught:
        run_with_retries(always_busy)
    assert len(calls) == 3 and caught.value.committed_before is False  # type: ignore[attr-defined]


def test_a_storage_failure_gets_one_more_try_and_a_conflict_none() -> None:
    calls: list[str] = []

    def read_only() -> None:
        calls.append("ro")
        raise sqlite_error(sa_exc.OperationalError, "attempt to write a readonly database")

    with pytest.raises(sa_exc.OperationalError):
        run_with_retries(read_only)
    assert calls == ["ro", "ro"]

    def defect() -> None:
        calls.append("bug")
        raise StaleDataError("conflict")

    with pytest.raises(StaleDataError):
        run_with_retries(defect)
    assert calls.count("bug") == 1


def test_nothing_runs_again_once_something_was_committed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    calls: list[int] = []

    def two_transactions() -> None:
        calls.append(1)
        with Session(engine) as s, s.begin():
            s.execute(text("INSERT INTO t VALUES (1)"))
        raise sqlite_error(sa_exc.OperationalError, "database is locked")  # in the second one

    with pytest.raises(sa_exc.OperationalError) as caught:
        run_with_retries(two_transactions)
    assert len(calls) == 1 and caught.value.committed_before is True  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()
