"""Start servers on free loopback ports, load them with wrk, parse the figures."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("latency.lua")


@dataclass
class Figures:
    label: str
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int

    def line(self) -> str:
        return (f"{self.label:<34} {self.rps:>9.0f} req/s   p50 {self.p50:6.2f} ms   "
                f"p95 {self.p95:6.2f} ms   p99 {self.p99:6.2f} ms   errors {self.errors}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(args: list[str], env: dict[str, str], health_url: str) -> Iterator[None]:
    """Run a server process until the block ends; wait until health_url answers."""
    # stderr to a file, never an unread pipe: a server that logs a lot would block once it is full.
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(health_url, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not start: {args}")
        yield
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} during the run; its log: {log.name}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def uvicorn_args(app: str, port: int, factory: bool = False) -> list[str]:
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]
    return args + (["--factory"] if factory else [])


def wrk(url: str, label: str, *, seconds: int, connections: int, headers: dict[str, str] | None = None) -> Figures:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (scripts/setup.sh test installs it)")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA), url]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT rps=([\d.]+) p50=([\d.]+) p95=([\d.]+) p99=([\d.]+) errors=(\d+)", out)
    if not m:
        raise RuntimeError("could not read wrk output:\n" + out)
    return Figures(label, float(m[1]), float(m[2]), float(m[3]), float(m[4]), int(m[5]))


def env_for(var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "VAR_DIR": str(var_dir), "PORT": str(port), "BASE_URL": f"http://127.0.0.1:{port}",
            "DATABASE_URL": f"sqlite:///{var_dir / 'bench.db'}", **extra}
