"""python -m bench.scale --applications N: national-scale data in PostgreSQL, loaded with COPY.

    scripts/with-postgres.sh env PYTHONPATH=$PWD .venv/bin/python -m bench.scale --applications 200000

Migrates the database of DATABASE_URL (PostgreSQL only), seeds the demo staff, then COPYs N
applications spread over the 11 counties of Wenzhou and over `--years` years of submissions,
with their deceased, applicant, about five department tasks each (in every state, older ones
done), the 医保 → 人社 dependency and about seven events each. Then it measures, through the
services the pages call, p95 over `--samples` runs each:

* the officer queue (医保, 鹿城区), default view;
* a look-up by 身份证号 blind index (`application.deceased_bidx`, the duplicate check);
* one family's progress page view;
* one county's month of tasks by matter and status (the shape of the monthly reconciliation),

prints `EXPLAIN (ANALYZE, BUFFERS)` of the queue, look-up and month queries, and the size of
each table with the growth per year at Zhejiang's 440,000 and China's 11 million deaths.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.harness import ROOT, env_for
from bench.queues import MATTERS

COUNTIES = ("330302", "330303", "330304", "330305", "330324", "330326", "330327", "330328", "330329", "330381",
            "330382")
STATES_RECENT = ["submitted"] * 5 + ["accepted"] * 60 + ["completed"] * 30 + ["returned"] * 5


def _rows(n: int, years: int, base: dict[str, int], sealed: str, seed: int = 11) -> Iterator[tuple[str, tuple]]:
    """(table, row) in COPY order, one application at a time."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    span = timedelta(days=365 * years)
    task_id, event_id = base["task"], base["event"]
    for i in range(n):
        app_id, account_id = base["app"] + i, base["account"] + i // 2
        county = COUNTIES[min(int(rng.paretovariate(1.2)) - 1, len(COUNTIES) - 1)]  # 鹿城 the busiest
        submitted = now - span * (i / n) ** 1.0 - timedelta(minutes=rng.randint(0, 600))
        age_days = (now - submitted).days
        state = rng.choice(STATES_RECENT) if age_days < 90 else "completed"
        if i % 2 == 0:
            yield "citizen_account", (account_id, f"scale-{account_id}", "scale", f"家属{account_id}", 3, 1,
                                      submitted, submitted)
        yield "application", (app_id, f"{county}-{submitted:%Y%m%d}-S{i:07d}", account_id, state, "online", county,
                              "街道", submitted, submitted + timedelta(hours=3) if state in ("accepted", "completed") else None,
                              submitted + timedelta(days=20) if state == "completed" else None, 3, f"s{i}",
                              submitted, submitted)
        yield "deceased", (app_id, f"逝者{i}", sealed, f"s{i}", "男", date(1940, 1, 1), 80, "01", county, "街道",
                           submitted.replace(tzinfo=None) - timedelta(days=1), "病故", "medical", sealed, f"s{i}", True,
                           "commercial_cemetery", "公墓", "enterprise_retired")
        yield "party", (app_id, "applicant", f"家属{i}", "child", sealed, sealed)
        ids: dict[str, int] = {}
        for code, dept, limit in MATTERS:
            if code not in ("cremation", "hukou") and rng.random() > 0.8:
                continue
            if state == "completed":
                status = "done"
            elif state in ("submitted", "returned"):
                status = "waiting"
            else:
                status = rng.choice(["pending", "in_progress", "done", "done", "returned"])
            deadline = (submitted + timedelta(days=limit + 5)).date()
            yield "department_task", (task_id, app_id, code, dept, county, status, deadline, 2,
                                      submitted, submitted)
            ids[code] = task_id
            yield "event", (event_id, submitted, "staff:task:take", "staff", "经办人", app_id, task_id, "已开始办理", True)
            event_id += 1
            task_id += 1
        if "pension" in ids and "medical" in ids:
            yield "task_dependency", (ids["pension"], ids["medical"])
        yield "event", (event_id, submitted, "citizen:application:submit", "citizen", "家属", app_id, None, "提交了申请", True)
        event_id += 1


COLUMNS = {
    "citizen_account": "id, sub, issuer, name, auth_level, id_type, created_at, updated_at",
    "application": "id, number, account_id, status, channel, county_code, township, submitted_at, accepted_at, "
                   "completed_at, version, deceased_bidx, created_at, updated_at",
    "deceased": "application_id, name, id_card_enc, id_card_bidx, gender, birth_date, age, ethnicity, hukou_county, "
                "hukou_township, death_time, death_cause, certificate_type, certificate_no_enc, certificate_no_bidx, "
                "body_at_funeral_home, ashes_category, ashes_place, pension_type",
    "party": "application_id, role, name, relation, id_card_enc, phone_enc",
    "department_task": "id, application_id, matter_code, department, county_code, status, deadline, version, "
                       "created_at, updated_at",
    "task_dependency": "task_id, depends_on_id",
    "event": "id, at, tag, actor_kind, actor_name, application_id, task_id, summary, public",
}


FILL = {"boolean": False, "integer": 0, "bigint": 0, "smallint": 0, "json": "{}", "jsonb": "{}",
        "timestamp with time zone": datetime(2026, 1, 1, tzinfo=UTC), "timestamp without time zone": datetime(2026, 1, 1),
        "date": date(2026, 1, 1), "character varying": "", "text": "", "double precision": 0.0, "numeric": 0}


def load(database_url: str, pii_key: bytes, n: int, years: int) -> dict[str, int]:
    """COPY the rows in; returns rows per table."""
    import psycopg

    from portal.crypto import Vault

    sealed = Vault(pii_key).seal("330302194001010010") or ""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    counts = dict.fromkeys(COLUMNS, 0)
    with psycopg.connect(url) as conn:
        base = {name: (conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone() or (1,))[0]
                for name, table in (("app", "application"), ("account", "citizen_account"),
                                    ("task", "department_task"), ("event", "event"))}
        buffers: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        # Columns the ORM fills from Python defaults (not null, no server default): their plain value.
        extra: dict[str, tuple[list[str], tuple]] = {}
        for table, given in COLUMNS.items():
            missing = conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                "AND is_nullable = 'NO' AND column_default IS NULL", (table,)).fetchall()
            names = [(c, t) for c, t in missing if c not in {g.strip() for g in given.split(",")}]
            extra[table] = ([c for c, _ in names], tuple(FILL.get(t, "") for _, t in names))

        def flush(table: str) -> None:
            names, fill = extra[table]
            cols = ", ".join([COLUMNS[table], *names])
            with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in buffers[table]:
                    copy.write_row(row + fill)
            counts[table] += len(buffers[table])
            buffers[table].clear()

        for table, row in _rows(n, years, base, sealed):
            buffers[table].append(row)
            if len(buffers[table]) >= 20000:
                for name in COLUMNS:  # parents first: keep the foreign keys satisfied
                    flush(name)
        for name in COLUMNS:
            flush(name)
        for table in ("application", "department_task", "event", "citizen_account"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("ANALYZE")
    return counts


def p95(fn: Callable[[int], object], samples: int) -> tuple[float, float]:
    times = []
    for k in range(samples):
        started = time.perf_counter()
        fn(k)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


MONTH_SQL = ("SELECT t.matter_code, t.status, count(*) FROM department_task t JOIN application a "
             "ON a.id = t.application_id WHERE a.county_code = :county AND a.submitted_at >= :start "
             "AND a.submitted_at < :end GROUP BY t.matter_code, t.status")


def measure(database_url: str, n: int, samples: int, out: Path) -> None:
    from sqlalchemy import select, text

    from portal.db import make_engine, make_sessionmaker
    from portal.models import Application
    from portal.services import queues
    from portal.services.progress import family_progress

    engine = make_engine(database_url)
    db = make_sessionmaker(engine)

    class Officer:
        department, county_code = "yibao", "330302"

    rng = random.Random(5)
    with db() as s:
        first, last = s.execute(text("SELECT min(id), max(id) FROM application WHERE deceased_bidx LIKE 's%'")).one()
        month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)
        month_start = month_start.replace(day=1)
        month_end = (month_start + timedelta(days=32)).replace(day=1)

        def queue(_: int) -> object:
            return queues.officer_queue(s, Officer)

        def lookup(_: int) -> object:
            return s.execute(select(Application.id, Application.status)
                             .where(Application.deceased_bidx == f"s{rng.randrange(n)}")).all()

        def progress(_: int) -> object:
            app_id = rng.randint(first, last)
            account = s.scalar(select(Application.account_id).where(Application.id == app_id))
            return family_progress(s, app_id, account or 0)

        def month(_: int) -> object:
            return s.execute(text(MONTH_SQL), {"county": "330302", "start": month_start, "end": month_end}).all()

        lines = [f"{n} applications; p50 / p95 over {samples} runs each, through the services (one connection):"]
        for label, fn, goal in (("officer queue (医保, 鹿城区, default view)", queue, 100),
                                ("look-up by 身份证号 blind index", lookup, 20),
                                ("family progress page view", progress, 50),
                                ("one county's month by matter and status", month, 2000)):
            mid, high = p95(fn, samples)
            lines.append(f"  {label:<44} p50 {mid:8.2f} ms   p95 {high:8.2f} ms   goal {goal} ms "
                         f"{'met' if high <= goal else 'NOT met'}")
        print("\n".join(lines))
        plans = []
        for label, sql, params in (
                ("queue: one status, earliest deadlines",
                 "SELECT deadline, id FROM department_task WHERE department = 'yibao' AND county_code = '330302' "
                 "AND status = 'pending' ORDER BY deadline, id LIMIT 50", {}),
                ("queue: counts of open work",
                 "SELECT status, count(*) FROM department_task WHERE department = 'yibao' AND county_code = '330302' "
                 "AND status IN ('pending', 'in_progress', 'returned') GROUP BY status", {}),
                ("look-up by blind index", "SELECT id, status FROM application WHERE deceased_bidx = 's12345'", {}),
                ("county month", MONTH_SQL, {"county": "330302", "start": month_start, "end": month_end})):
            plan = s.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars().all()
            plans.append(f"-- {label}\n" + "\n".join(plan))
        sizes = s.execute(text(
            "SELECT relname, n_live_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables "
            "WHERE relname IN ('application','deceased','party','department_task','task_dependency','event',"
            "'citizen_account') ORDER BY pg_total_relation_size(relid) DESC")).all()
    engine.dispose()
    total = sum(size for _, _, size in sizes)
    growth = [f"{'table':<18} {'rows':>12} {'MB':>9} {'bytes/app':>10}"]
    for name, rows, size in sizes:
        growth.append(f"{name:<18} {rows:>12} {size / 2**20:>9.1f} {size / n:>10.0f}")
    per_app = total / n
    growth.append(f"total {total / 2**30:.2f} GB = {per_app:.0f} bytes per application (tables and indexes)")
    growth.append(f"per year: Zhejiang 440,000 deaths → {per_app * 440_000 / 2**30:.1f} GB; "
                  f"China 11,000,000 → {per_app * 11_000_000 / 2**30:.0f} GB")
    print("\n".join(growth))
    out.write_text("\n".join(lines) + "\n\n" + "\n\n".join(plans) + "\n\n" + "\n".join(growth) + "\n", encoding="utf-8")
    print(f"plans written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--applications", type=int, default=200_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale.txt")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("bench.scale needs PostgreSQL: scripts/with-postgres.sh env PYTHONPATH=$PWD python -m bench.scale")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = env_for(Path(tmp), 8000, DATABASE_URL=url)
        for command in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        from portal.config import Settings

        settings = Settings.from_env(env)
        started = time.monotonic()
        counts = load(url, settings.pii_key, args.applications, args.years)
        print(f"COPY: {', '.join(f'{t} {c}' for t, c in counts.items())} in {time.monotonic() - started:.0f} s")
        measure(url, args.applications, args.samples, args.out)


if __name__ == "__main__":
    main()
