"""python -m bench.load: whole journeys under load with locust, then the database is checked.

    python -m bench.load --families 100 --staff 20 --seconds 300            # SQLite, one worker
    scripts/with-postgres.sh python -m bench.load --workers 2 ...           # PostgreSQL, two workers

Builds a throw-away VAR_DIR (and SQLite file unless DATABASE_URL is set), writes a personas file
with the demo personas plus one generated family per simulated family (IDP_PERSONAS_PATH, read
by the embedded stand-in), migrates, seeds the demo staff and serves the portal with uvicorn.
Locust (the `bench` extra) runs bench/journeys.py headless. Afterwards it prints p50/p95 per
page and checks: applications submitted = journeys that got their 编号, no account or deceased
with two applications, every draft a family saved to still there with its answers, no 5xx.
Exit status 1 when a check fails. The load comes from one IP, like a test lab behind a NAT.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.harness import ROOT, env_for, free_port, serve

PERSONA = """
[[persona]]
username = "load-fam-{n:03d}"
password = "demo1234"
sub = "zj-load-{n:04d}"
kind = "citizen"
role_hint = "压测家属"
name = "压测家属{n}"
phone_number = "1990001{n:04d}"
id_type = 1
id_card_no = "{id_no}"
auth_level = 3
gender = 1
nation = "01"
birthdate = "{born}"
user_type = "person"
"""


KEEP_ALIVE = 75  # as `portal serve`: longer than a client's idle gap, so the server never closes mid-request


def personas(path: Path, families: int) -> None:
    from portal.services.demo import make_id

    text = (ROOT / "auth" / "personas.toml").read_text(encoding="utf-8")
    for n in range(1, families + 1):
        born = date(1960, 1, 1) + timedelta(days=41 * n)
        text += PERSONA.format(n=n, id_no=make_id("330302", born, n, True), born=born.isoformat())
    path.write_text(text, encoding="utf-8")


def page_figures(prefix: Path) -> list[tuple[str, int, int, str, str]]:
    with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
        return [(r["Name"], int(r["Request Count"]), int(r["Failure Count"]), r["50%"], r["95%"])
                for r in csv.DictReader(f)]


def failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    return list(csv.DictReader(open(path, encoding="utf-8"))) if path.exists() else []


def check(database_url: str, pii_key: bytes, results: Path, errors: list[dict[str, str]]) -> list[str]:
    """The after-run consistency checks; returns what failed."""
    from sqlalchemy import func, select

    from portal.crypto import Vault
    from portal.db import make_engine
    from portal.models import Application, CitizenAccount

    events = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()] if results.exists() else []
    submitted = {e["app_id"] for e in events if e["event"] == "submitted"}
    done = {e["app_id"] for e in events if e["event"] == "done"}
    saved_by = {e["user"] for e in events if e["event"] == "saved"}
    finished_by = {e["user"] for e in events if e["event"] == "submitted"}
    problems: list[str] = []
    engine = make_engine(database_url)
    vault = Vault(pii_key)
    with engine.connect() as conn:
        accounts = dict(conn.execute(select(CitizenAccount.id, CitizenAccount.sub)
                                     .where(CitizenAccount.sub.like("zj-load-%"))).all())
        rows = conn.execute(select(Application.id, Application.account_id, Application.status, Application.deceased_bidx,
                                   Application.draft_blob).where(Application.account_id.in_(list(accounts)))).all()
        dup_accounts = conn.execute(select(Application.account_id).where(
            Application.account_id.in_(list(accounts)), Application.status != "draft")
            .group_by(Application.account_id).having(func.count() > 1)).all()
        dup_deceased = conn.execute(select(Application.deceased_bidx).where(
            Application.status != "draft", Application.deceased_bidx.is_not(None))
            .group_by(Application.deceased_bidx).having(func.count() > 1)).all()
    engine.dispose()
    created = {r.id for r in rows if r.status != "draft"}
    print(f"\njourneys: {len(saved_by)} families saved a step, {len(submitted)} submitted, {len(done)} got their "
          f"receipt; applications created {len(created)}")
    if created != submitted:
        problems.append(f"applications created ({len(created)}) != journeys submitted ({len(submitted)}): "
                        f"unacknowledged {sorted(created - submitted)[:5]}, lost {sorted(submitted - created)[:5]}")
    if dup_accounts or dup_deceased:
        problems.append(f"duplicates: {len(dup_accounts)} accounts, {len(dup_deceased)} deceased with two applications")
    drafts = {accounts[r.account_id][len('zj-load-'):]: r for r in rows if r.status == "draft"}
    for user in sorted(saved_by - finished_by):
        draft = drafts.get(f"{int(user.rsplit('-', 1)[1]):04d}")
        if draft is None or not draft.draft_blob or not json.loads(vault.open_bytes(draft.draft_blob) or b"{}"):
            problems.append(f"lost draft: {user} saved a step, but no draft with answers is stored")
    server_errors = [e for e in errors if any(f" {code} " in e.get("Error", "") or f"'{code} " in e.get("Error", "")
                                             for code in range(500, 600))]
    if errors:
        problems.append(f"{sum(int(e.get('Occurrences', 1)) for e in errors)} failed requests "
                        f"({len(server_errors)} kinds of 5xx): {[e.get('Error', '')[:120] for e in errors[:3]]}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--families", type=int, default=100)
    parser.add_argument("--staff", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--spawn-rate", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        port = free_port()
        personas(var / "personas.toml", args.families)
        env = env_for(var, port, IDP_PERSONAS_PATH=str(var / "personas.toml"), PRERENDER_RECEIPTS="0",
                      PYTHONPATH=str(ROOT), LOAD_RESULTS=str(var / "results.jsonl"), PYTHONFAULTHANDLER="1")
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        for command in ("migrate", "seed-demo", "precompress"):
            subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        from portal.config import Settings

        settings = Settings.from_env(env)
        base = f"http://127.0.0.1:{port}"
        server = [sys.executable, "-m", "uvicorn", "portal.app:create_app", "--factory", "--host", "127.0.0.1",
                  "--port", str(port), "--no-access-log", "--log-level", "warning", "--workers", str(args.workers),
                  "--timeout-keep-alive", str(KEEP_ALIVE)]
        users = args.families + args.staff
        print(f"locust: {args.families} families + {args.staff} staff, {args.seconds} s, spawn {args.spawn_rate}/s; "
              f"uvicorn {args.workers} worker(s); {settings.database_url.split(':')[0]}")
        prefix = var / "locust"
        with serve(server, env, f"{base}/healthz"):
            subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "journeys.py"), "--headless",
                            "-u", str(users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s", "--host", base,
                            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"],
                           env=env, cwd=ROOT, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"\n{'page':<44} {'requests':>8} {'failed':>6} {'p50 ms':>7} {'p95 ms':>7}")
        for name, count, failed, p50, p95 in page_figures(prefix):
            print(f"{name:<44} {count:>8} {failed:>6} {p50:>7} {p95:>7}")
        problems = check(settings.database_url, settings.pii_key, var / "results.jsonl", failures(prefix))
        for problem in problems:
            print("CHECK FAILED:", problem)
        if not problems:
            print("checks passed: applications created = journeys submitted, no duplicates, no lost drafts, no 5xx")
        if problems:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
