"""python -m bench.queues: officer queue and family progress page with 10,000 applications.

Builds a throw-away SQLite database (migrate + seed-demo, then 10,000 applications of 鹿城区 with
their tasks, parties and events, in every state, some overdue), logs in through the real OIDC
round trip to get session cookies, and loads each page with wrk next to the bare baseline page.
Prints requests/s and p50/p95/p99; the target is p95 <= 50 ms. On PostgreSQL with two workers:
`scripts/with-postgres.sh env PYTHONPATH=$PWD python -m bench.queues --workers 2`.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from bench.harness import ROOT, env_for, free_port, serve, uvicorn_args, wrk

STATES = (["submitted"] * 10) + (["accepted"] * 70) + (["completed"] * 15) + (["returned"] * 5)
MATTERS = [("cremation", "binyiguan", 0), ("hukou", "gongan", 1), ("medical", "yibao", 5),
           ("pension", "renshe", 15), ("provident", "gongjijin", 5)]


def populate(database_url: str, pii_key: bytes, n: int, seed: int = 7) -> None:
    """Insert `n` applications (with deceased, parties, tasks, dependencies and events) in bulk."""
    from sqlalchemy import insert, select, text

    from portal.crypto import Vault
    from portal.db import make_engine, make_sessionmaker, transaction
    from portal.models import Application, CitizenAccount, Deceased, DepartmentTask, Event, Party, TaskDependency

    rng = random.Random(seed)
    vault = Vault(pii_key)
    sealed_id, sealed_phone = vault.seal("330302194001010010"), vault.seal("19900000009")
    now = datetime.now(UTC)
    engine = make_engine(database_url)
    with transaction(make_sessionmaker(engine)) as s:
        base_acc = (s.scalar(select(CitizenAccount.id).order_by(CitizenAccount.id.desc()).limit(1)) or 0) + 1
        base_app = (s.scalar(select(Application.id).order_by(Application.id.desc()).limit(1)) or 0) + 1
        base_task = (s.scalar(select(DepartmentTask.id).order_by(DepartmentTask.id.desc()).limit(1)) or 0) + 1
        accounts = [{"id": base_acc + i, "sub": f"bench-{i}", "issuer": "bench", "name": f"家属{i}", "auth_level": 3}
                    for i in range(n // 2)]
        s.execute(insert(CitizenAccount), accounts)
        apps, deceased, parties, tasks, deps, events = [], [], [], [], [], []
        task_id = base_task
        for i in range(n):
            app_id = base_app + i
            state = rng.choice(STATES)
            submitted = now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            apps.append({"id": app_id, "number": f"330302-{submitted:%Y%m%d}-B{i:05d}",
                         "account_id": base_acc + (i % len(accounts)), "status": state, "channel": "online",
                         "county_code": "330302", "township": "五马街道", "submitted_at": submitted,
                         "accepted_at": submitted + timedelta(hours=2) if state in ("accepted", "completed") else None,
                         "completed_at": now if state == "completed" else None, "version": 3})
            deceased.append({"application_id": app_id, "name": f"逝者{i:05d}", "id_card_enc": sealed_id,
                             "id_card_bidx": f"b{i}", "gender": "男", "birth_date": date(1940, 1, 1), "age": 86,
                             "ethnicity": "01", "hukou_county": "330302", "hukou_township": "五马街道",
                             "death_time": submitted.replace(tzinfo=None) - timedelta(days=1), "death_cause": "病故",
                             "certificate_type": "medical", "certificate_no_enc": sealed_id, "certificate_no_bidx": f"b{i}",
                             "body_at_funeral_home": True,
                             "ashes_category": "commercial_cemetery", "ashes_place": "公墓",
                             "pension_type": "enterprise_retired"})
            parties.append({"application_id": app_id, "role": "applicant", "name": f"家属{i}", "relation": "child",
                            "id_card_enc": sealed_id, "phone_enc": sealed_phone})
            chosen = [m for m in MATTERS if m[0] in ("cremation", "hukou") or rng.random() < 0.8]
            ids = {}
            for code, dept, limit in chosen:
                if state == "completed":
                    status = "done"
                elif state in ("submitted", "returned"):
                    status = "waiting"
                else:
                    status = rng.choice(["pending", "pending", "in_progress", "done", "returned"])
                    if code == "pension" and "medical" in ids:
                        status = rng.choice(["waiting", "pending", "in_progress"])
                deadline = (submitted + timedelta(days=limit + rng.randint(-3, 10))).date()
                tasks.append({"id": task_id, "application_id": app_id, "matter_code": code, "department": dept,
                              "county_code": "330302", "status": status, "deadline": deadline,
                              "message": None, "result": None, "version": 2})
                ids[code] = task_id
                events.append({"tag": "staff:task:take", "actor_kind": "staff", "actor_name": "经办人",
                               "application_id": app_id, "task_id": task_id, "summary": "已开始办理",
                               "public": True, "at": submitted})
                task_id += 1
            if "pension" in ids and "medical" in ids:
                deps.append({"task_id": ids["pension"], "depends_on_id": ids["medical"]})
            events.append({"tag": "citizen:application:submit", "actor_kind": "citizen", "actor_name": "家属",
                           "application_id": app_id, "summary": "提交了申请", "public": True, "at": submitted})
        for table, rows in ((Application, apps), (Deceased, deceased), (Party, parties), (DepartmentTask, tasks),
                            (TaskDependency, deps), (Event, events)):
            for start in range(0, len(rows), 5000):
                s.execute(insert(table), rows[start:start + 5000])
        # the demo family owns a few of them, so the progress page can be loaded as 陈建国
        chen = s.scalar(select(CitizenAccount.id).where(CitizenAccount.sub == "zj-u-0001"))
        if chen is not None:
            s.query(Application).filter(Application.id == base_app).update({"account_id": chen})
        if engine.dialect.name == "postgresql":  # explicit ids do not move the sequences: move them
            for table in ("citizen_account", "application", "department_task", "event", "deceased", "party"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    engine.dispose()


def session_cookie(base: str, username: str) -> str:
    """Log in through the stand-in provider like a browser; return the portal session cookie header."""
    from tests.helpers import login

    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        login(client, username)  # type: ignore[arg-type]  # httpx.Client speaks the TestClient API used here
        return f"portal_session={client.cookies['portal_session']}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queues")
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (PostgreSQL: scripts/with-postgres.sh)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="2,8",
                        help="comma-separated wrk connection counts (one uvicorn worker serves them all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        port, base_port = free_port(), free_port()
        env = env_for(var, port)
        if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        for command in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        from portal.config import Settings

        settings = Settings.from_env(env)
        started = time.monotonic()
        populate(settings.database_url, settings.pii_key, args.applications)
        print(f"{args.applications} applications inserted in {time.monotonic() - started:.1f} s")
        levels = [int(c) for c in str(args.connections).split(",") if c.strip()]
        print(f"wrk -t2 -d{args.seconds}s, one uvicorn worker each, 127.0.0.1")
        baselines = {}
        with serve(uvicorn_args("bench.baseline_app:app", base_port), env, f"http://127.0.0.1:{base_port}/"):
            for conns in levels:
                baselines[conns] = wrk(f"http://127.0.0.1:{base_port}/", f"bare Starlette + Jinja page (c{conns})",
                                       seconds=args.seconds, connections=conns)
        base = f"http://127.0.0.1:{port}"
        portal = uvicorn_args("portal.app:create_app", port, factory=True) + ["--workers", str(args.workers)]
        with serve(portal, env, f"{base}/healthz"):
            officer = session_cookie(base, "officer-yibao")
            family = session_cookie(base, "chenjianguo")
            with httpx.Client(base_url=base, headers={"cookie": family}) as c:
                my = c.get("/my").text
            import re

            app_id = re.search(r'href="/my/(\d+)"', my).group(1)  # type: ignore[union-attr]
            with httpx.Client(base_url=base, headers={"cookie": officer}) as c:
                queue = c.get("/admin/tasks")
                assert queue.status_code == 200 and "超期" in queue.text, queue.status_code
                stamp_page = httpx.get(f"{base}/my/{app_id}", headers={"cookie": family}).text
            stamp = re.search(r'data-stamp="([0-9a-f]+)"', stamp_page).group(1)  # type: ignore[union-attr]
            loads = [
                ("/", "portal home page (floor)", family, {}),
                ("/admin/tasks", "officer queue (default)", officer, {}),
                ("/admin/tasks?status=all&q=%E9%80%9D%E8%80%85012", "officer queue, search + all", officer, {}),
                (f"/my/{app_id}", "family progress page", family, {}),
                (f"/my/{app_id}?since={stamp}", "progress htmx poll (unchanged)", family, {"HX-Request": "true"}),
            ]
            for conns in levels:
                print(f"\n{conns} concurrent connection(s)")
                print(baselines[conns].line())
                for path, label, cookie, extra in loads:
                    fig = wrk(f"{base}{path}", label, seconds=args.seconds, connections=conns,
                              headers={"Cookie": cookie, **extra})
                    print(fig.line() + f"   p95 {fig.p95 / baselines[conns].p95:.0f}x baseline, "
                          f"target p95 <= 50 ms {'met' if fig.p95 <= 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
