"""`python -m portal backup FILE` / `restore FILE`: a consistent copy of the database while the
portal keeps serving, and putting it back into an empty database.

* SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one step
  under one read transaction: one consistent snapshot, while writers go on in the WAL (a
  step-wise copy would restart at every commit and might never finish under load).
  Restore copies the file back the same way, into a database that must be empty.
* PostgreSQL: `pg_dump --format=custom` (one REPEATABLE READ snapshot, the server keeps
  serving) and `pg_restore --no-owner --exit-on-error` into an empty database.

The copy holds everything, personal numbers sealed as in the database (they stay unreadable
without PII_KEY, which is kept apart: docs/deploy.md). A restore refuses a database that already
has applications, so it cannot overwrite live data by mistake.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import inspect, make_url, text
from sqlalchemy.engine import URL

from portal.db import make_engine, private_sqlite_file


class BackupError(Exception):
    """Said to the operator as it is."""


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_env(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for pg_dump/pg_restore (the password through PGPASSWORD, not argv)."""
    args = ["--dbname", url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the database to `target`; returns it."""
    url = make_url(database_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        tmp = target.with_name(target.name + ".part")
        tmp.unlink(missing_ok=True)
        private_sqlite_file(f"sqlite:///{tmp}")
        copy = sqlite3.connect(tmp)
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        os.replace(tmp, target)
        return target
    if url.get_backend_name() == "postgresql":
        args, env = _pg_env(url)
        done = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        os.chmod(target, 0o600)
        return target
    raise BackupError(f"no backup for {url.get_backend_name()}")


def _has_applications(database_url: str) -> bool:
    engine = make_engine(database_url)
    try:
        if "application" not in inspect(engine).get_table_names():
            return False
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM application LIMIT 1")).first())
    finally:
        engine.dispose()


def restore(database_url: str, source: Path) -> None:
    """Put a backup into an empty database (refused when it holds applications)."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if _has_applications(database_url):
        raise BackupError("the database already holds applications; restore only into an empty database")
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        private_sqlite_file(database_url)
        backup_copy = sqlite3.connect(source)
        target = sqlite3.connect(path)
        try:
            with target:
                backup_copy.backup(target)
        finally:
            target.close()
            backup_copy.close()
        return
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url)
        try:
            with engine.begin() as conn:  # an empty database may still have the migrated, empty schema
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        finally:
            engine.dispose()
        args, env = _pg_env(url)
        done = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", *args, str(source)],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        return
    raise BackupError(f"no restore for {url.get_backend_name()}")
