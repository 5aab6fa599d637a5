"""Helpers for concurrency tests (no tests here): prove that requests really overlapped.

A `Rendezvous` wraps a function the code under test calls between reading and writing. Its
first round holds the callers until all parties have arrived, so every request has read the
same state before any of them writes: the race is forced, not hoped for (no sleeps).
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine

T = TypeVar("T")


class Rendezvous:
    """Holds callers in rounds: `Rendezvous(3, 2)` makes the first 3 calls wait for each other,
    then the next 2; later calls pass straight through.

    A round whose parties do not all arrive within `timeout` seconds is recorded as not met
    (and its waiters go on), so the code under test behaves as it would; assert on `met`.
    """

    def __init__(self, *rounds: int, timeout: float = 10.0) -> None:
        self.rounds = rounds
        self.timeout = timeout
        self.met = [False] * len(rounds)
        self._barriers = [threading.Barrier(n) for n in rounds]
        self._slots = [i for i, n in enumerate(rounds) for _ in range(n)]
        self._calls = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            call = self._calls
            self._calls += 1
        if call >= len(self._slots):
            return
        index = self._slots[call]
        try:
            self._barriers[index].wait(self.timeout)
            self.met[index] = True
        except threading.BrokenBarrierError:
            pass

    def wrap(self, fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def waiting(*args: Any, **kwargs: Any) -> T:
            self.wait()
            return fn(*args, **kwargs)

        return waiting


def together(fn: Callable[[int], T], n: int) -> list[T]:
    """Run fn(0) … fn(n-1) in n threads at once; results in order, the first error re-raised."""
    results: list[Any] = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait(30)
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return results


def blocked_on_a_lock(engine: Engine, timeout: float = 10.0) -> bool:
    """PostgreSQL: wait until another connection of this database waits for a lock (the proof that
    a racer is held by the transaction under test, not merely slow). False after `timeout`."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(query).scalar_one():
                return True
            conn.rollback()  # a fresh snapshot of the activity view
            time.sleep(0.01)
    return False
