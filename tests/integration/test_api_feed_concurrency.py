"""The task change feed under concurrent writers: stable order, no gaps, no duplicates.

Writers change tasks in overlapping transactions, each held open for a moment after it took its
feed number and before it commits (a sleep wrapped around `next_numbers`: the window where a
number is known but not yet visible); a reader pages through the feed with its cursor all the
while. Every
committed change must reach the reader (itself, or a later change of the same task), and the
reader must never see a position twice or go backwards. Run it on PostgreSQL too
(scripts/with-postgres.sh): there, transactions really commit out of order.
"""
from __future__ import annotations

import random
import threading
import time

from sqlalchemy.orm.exc import StaleDataError

from portal.db import transaction
from portal.domain.api_scope import ClientScope
from portal.models import DepartmentTask
from portal.services import task_feed, task_views
from tests.integration.test_api_tasks import accepted, task_id

WRITERS = 4
CHANGES_EACH = 25
TASKS = 40  # many tasks change only once: a skipped change cannot hide behind a later one


def test_concurrent_writers_leave_no_gap_and_no_duplicate(db, vault, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    numbered = task_feed.next_numbers
    pause = random.Random(7)

    def slow_numbers(session, count):  # type: ignore[no-untyped-def]
        got = numbered(session, count)
        time.sleep(pause.random() * 0.01)  # the commit comes a moment after the number was taken
        return got

    monkeypatch.setattr(task_feed, "next_numbers", slow_numbers)
    ids = [task_id(db, accepted(db, vault), "hukou") for _ in range(TASKS)]
    scope = ClientScope("dc_test", "测试", "gongan", "330302", 0)
    committed: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    done = threading.Event()
    lock = threading.Lock()

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(CHANGES_EACH):
                target = rng.choice(ids)
                for _attempt in range(50):  # another writer changed the same task first: read it again
                    try:
                        with transaction(db) as s:
                            task = s.get(DepartmentTask, target)
                            assert task is not None
                            task.message = f"写入 {n}-{i}"
                        seq = task.change_seq  # taken at the commit
                        break
                    except StaleDataError:
                        continue
                assert seq is not None
                with lock:
                    committed.append((target, seq))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    seen: list[tuple[int, int]] = []

    def read_all(cursor: int) -> int:
        while True:
            with db() as s:
                page = task_views.changes(s, scope, cursor, 3)
            seen.extend((t.id, t.change_seq or 0) for t in page)
            if not page:
                return cursor
            cursor = page[-1].change_seq or cursor

    def reader() -> None:
        cursor = 0
        while not done.is_set():
            cursor = read_all(cursor)
        read_all(cursor)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert not errors, errors
    assert len(committed) == WRITERS * CHANGES_EACH
    positions = [seq for _, seq in seen]
    assert positions == sorted(positions) and len(positions) == len(set(positions)), "order or duplicates"
    latest_seen: dict[int, list[int]] = {}
    for tid, seq in seen:
        latest_seen.setdefault(tid, []).append(seq)
    missed = [(tid, seq) for tid, seq in committed if not any(s >= seq for s in latest_seen.get(tid, []))]
    assert not missed, f"changes the reader never saw (nor a later change of the same task): {missed[:5]}"
    assert len({seq for _, seq in committed}) == len(committed), "two commits got the same feed number"
