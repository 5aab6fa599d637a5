"""python -m bench.events: event intake over HTTP — events/s and latency of POST /api/v1/events.

One uvicorn worker (THREADS=8), a funeral-home and a hospital client with real tokens, and a
concurrent sender (httpx, `--concurrency` threads) posting a mix like a day's traffic:
* a cremation for each accepted application (matched by blind index, the task completed through
  the back office's service, dependants checked, an event and a text queued),
* death certificates for people nobody applied for (each opens a proactive case: 编号, five tasks,
  an invitation text),
* replays of events already sent (same source and id: the stored first answer).
Prints events/s and p50/p95/p99 per kind and overall.

SQLite by default (a throw-away file); PostgreSQL with
`scripts/with-postgres.sh python -m bench.events --database-url "$DATABASE_URL"` (its schema is
dropped and migrated first).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.harness import ROOT, env_for, free_port, serve, uvicorn_args
from portal.simulate import payloads

PII = "6" * 64


@dataclass(frozen=True)
class Clerk:
    """The window, as the bench accepts its applications (no staff rows needed)."""

    id: int | None = None
    name: str = "压测窗口"
    department: str | None = None
    county_code: str | None = None

    def may_accept(self, county_code: str | None) -> bool:
        return True

    def may_work_task(self, department: str, county_code: str) -> bool:
        return False

    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool:
        return True

    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool:
        return False


def prepare(url: str, applications: int) -> tuple[list[tuple[str, str, datetime]], dict[str, tuple[str, str]]]:
    """Accepted applications (name, 身份证号, death time) and two API clients, written directly."""
    from portal.crypto import Vault
    from portal.db import make_engine, make_sessionmaker, transaction
    from portal.services import api_clients
    from portal.services.demo import DEMO_CITIZENS, DeceasedSpec, build_submitted, ensure_account, make_id
    from portal.services.events import SYSTEM
    from portal.services.window import accept

    engine = make_engine(url)
    db = make_sessionmaker(engine)
    vault = Vault(bytes.fromhex(PII))
    people = []
    died = datetime.combine(date.today() - timedelta(days=2), datetime.min.time()).replace(hour=6)
    with transaction(db) as s:
        name, id_no, phone = DEMO_CITIZENS["zj-u-0001"]
        account = ensure_account(s, vault, "zj-u-0001", name, id_no, phone, issuer="bench")
        for i in range(applications):
            person = (f"压测{i}", make_id("330302", date(1930, 1, 1) + timedelta(days=i), i, True), died)
            spec = DeceasedSpec(person[0], person[1], "男", date(1930, 1, 1) + timedelta(days=i), died, "330302", "五马街道")
            app = build_submitted(s, vault, account, spec, {"cremation", "hukou", "medical", "pension"},
                                  applicant_name=name, applicant_id=id_no, applicant_phone=phone)
            accept(s, app.id, app.version, Clerk())
            people.append(person)
        clients = {dept: api_clients.add_client(s, SYSTEM, f"压测{dept}", dept, None) for dept in ("binyiguan", "weijian")}
        creds = {d: (c.client_id, c.client_secret) for d, c in clients.items()}
    engine.dispose()
    return people, creds


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(url: str, var: Path, applications: int, unknown: int, replays: int, concurrency: int) -> None:
    port = free_port()
    env = env_for(var, port, DATABASE_URL=url, PII_KEY=PII, SECRET_KEY="bench-secret", OIDC_CLIENT_SECRET="bench",
                  PRERENDER_RECEIPTS="0", RATE_LIMIT_API_CLIENT="1000000 per minute", RATE_LIMIT_API_TOKEN="1000 per minute")
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        with create_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    subprocess.run([sys.executable, "-m", "portal", "migrate"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    import os

    os.environ.update({k: env[k] for k in ("DATABASE_URL", "PII_KEY")})
    people, creds = prepare(url, applications)
    died = people[0][2] if people else datetime.now()
    work: list[tuple[str, str, dict[str, Any]]] = []
    for name, id_no, when in people:
        work.append(("cremation (applied)", "binyiguan", payloads.cremation_completed(name, id_no, when)))
    from portal.services.demo import make_id

    for i in range(unknown):
        id_no = make_id("330302", date(1931, 1, 1) + timedelta(days=i), i, False)
        work.append(("certificate (proactive case)", "weijian", payloads.death_certificate(
            f"无申请{i}", id_no, died, county="330302", township="五马街道",
            contact={"name": "家属", "phone": "13905770001", "relation": "child"})))
    work += [("replay (duplicate)", dept, event) for _, dept, event in work[:replays]]
    base = f"http://127.0.0.1:{port}"
    with serve(uvicorn_args("portal.app:create_app", port, factory=True), env, f"{base}/healthz"):
        with httpx.Client(base_url=base, timeout=60) as http:
            tokens = {}
            for dept, (cid, secret) in creds.items():
                r = http.post("/api/v1/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
                tokens[dept] = r.json()["access_token"]
        first, rest = work[: len(people) + unknown], work[len(people) + unknown:]
        figures: dict[str, list[float]] = {}
        failures: list[str] = []

        def post(item: tuple[str, str, dict[str, Any]], http: httpx.Client) -> None:
            kind, dept, event = item
            start = time.perf_counter()
            r = http.post("/api/v1/events", content=json.dumps(event).encode(),
                          headers={"Authorization": f"Bearer {tokens[dept]}", "Content-Type": "application/cloudevents+json"})
            figures.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
            if r.status_code != 200:
                failures.append(f"{kind}: {r.status_code} {r.text[:200]}")

        started = time.perf_counter()
        for batch in (first, rest):  # replays after their originals
            with httpx.Client(base_url=base, timeout=60, limits=httpx.Limits(max_connections=concurrency)) as http, \
                    ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(lambda item: post(item, http), batch))
        elapsed = time.perf_counter() - started
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{dialect}: {len(work)} events, {concurrency} concurrent senders, one uvicorn worker (8 threads)")
    for kind, values in figures.items():
        print(f"  {kind:<30} n={len(values):<5} p50={statistics.median(values):7.1f} ms  "
              f"p95={_percentile(values, 0.95):7.1f} ms  p99={_percentile(values, 0.99):7.1f} ms")
    every = [v for values in figures.values() for v in values]
    print(f"  {'all':<30} n={len(every):<5} p50={statistics.median(every):7.1f} ms  p95={_percentile(every, 0.95):7.1f} ms"
          f"  -> {len(every) / elapsed:.1f} events/s")
    if failures:
        print(f"  {len(failures)} failed, e.g. {failures[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--applications", type=int, default=200, help="accepted applications: one cremation each")
    parser.add_argument("--unknown", type=int, default=100, help="death certificates with no application")
    parser.add_argument("--replays", type=int, default=100, help="events sent again (same source and id)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        run(url, Path(tmp), args.applications, args.unknown, args.replays, args.concurrency)


if __name__ == "__main__":
    main()
