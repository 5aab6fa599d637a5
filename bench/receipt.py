"""python -m bench.receipt: the receipt PDF's cold render, warm render, cached download and size.

Targets (issue 5): warm render ≤ 0.3 s, cached download ≤ 20 ms, size ≤ 400 KB.
Uses a throwaway VAR_DIR with a SQLite database and one application from the test factory
(the longest answers allowed), and downloads over HTTP through the ASGI app after a real
login with the stand-in identity provider.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COLD = """
import time; t = time.perf_counter()
from bench.receipt import sample_view
from pdf.receipt import render_receipt
b = render_receipt(sample_view(), copy="family")
print(time.perf_counter() - t)
"""


def sample_view():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from tests.unit.test_pdf_receipt import view

    return view()


def main() -> None:
    import httpx
    from starlette.testclient import TestClient

    from auth.web import build_oauth
    from portal.app import create_app
    from portal.config import Settings
    from portal.db import make_engine, transaction
    from portal.migrate import upgrade
    from pdf.receipt import render_receipt
    from portal.services import receipts
    from tests.helpers import login
    from tests.integration.receipt_factory import Spec, make_application
    from tests.integration.test_receipt import CASES

    cold = float(subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip().splitlines()[-1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"VAR_DIR": tmp, "PII_KEY": "5" * 64, "SECRET_KEY": "bench-secret-key-not-for-production",
                                      "OIDC_CLIENT_SECRET": "bench-client-secret", "BASE_URL": "http://testserver"})
        engine = make_engine(settings.database_url)
        upgrade(engine)
        app = create_app(settings, engine=engine)
        app.state.oauth = build_oauth(settings, transport=httpx.ASGITransport(app=app))
        svc = app.state.services
        sizes = {}
        with transaction(svc.db) as session:
            application = make_application(session, svc.vault, Spec(**CASES["longest"]))
            view = receipts.receipt_view(session, svc.vault, application, settings)
            app_id = application.id
        render_receipt(view, copy="family")
        warm = []
        for _ in range(5):
            t = time.perf_counter()
            pdf = render_receipt(view, copy="family")
            warm.append(time.perf_counter() - t)
        sizes["family (longest answers)"] = len(pdf)
        sizes["archive (longest answers)"] = len(render_receipt(view, copy="archive"))
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            login(client, "chenjianguo")
            t = time.perf_counter()
            first = client.get(f"/my/{app_id}/receipt.pdf")
            first_time = time.perf_counter() - t
            assert first.status_code == 200, first.status_code
            cached = []
            for _ in range(30):
                t = time.perf_counter()
                r = client.get(f"/my/{app_id}/receipt.pdf")
                cached.append(time.perf_counter() - t)
                assert r.status_code == 200
        engine.dispose()

    def ok(value: float, limit: float) -> str:
        return "ok" if value <= limit else "OVER TARGET"

    print("receipt PDF (WeasyPrint, A4, tagged PDF/UA-1, Noto Sans CJK SC subsets)")
    print(f"  cold render (new process, imports included): {cold:.3f} s")
    print(f"  warm render (median of 5):                   {statistics.median(warm):.3f} s  "
          f"[target ≤ 0.3 s: {ok(statistics.median(warm), 0.3)}]  min {min(warm):.3f} s")
    print(f"  first download (render + cache write):       {first_time * 1000:.0f} ms")
    med = statistics.median(cached)
    print(f"  cached download over HTTP (median of 30):    {med * 1000:.1f} ms  [target ≤ 20 ms: {ok(med, 0.020)}]"
          f"  p95 {sorted(cached)[int(len(cached) * 0.95) - 1] * 1000:.1f} ms")
    for name, size in sizes.items():
        print(f"  size {name:<28} {size / 1024:.0f} KB  [target ≤ 400 KB: {ok(size, 400 * 1024)}]")


if __name__ == "__main__":
    main()
