"""python -m bench [pages]: the portal's pages next to a bare Starlette + Jinja page, same wrk run.

Prints requests/s and p50/p95/p99 for each, and the portal/baseline ratio; then the bytes a
browser moves on its first and second visit of the first path (bench/transfer.py).
wrk sends no cookie and no Accept-Encoding (like the baseline): an anonymous visitor's page,
uncompressed; `--compressed` adds `Accept-Encoding: br, gzip` to the portal's requests.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import transfer
from bench.harness import ROOT, env_for, free_port, serve, uvicorn_args, wrk


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", action="append", default=None, help="portal path(s) to load; default /")
    parser.add_argument("--compressed", action="store_true", help="ask the portal for br/gzip like a browser")
    args = parser.parse_args()
    paths = args.path or ["/"]
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        port, base_port = free_port(), free_port()
        env = env_for(var, port)
        for command in ("migrate", "seed-demo", "precompress"):
            subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, one uvicorn worker each, 127.0.0.1")
        with serve(uvicorn_args("bench.baseline_app:app", base_port), env, f"http://127.0.0.1:{base_port}/"):
            baseline = wrk(f"http://127.0.0.1:{base_port}/", "bare Starlette + Jinja page",
                           seconds=args.seconds, connections=args.connections)
        print(baseline.line())
        with serve(uvicorn_args("portal.app:create_app", port, factory=True), env, f"http://127.0.0.1:{port}/healthz"):
            headers = {"Accept-Encoding": "br, gzip"} if args.compressed else None
            for path in paths:
                fig = wrk(f"http://127.0.0.1:{port}{path}", f"portal {path}",
                          seconds=args.seconds, connections=args.connections, headers=headers)
                print(fig.line())
                print(f"{'':<34} ratio portal/baseline: {fig.rps / baseline.rps:.2f}x throughput, "
                      f"{fig.p95 / baseline.p95:.2f}x p95 latency")
            print(transfer.report(f"http://127.0.0.1:{port}", paths[0]))


if __name__ == "__main__":
    main()
