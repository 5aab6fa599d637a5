"""The background worker: `python -m portal worker` works the job queue and fires the schedules.

Several worker processes (JOB_WORKERS on one machine, more on other machines) share the queue
through the database (portal/services/jobs.py). Each process polls for a due job, runs it with
a lease it keeps renewing while the job runs, and every SCHEDULE_TICK_SECONDS fires the
schedules whose time has come. SIGTERM or Ctrl-C lets the running job finish, then stops.
"""
from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portal.config import Settings
from portal.crypto import Vault
from portal.db import make_engine, make_sessionmaker
from portal.logs import configure as configure_logs
from portal.logs import request_id
from portal.services import jobs, schedules

log = logging.getLogger("portal.worker")

#: Modules whose import registers job handlers (jobs.handler). JOB_HANDLER_MODULES adds more.
HANDLER_MODULES = ("portal.services.job_handlers",)


def load_handlers(settings: Settings) -> None:
    extra = tuple(m.strip() for m in settings.job_handler_modules.split(",") if m.strip())
    for name in HANDLER_MODULES + extra:
        importlib.import_module(name)


def job_extras(settings: Settings) -> dict[str, Any]:
    """What handlers may use besides the database: settings, the vault, the SMS sender."""
    from portal.services.sms_gateway import sender_from_settings

    return {"settings": settings, "vault": Vault(settings.pii_key), "sms_sender": sender_from_settings(settings)}


class Heartbeat:
    """Renews the running job's lease every third of the lease, so only a dead worker loses it.

    One thread per worker process for its whole life (a thread per job would cost more than a
    short job itself).
    """

    def __init__(self, db: sessionmaker[Session], worker_id: str, lease: float) -> None:
        self._db, self._worker_id, self._lease = db, worker_id, lease
        self._current: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="job-heartbeat")
        self._thread.start()

    def watch(self, job_id: int | None) -> None:
        self._current = job_id

    def _run(self) -> None:
        while not self._stop.wait(self._lease / 3):
            job_id = self._current
            if job_id is None:
                continue
            try:
                jobs.extend_lease(self._db, job_id, self._worker_id, self._lease)
            except Exception:  # noqa: BLE001 - a missed heartbeat only risks a second run
                log.exception("could not renew the lease of job %s", job_id)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def work(settings: Settings, stop: threading.Event, *, worker_id: str | None = None,
         max_jobs: int | None = None, idle_exit: bool = False) -> int:
    """Work jobs until `stop` is set (or `max_jobs` ran, or the queue is empty with `idle_exit`)."""
    load_handlers(settings)
    engine = make_engine(settings.database_url)
    db = make_sessionmaker(engine)
    extras = job_extras(settings)
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    lease = settings.job_lease_seconds
    ran, next_tick = 0, 0.0
    heartbeat = Heartbeat(db, worker_id, lease)
    try:
        while not stop.is_set():
            if time.monotonic() >= next_tick:
                try:
                    schedules.tick(db)
                except Exception:  # noqa: BLE001 - a failed tick is retried at the next one
                    log.exception("schedule tick failed")
                next_tick = time.monotonic() + settings.schedule_tick_seconds
            try:
                job = jobs.claim(db, worker_id, lease)
            except Exception:  # noqa: BLE001 - database briefly unavailable: wait and retry
                log.exception("could not claim a job")
                stop.wait(settings.job_poll_seconds)
                continue
            if job is None:
                if idle_exit:
                    break
                stop.wait(settings.job_poll_seconds)
                continue
            heartbeat.watch(job.id)
            token = request_id.set(f"job-{job.id}")  # every line the job logs carries it
            try:
                jobs.run_one(db, job, worker_id, extras)
            finally:
                request_id.reset(token)
                heartbeat.watch(None)
            ran += 1
            if max_jobs is not None and ran >= max_jobs:
                break
    finally:
        heartbeat.close()
        engine.dispose()
    return ran


def _process_main(settings: Settings, index: int) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    configure_logs(settings.log_format, settings.log_level)
    work(settings, stop, worker_id=f"{socket.gethostname()}:{os.getpid()}:{index}")


def run(settings: Settings, processes: int | None = None) -> None:
    """Run `processes` worker processes (default JOB_WORKERS) until SIGTERM or Ctrl-C."""
    count = max(1, processes or settings.job_workers)
    print(f"后台任务进程已启动：{count} 个")
    if count == 1:
        _process_main(settings, 0)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_process_main, args=(settings, i), daemon=False) for i in range(count)]
    for child in children:
        child.start()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive() and child.pid:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
