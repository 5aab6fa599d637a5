"""The job system: outbox semantics, leases under kill -9, two workers, backoff, dead letters, schedules."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.db import transaction
from portal.domain import clock
from portal.models import Event, Job, Notification, ScheduleRun
from portal.services import jobs, notifications, schedules
from portal.worker import work
from tests import jobkinds  # noqa: F401 - registers the test job kinds in this process too
from tests.integration.factories import new_application

ROOT = Path(__file__).resolve().parents[2]


def _runs(db, key: str) -> int:  # type: ignore[no-untyped-def]
    with db() as s:
        events = s.scalars(select(Event).where(Event.tag == "test:job:ran")).all()
        return sum(1 for e in events if (e.after or {}).get("key") == key)


def _worker_env(test_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, **test_env, "JOB_HANDLER_MODULES": "tests.jobkinds", "JOB_POLL_SECONDS": "0.05",
            "SCHEDULE_TICK_SECONDS": "3600", "PYTHONUNBUFFERED": "1", **extra}


def _settings(settings, **changes):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(settings, job_handler_modules="tests.jobkinds", job_poll_seconds=0.01, **changes)


def test_a_rolled_back_change_queues_nothing(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with db() as s:
        before_jobs = s.scalar(select(func.count()).select_from(Job))
    with pytest.raises(RuntimeError), transaction(db) as s:
        from portal.models import Application

        notifications.queue_sms(s, s.get(Application, app_id), "测试短信")
        s.flush()
        raise RuntimeError("the change fails after queuing its text")
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == before_jobs
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.body.contains("测试短信"))) == 0


def test_texts_of_one_change_leave_as_one_message(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    from portal.models import Application

    app_id = new_application(db, vault)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        notifications.queue_sms(s, app, "第一件事办好了。")
        notifications.queue_sms(s, app, "第二件事也办好了。")
    stop = threading.Event()
    sent: list[tuple[str | None, str]] = []

    class Recorder(notifications.DevSender):
        def send(self, phone, body, ref=None):  # type: ignore[no-untyped-def]
            sent.append((phone, body))

    from portal import worker as worker_module

    original = worker_module.job_extras
    worker_module.job_extras = lambda st: {**original(st), "sms_sender": Recorder()}  # type: ignore[assignment]
    try:
        work(_settings(settings), stop, idle_exit=True)
    finally:
        worker_module.job_extras = original  # type: ignore[assignment]
    mine = [b for _, b in sent if "第一件事" in b]
    assert len(mine) == 1 and "第二件事" in mine[0] and mine[0].count("【身后一件事】") == 1
    with db() as s:
        statuses = set(s.scalars(select(Notification.status).where(Notification.application_id == app_id)))
        assert statuses == {"sent"}


def test_failures_back_off_then_succeed_once(db, settings) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        jobs.enqueue(s, "test.flaky", {"key": "flaky-1", "fail_times": 2})
    st = _settings(settings)
    start = clock.now()
    for minutes in (0, 1, 2, 5):  # move the clock past each backoff instead of sleeping
        with clock.frozen(start + timedelta(minutes=minutes)):
            work(st, threading.Event(), idle_exit=True)
    assert _runs(db, "flaky-1") == 1
    with db() as s:
        job = s.scalar(select(Job).where(Job.kind == "test.flaky"))
        assert job.status == jobs.DONE and job.attempts == 3


def test_backoff_grows_and_ends_in_the_dead_letters(db, settings) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        job = jobs.enqueue(s, "test.flaky", {"key": "never", "fail_times": 99}, max_attempts=3)
        assert job is not None
    st = _settings(settings)
    start = clock.now()
    waits = []
    for hour in range(4):
        with clock.frozen(start + timedelta(hours=hour)):
            work(st, threading.Event(), idle_exit=True)
            with db() as s:
                row = s.get(Job, job.id)
                if row.status == jobs.QUEUED:
                    waits.append((clock.as_china(row.run_at) - clock.china_now()).total_seconds())
    with db() as s:
        row = s.get(Job, job.id)
        assert row.status == jobs.DEAD and row.attempts == 3 and "planned failure" in row.last_error
    assert len(waits) == 2 and waits[1] > waits[0] > 5


def test_a_job_whose_worker_is_killed_runs_exactly_once_after_the_lease(db, test_env) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        jobs.enqueue(s, "test.record", {"key": "killed", "sleep": 4})
    env = _worker_env(test_env, JOB_LEASE_SECONDS="1.5")
    first = subprocess.Popen([sys.executable, "-m", "portal", "worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db() as s:
                if s.scalar(select(Job.status).where(Job.kind == "test.record")) == jobs.RUNNING:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("the worker never took the job")
        os.kill(first.pid, signal.SIGKILL)  # mid-job: the sleep has not ended, nothing committed
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert _runs(db, "killed") == 0
    second = subprocess.run([sys.executable, "-m", "portal", "worker", "--once"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr[-2000:]
    if _runs(db, "killed") == 0:  # the lease had not run out when --once looked: once more after it
        time.sleep(1.6)
        subprocess.run([sys.executable, "-m", "portal", "worker", "--once"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=60)
    assert _runs(db, "killed") == 1
    with db() as s:
        job = s.scalar(select(Job).where(Job.kind == "test.record"))
        assert job.status == jobs.DONE and job.attempts == 2


def test_two_worker_processes_never_run_the_same_job(db, test_env) -> None:  # type: ignore[no-untyped-def]
    count = 300
    with transaction(db) as s:
        for i in range(count):
            jobs.enqueue(s, "test.record", {"key": f"many-{i}"})
    env = _worker_env(test_env)
    procs = [subprocess.Popen([sys.executable, "-m", "portal", "worker", "--once"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outputs]
    with db() as s:
        keys = [(e.after or {}).get("key") for e in s.scalars(select(Event).where(Event.tag == "test:job:ran"))]
        done = s.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.record", Job.status == jobs.DONE))
        holders = set(s.scalars(select(Job.locked_by).where(Job.kind == "test.record")))
    assert len(keys) == count and len(set(keys)) == count, "a job ran twice or not at all"
    assert done == count
    print(f"\n{count} jobs, 2 worker processes, runs per job: exactly 1; holders seen: {len(holders)}")


def test_a_schedule_fires_once_per_period_across_workers(db) -> None:  # type: ignore[no-untyped-def]
    sched = schedules.Schedule("test-daily", "0 9 * * *", "test.record", timedelta(hours=2), "测试")
    barrier = threading.Barrier(4)
    fired: list[list[str]] = []

    def tick() -> None:
        barrier.wait()
        fired.append(schedules.tick(db, (sched,)))

    with clock.frozen(datetime(2026, 12, 1, 9, 30)):
        threads = [threading.Thread(target=tick) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert schedules.tick(db, (sched,)) == []
    with clock.frozen(datetime(2026, 12, 1, 12, 0)):  # past the grace: a missed 09:00 is not made up
        assert schedules.tick(db, (sched,)) == []
    assert sum(len(f) for f in fired) == 1
    with db() as s:
        assert s.scalar(select(func.count()).select_from(ScheduleRun).where(ScheduleRun.name == "test-daily")) == 1
        assert s.scalar(select(func.count()).select_from(Job).where(Job.dedupe_key.like("schedule:test-daily:%"))) == 1


def test_healthz_shows_a_stuck_queue(client, db) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json()["jobs"]["stuck"] is False
    with transaction(db) as s:
        jobs.enqueue(s, "test.record", {"key": "stuck"}, run_at=clock.now() - timedelta(hours=1))
    body = client.get("/healthz").json()
    assert body["status"] == "degraded" and body["jobs"]["stuck"] is True
    assert body["jobs"]["oldest_due_seconds"] >= 3600
