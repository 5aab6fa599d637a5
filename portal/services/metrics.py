"""Prometheus metrics (`prometheus-client`): requests and latency per route, and, read from the
database at scrape time, the job queue and the work queues' ages.

Counters and histograms live in each process. With several uvicorn workers set
`PROMETHEUS_MULTIPROC_DIR` (an empty directory per machine, emptied at start; docs/deploy.md):
prometheus-client then keeps them in files there and the scrape adds up every worker's.
The database figures are the same whichever process is scraped, so they are computed once per
scrape and never stored.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.domain import clock
from portal.domain import status as st
from portal.models import Application, DepartmentTask
from portal.services import jobs

__all__ = ["CONTENT_TYPE_LATEST", "LATENCY", "REQUESTS", "process_ended", "render"]

REQUESTS = Counter("portal_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("portal_http_request_seconds", "Time to answer a request", ["route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


def _age(since: datetime | None, now: datetime) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - since).total_seconds())


class QueueCollector(Collector):
    """Jobs due, dead and the oldest due job's age; applications waiting at the window and the
    oldest one's age; open and overdue department tasks."""

    def __init__(self, db: sessionmaker[Session]) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now, today = clock.now(), clock.today()
        with self.db() as session:
            queue = jobs.stats(session)
            waiting, oldest = session.execute(
                select(func.count(), func.min(Application.submitted_at)).where(Application.status == st.APP_SUBMITTED)
            ).one()
            open_tasks = dict(session.execute(
                select(DepartmentTask.status, func.count()).where(DepartmentTask.status.in_(tuple(st.CLOCK_RUNNING)))
                .group_by(DepartmentTask.status)).all())
            overdue = session.scalar(select(func.count()).select_from(DepartmentTask).where(
                DepartmentTask.status.in_(tuple(st.CLOCK_RUNNING)), DepartmentTask.deadline < today)) or 0
        due = GaugeMetricFamily("portal_jobs_due", "Background jobs due now")
        due.add_metric([], queue.due)
        yield due
        age = GaugeMetricFamily("portal_jobs_oldest_due_seconds", "Age of the oldest due job")
        age.add_metric([], queue.oldest_due_seconds or 0.0)
        yield age
        by_state = GaugeMetricFamily("portal_jobs", "Background jobs by state", labels=["state"])
        for state, n in sorted(queue.counts.items()):
            by_state.add_metric([state], n)
        yield by_state
        window = GaugeMetricFamily("portal_window_waiting", "Applications submitted, not yet accepted or returned")
        window.add_metric([], waiting or 0)
        yield window
        window_age = GaugeMetricFamily("portal_window_oldest_seconds", "Age of the oldest application at the window")
        window_age.add_metric([], _age(oldest, now))
        yield window_age
        tasks = GaugeMetricFamily("portal_tasks_open", "Department tasks whose clock runs", labels=["status"])
        for code, n in sorted(open_tasks.items()):
            tasks.add_metric([code], n)
        yield tasks
        late = GaugeMetricFamily("portal_tasks_overdue", "Department tasks past their deadline")
        late.add_metric([], overdue)
        yield late


def render(db: sessionmaker[Session]) -> bytes:
    """The exposition text: this process's (or, multiprocess, every worker's) request metrics and
    the database's queue figures."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(QueueCollector(db))
    return generate_latest(registry)


class _Forward(Collector):
    """The process registry's metrics inside a per-scrape registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def process_ended() -> None:
    """A uvicorn worker stopping: its live gauges leave the multiprocess files (counters stay)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
