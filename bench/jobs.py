"""python -m bench.jobs: background job throughput, and the delay from a change to its SMS leaving.

1. Throughput: N jobs queued at once, worked by `python -m portal worker --once` with 1 and 2
   processes; prints jobs/s.
2. Delay: texts queued one at a time (each in its own transaction, like a staff action) while a
   worker runs with the default poll interval, through a real HTTP gateway on 127.0.0.1;
   prints p50/p95 of (gateway received − change committed).

SQLite by default (a throw-away file); `--database-url postgresql+psycopg://…` for PostgreSQL
(`scripts/with-postgres.sh python -m bench.jobs --database-url "$DATABASE_URL"`).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from portal.services import jobs

ROOT = Path(__file__).resolve().parents[1]


@jobs.handler("bench.noop", "压测：空任务")
def noop(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    """Does nothing but commit its own completion: measures the queue itself."""


def _env(url: str, var: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "VAR_DIR": var, "PII_KEY": "6" * 64, "SECRET_KEY": "bench",
            "OIDC_CLIENT_SECRET": "bench", "JOB_HANDLER_MODULES": "bench.jobs", "SCHEDULE_TICK_SECONDS": "3600",
            "JOB_POLL_SECONDS": "0.05", **extra}


def _prepare(url: str, var: str) -> None:
    subprocess.run([sys.executable, "-m", "portal", "migrate"], env=_env(url, var), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def throughput(url: str, var: str, n: int, processes: int) -> float:
    from portal.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    db = make_sessionmaker(engine)
    with transaction(db) as s:
        for i in range(n):
            jobs.enqueue(s, "bench.noop", {"i": i})
    engine.dispose()
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "portal", "worker", "--once"], env=_env(url, var), cwd=ROOT,
                              stdout=subprocess.DEVNULL) for _ in range(processes)]
    for p in procs:
        p.wait()
    return n / (time.perf_counter() - start)


def sms_delay(url: str, var: str, texts: int) -> tuple[float, float]:

    from portal.crypto import Vault
    from portal.db import make_engine, make_sessionmaker, transaction
    from portal.models import Application
    from portal.services import notifications
    from portal.services.demo import DEMO_CITIZENS, DeceasedSpec, build_submitted, ensure_account, make_id
    from tests.fake_sms_gateway import Gateway, running

    engine = make_engine(url)
    db = make_sessionmaker(engine)
    vault = Vault(bytes.fromhex("6" * 64))
    from datetime import date, datetime, timedelta

    with transaction(db) as s:
        name, id_no, phone = DEMO_CITIZENS["zj-u-0001"]
        account = ensure_account(s, vault, "zj-u-0001", name, id_no, phone, issuer="bench")
        spec = DeceasedSpec("陈德明", make_id("330302", date(1940, 1, 2), 9, True), "男", date(1940, 1, 2),
                            (datetime.now() - timedelta(days=2)).replace(microsecond=0), "330302", "五马街道")
        app_id = build_submitted(s, vault, account, spec, {"cremation"}, applicant_name=name, applicant_id=id_no,
                                 applicant_phone=phone).id
    committed: dict[str, float] = {}
    with running(Gateway()) as gw:
        env = _env(url, var, SMS_GATEWAY_URL=gw.url, SMS_GATEWAY_KEY=gw.key, SMS_PER_NUMBER_PER_HOUR="0",
                   JOB_POLL_SECONDS="1")
        worker = subprocess.Popen([sys.executable, "-m", "portal", "worker"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(3)
            for i in range(texts):
                with transaction(db) as s:
                    notifications.queue_sms(s, s.get(Application, app_id), f"压测第{i}条。")
                committed[f"压测第{i}条。"] = time.time()
                time.sleep(0.25)
            deadline = time.time() + 30
            while len(gw.delivered) < texts + 1 and time.time() < deadline:
                time.sleep(0.1)
            arrivals = {}
            for call in gw.delivered:
                for key in committed:
                    if key in call["text"]:
                        arrivals.setdefault(key, call.get("_at", time.time()))
        finally:
            worker.terminate()
            worker.wait(10)
    delays = sorted(gw_time - committed[k] for k, gw_time in arrivals.items())
    engine.dispose()
    q = statistics.quantiles(delays, n=20)
    return statistics.median(delays), q[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--texts", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var:
        url = args.database_url or f"sqlite:///{var}/bench.db"
        _prepare(url, var)
        kind = url.split(":", 1)[0]
        for processes in (1, 2):
            rate = throughput(url, var, args.jobs, processes)
            print(f"{kind}: {args.jobs} jobs, {processes} worker process(es): {rate:,.0f} jobs/s")
        p50, p95 = sms_delay(url, var, args.texts)
        print(f"{kind}: change committed -> SMS at the gateway, {args.texts} texts, default 1 s poll: "
              f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
