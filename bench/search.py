"""python -m bench.search [--wrk]: p95 of the policy search over the knowledge base (target ≤ 20 ms).

In process: a fresh SQLite database is migrated and loaded from content/policies, then
``portal.services.policy_search.search`` is timed over every title, keyword and two-character
prefix of the knowledge base (plus a few typed questions), several rounds each.  The first
search (jieba dictionary load, snapshot build) is reported separately.

``--wrk`` also loads GET /policy/search?q=火化 on a real uvicorn worker with wrk (bench/harness.py).
``DATABASE_URL`` in the environment benchmarks another database (e.g. PostgreSQL) instead.
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
from urllib.parse import quote

from bench.harness import ROOT, env_for, free_port, serve, uvicorn_args, wrk

TARGET_MS = 20.0
QUESTIONS = ["户口注销怎么办", "退休人员去世能领多少钱", "在医院去世谁开证明", "公积金怎么取", "丧葬补助金 抚恤金",
             "医保卡里的钱", "低保停发", "境外去世", "天气预报", "x"]


def queries() -> list[str]:
    from portal.domain.policy_content import load_entries
    from portal.services.policies import CONTENT_DIR

    qs: list[str] = list(QUESTIONS)
    for e in load_entries(CONTENT_DIR):
        qs.append(e.title)
        qs.extend(e.keywords)
        qs.extend(k[:2] for k in e.keywords if len(k) > 2)
    return list(dict.fromkeys(q for q in qs if q.strip()))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def in_process(database_url: str, rounds: int) -> float:
    from sqlalchemy.orm import Session

    from portal.db import make_engine
    from portal.migrate import upgrade
    from portal.services.policies import sync_policy_articles
    from portal.services.policy_search import search

    engine = make_engine(database_url)
    upgrade(engine)
    sync_policy_articles(engine)
    qs = queries()
    with Session(engine) as session:
        started = time.perf_counter()
        search(session, "火化")
        first = (time.perf_counter() - started) * 1000
        timings: list[float] = []
        for _ in range(rounds):
            for q in qs:
                t0 = time.perf_counter()
                search(session, q)
                timings.append((time.perf_counter() - t0) * 1000)
    engine.dispose()
    p95 = pct(timings, 95)
    print(f"policy search, in process, {engine.dialect.name}: {len(qs)} queries × {rounds} rounds = {len(timings)} searches")
    print(f"  first search (jieba dictionary + snapshot): {first:.1f} ms")
    print(f"  p50 {pct(timings, 50):.2f} ms   p95 {p95:.2f} ms   p99 {pct(timings, 99):.2f} ms   "
          f"max {max(timings):.2f} ms   mean {statistics.fmean(timings):.2f} ms")
    print(f"  target p95 ≤ {TARGET_MS:.0f} ms: {'OK' if p95 <= TARGET_MS else 'MISSED'}")
    return p95


def over_http(seconds: int, connections: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = env_for(Path(tmp), port)
        subprocess.run([sys.executable, "-m", "portal", "migrate"], env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        with serve(uvicorn_args("portal.app:create_app", port, factory=True), env, f"http://127.0.0.1:{port}/healthz"):
            url = f"http://127.0.0.1:{port}/policy/search?q={quote('火化')}"
            for label, headers in (("GET /policy/search?q=火化", None), ("  same, htmx partial", {"HX-Request": "true"})):
                wrk(url, label, seconds=1, connections=2, headers=headers)  # warm up (jieba, snapshot)
                print(wrk(url, label, seconds=seconds, connections=connections, headers=headers).line())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--wrk", action="store_true", help="also load /policy/search over HTTP with wrk")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        in_process(url, args.rounds)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            in_process(f"sqlite:///{tmp}/search-bench.db", args.rounds)
    if args.wrk:
        over_http(args.seconds, args.connections)


if __name__ == "__main__":
    main()
