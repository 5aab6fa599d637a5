"""Job kinds used only by the job-system tests (loaded by workers through JOB_HANDLER_MODULES).

Each records its run as an event in the job's own transaction, so "exactly once" is a count.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from portal.services import jobs
from portal.services.events import SYSTEM, record

FAILURES: dict[str, int] = {}


@jobs.handler("test.record", "测试：记录一次执行")
def record_run(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    time.sleep(float(payload.get("sleep", 0)))
    record(session, SYSTEM, "test:job:ran", "测试任务执行", after={"key": payload["key"], "job": ctx.job_id})


@jobs.handler("test.flaky", "测试：先失败几次")
def flaky(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    key = payload["key"]
    FAILURES[key] = FAILURES.get(key, 0) + 1
    if FAILURES[key] <= int(payload["fail_times"]):
        raise RuntimeError(f"planned failure {FAILURES[key]}")
    record(session, SYSTEM, "test:job:ran", "测试任务执行", after={"key": key, "job": ctx.job_id})
