"""End-to-end fixtures: a real uvicorn server on a free 127.0.0.1 port, Debian's Chromium at phone size.

The server runs the same commands a newcomer runs (migrate, seed-demo, serve) on a
throwaway VAR_DIR, so the embedded stand-in identity provider and demo data are real.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Playwright

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "e2e" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(ROOT / "e2e"):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, log: Path) -> None:
    """Wait up to 30 s for a started portal's /healthz; fail with the end of its log."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("portal did not start: " + log.read_text()[-2000:])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    var = tmp_path_factory.mktemp("e2e-var")
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VAR_DIR": str(var), "PORT": str(port), "BASE_URL": base,
           "DATABASE_URL": f"sqlite:///{var / 'e2e.db'}", "PYTHONUNBUFFERED": "1"}
    for command in ("migrate", "seed-demo"):
        subprocess.run([sys.executable, "-m", "portal", command], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    log = open(var / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "portal", "serve"], env=env, cwd=ROOT, stdout=log, stderr=log)
    try:
        wait_until_up(base, var / "server.log")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def phone(playwright: Playwright) -> dict:
    device = dict(playwright.devices["iPhone 13"])
    device.pop("default_browser_type", None)
    return device


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, phone: dict, base_url: str) -> dict:
    return {**browser_context_args, **phone, "locale": "zh-CN", "base_url": base_url}


_axe = Axe()


def assert_accessible(page: Page) -> None:
    """Zero axe-core violations on the page as it is now."""
    results = _axe.run(page)
    assert results.violations_count == 0, results.generate_report()


def assert_no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


def shot(page: Page, name: str) -> Path:
    """Full-page screenshot into e2e/artifacts/ for a human to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
