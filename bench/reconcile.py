"""python -m bench.reconcile: how long one county's 月对账 takes (the issue's target: ≤ 2 s).

Builds a throw-away database (SQLite by default; `scripts/with-postgres.sh python -m bench.reconcile`
for PostgreSQL, which is the target) with `--deaths` cases spread over the city's counties and
twelve months, each with its tasks (户口, 医保, 人社 payout, sometimes 低保) in mixed states, and
a fact pushed by a department system for a share of them, plus facts about people with no case.
Then it times `reconciliation.view` (what the page, the export and the command line compute)
for one county's month, a few times, and prints the query plan of the deaths query, so the index
it relies on (ix_deceased_county_death) is seen to be used. The national-scale dataset is the
scale issue's (h/perf): point DATABASE_URL at it and pass --no-populate.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

COUNTIES = ("330302", "330303", "330304", "330305", "330324", "330326", "330327", "330328", "330329", "330381",
            "330382", "330383")
MATTERS = (("hukou", "gongan", 1), ("medical", "yibao", 5), ("pension", "renshe", 15), ("assistance", "minzheng", 10))


def populate(database_url: str, pii_key: bytes, deaths: int, seed: int = 16) -> None:
    from sqlalchemy import insert

    from portal.crypto import Vault
    from portal.db import make_engine, make_sessionmaker, transaction
    from portal.models import Application, CitizenAccount, Deceased, DepartmentTask, ExchangeEvent

    rng = random.Random(seed)
    sealed = Vault(pii_key).seal("330302194001010010")
    start = datetime(2025, 12, 1, tzinfo=UTC)
    engine = make_engine(database_url)
    batch = 5000
    with transaction(make_sessionmaker(engine)) as s:
        s.execute(insert(CitizenAccount), [{"id": 1, "sub": "bench", "issuer": "bench", "name": "家属", "auth_level": 3}])
    task_id = event_id = 1
    for first in range(0, deaths, batch):
        apps, dead, tasks, facts = [], [], [], []
        for i in range(first, min(deaths, first + batch)):
            app_id = i + 1
            county = COUNTIES[i % len(COUNTIES)]
            died = start + timedelta(minutes=rng.randint(0, 365 * 24 * 60))
            submitted = died + timedelta(hours=rng.randint(2, 72))
            apps.append({"id": app_id, "number": f"{county}-{submitted:%Y%m%d}-R{i:07d}", "account_id": 1,
                         "status": "accepted", "channel": rng.choice(("online", "walk_in", "phone", "proactive")),
                         "county_code": county, "township": "街道", "submitted_at": submitted,
                         "accepted_at": submitted + timedelta(hours=1), "deceased_bidx": f"bench{i:09d}", "version": 2})
            dead.append({"application_id": app_id, "name": f"逝者{i}", "id_card_enc": sealed,
                         "id_card_bidx": f"bench{i:09d}", "gender": "男", "birth_date": date(1940, 1, 1), "age": 85,
                         "ethnicity": "01", "hukou_county": county, "hukou_township": "街道",
                         "death_time": died.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=8),
                         "death_cause": "病故", "certificate_type": "medical", "body_at_funeral_home": True,
                         "ashes_category": "commercial_cemetery", "ashes_place": "公墓", "pension_type": "enterprise_retired"})
            for code, dept, limit in MATTERS:
                if code == "assistance" and rng.random() < 0.8:
                    continue
                done = rng.random() < 0.85
                tasks.append({"id": task_id, "application_id": app_id, "matter_code": code, "department": dept,
                              "county_code": county, "status": "done" if done else rng.choice(("pending", "in_progress")),
                              "deadline": (submitted + timedelta(days=limit + 2)).date(),
                              "finished_at": submitted + timedelta(days=rng.randint(0, limit + 3)) if done else None,
                              "result": {"cancelled_on": (submitted + timedelta(days=1)).date().isoformat()}
                              if code == "hukou" and done else None, "version": 2})
                task_id += 1
            if rng.random() < 0.3:
                facts.append({"id": event_id, "source": "urn:bench", "event_id": f"e{event_id}",
                              "type": "cn.gov.zj.shenhou.cremation.completed", "client_name": "殡仪馆系统",
                              "department": "binyiguan", "county_code": county, "deceased_bidx": f"bench{i:09d}",
                              "application_id": app_id, "received_at": died + timedelta(days=2), "outcome": "applied",
                              "answer": {}})
                event_id += 1
            if rng.random() < 0.01:  # a stop for someone the portal has no case of
                facts.append({"id": event_id, "source": "urn:bench", "event_id": f"e{event_id}",
                              "type": "cn.gov.zj.shenhou.benefit.stopped", "client_name": "人社系统",
                              "department": "renshe", "county_code": county, "deceased_bidx": f"orphan{i:09d}",
                              "application_id": None, "received_at": died, "outcome": "no_case", "answer": {}})
                event_id += 1
        with transaction(make_sessionmaker(engine)) as s:
            s.execute(insert(Application), apps)
            s.execute(insert(Deceased), dead)
            s.execute(insert(DepartmentTask), tasks)
            if facts:
                s.execute(insert(ExchangeEvent), facts)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))
    engine.dispose()


def measure(database_url: str, pii_key: bytes, month: str, county: str, runs: int) -> None:
    from sqlalchemy import text

    from portal.crypto import Vault
    from portal.db import make_engine, make_sessionmaker
    from portal.services import reconciliation

    engine = make_engine(database_url)
    db = make_sessionmaker(engine)
    vault = Vault(pii_key)
    times, view = [], None
    for _ in range(runs):
        began = time.perf_counter()
        with db() as s:
            view = reconciliation.view(s, vault, month, county, overdue_after=5)
        times.append(time.perf_counter() - began)
    assert view is not None
    p = reconciliation.period(month)
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with engine.connect() as conn:
        plan = conn.execute(text(f"{explain} SELECT application_id FROM deceased WHERE hukou_county = :c "
                                 "AND death_time >= :a AND death_time < :b"),
                            {"c": county, "a": datetime.combine(p.start, datetime.min.time()),
                             "b": datetime.combine(p.end, datetime.min.time())}).all()
    engine.dispose()
    print(f"{engine.dialect.name}: {county} {month}: {len(view.rows)} lines, {len(view.exceptions)} exceptions; "
          f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {runs} runs "
          f"(first {times[0] * 1000:.0f} ms)")
    print("deaths query plan:", " | ".join(str(r[-1]) for r in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--deaths", type=int, default=30_000)
    parser.add_argument("--month", default="2026-06")
    parser.add_argument("--county", default="330302")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-populate", action="store_true", help="use the data already at DATABASE_URL")
    args = parser.parse_args()
    from portal.migrate import upgrade

    pii_key = bytes.fromhex(os.environ.get("PII_KEY", "5" * 64))
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if not args.no_populate:
            from sqlalchemy import text

            from portal.db import make_engine

            engine = make_engine(url)
            if engine.dialect.name == "postgresql":
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            upgrade(engine, pii_key=pii_key)
            engine.dispose()
            began = time.perf_counter()
            populate(url, pii_key, args.deaths)
            print(f"populated {args.deaths} deaths in {time.perf_counter() - began:.1f} s")
        measure(url, pii_key, args.month, args.county, args.runs)


if __name__ == "__main__":
    main()
