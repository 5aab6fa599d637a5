"""Each test inside one transaction that is rolled back at its end (no tables emptied).

SQLAlchemy's "join an external transaction" recipe, applied below the engine so that nothing
in the portal or in the tests has to know: one database connection holds an outer transaction
for the whole test, and a test engine hands out that connection only. Every transaction that
code begins on the test engine (a Session's, `engine.begin()`, the throttle's own short
transactions, an autobegun `engine.connect()`) becomes a SAVEPOINT inside the outer
transaction: its commit releases the savepoint (later reads see the rows, as after a real
commit), its rollback rolls back to it (earlier work stays). The outer transaction is rolled
back when the test ends, so the next test starts from the migrated, seeded database.

Only one connection exists, so a test whose code needs two at once (threads racing,
subprocesses, a live server, a second engine, a changed isolation level, storage faults)
is marked `@pytest.mark.real_commits`: it gets the real engine and the tables are emptied
after it, as before.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool


class _OuterTransactionConnection:
    """The DBAPI connection as the test engine sees it: commit, rollback and close are left to
    the savepoints (see `RollbackEngine`), so the outer transaction is never ended by code."""

    def __init__(self, raw: Any) -> None:
        object.__setattr__(self, "_raw", raw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._raw, name, value)

    def commit(self) -> None:
        """Done by the engine's `commit` event (RELEASE SAVEPOINT)."""

    def rollback(self) -> None:
        """Done by the engine's `rollback` event (ROLLBACK TO SAVEPOINT)."""

    def close(self) -> None:
        """The connection lives as long as the test session."""


class RollbackEngine:
    """A test engine over one connection of `real`; `test()` wraps one test's outer transaction."""

    def __init__(self, real: Engine) -> None:
        proxied = real.raw_connection()
        proxied.detach()  # ours alone, outside the real engine's pool, with its connect-time settings
        raw = proxied.dbapi_connection
        assert raw is not None
        self._raw: Any = raw
        self._sqlite = real.dialect.name == "sqlite"
        if self._sqlite:
            self._raw.isolation_level = None  # pysqlite begins nothing by itself: we say BEGIN
        self._savepoints: dict[int, str] = {}
        self._names = itertools.count(1)
        conn = _OuterTransactionConnection(self._raw)
        # (psycopg's hstore look-up wants its own connection class, and no table uses hstore)
        options = {} if self._sqlite else {"use_native_hstore": False}
        self.engine = create_engine(real.url, creator=lambda: conn, poolclass=StaticPool,
                                    pool_reset_on_return=None, **options)
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)

    def _run(self, sql: str) -> None:
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _begin(self, conn: Connection) -> None:
        name = f"test_tx_{next(self._names)}"
        self._savepoints[id(conn)] = name
        self._run(f"SAVEPOINT {name}")

    def _commit(self, conn: Connection) -> None:
        name = self._savepoints.pop(id(conn), None)
        if name:
            self._run(f"RELEASE SAVEPOINT {name}")

    def _rollback(self, conn: Connection) -> None:
        name = self._savepoints.pop(id(conn), None)
        if name:
            self._run(f"ROLLBACK TO SAVEPOINT {name}")
            self._run(f"RELEASE SAVEPOINT {name}")

    @contextmanager
    def test(self) -> Iterator[Engine]:
        """One test: the outer transaction begins, and is rolled back whatever happened."""
        if self._sqlite:
            self._run("BEGIN")
        # (psycopg begins the outer transaction by itself at the first statement)
        try:
            yield self.engine
        finally:
            self._savepoints.clear()
            self._raw.rollback()

    def close(self) -> None:
        self.engine.dispose()
        self._raw.close()
