"""Production shape: request ids and no personal number in the logs, metrics for staff only,
backup while families submit and restore into an empty database."""
from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.testclient import TestClient
from stdnum.cn import ric

from portal.backup import BackupError, backup, restore
from portal.db import make_engine
from portal.logs import QUIET, JsonFormatter, RequestIdFilter, scrub
from portal.models import Application, DepartmentTask
from tests.helpers import login
from tests.integration.factories import new_application
from tests.integration.test_apply_support import full_application

ID_LIKE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line of the test as the portal writes it, without the scrubber (so the test
    sees what the code itself logs, not what the safety net hides)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {name: logging.getLogger(name).level for name in QUIET}
    for name, to in QUIET.items():  # as portal.logs sets them up (the test client logs through httpx too)
        logging.getLogger(name).setLevel(to)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def test_a_whole_flow_logs_request_ids_and_no_personal_number(client: TestClient, db, json_log: io.StringIO) -> None:  # type: ignore[no-untyped-def]
    app_id = full_application(client)
    assert client.get(f"/my/{app_id}").status_code == 200
    assert client.get(f"/my/{app_id}/receipt.pdf").status_code == 200
    clerk = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(clerk, "clerk")
    assert clerk.get(f"/admin/applications/{app_id}").status_code == 200
    offered = client.get("/policy/search?q=110101199003074477+13812345678", headers={"X-Request-ID": "lb-abc12345"})
    assert offered.headers["x-request-id"] == "lb-abc12345"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines() if line.strip()]
    access = [x for x in lines if x["logger"] == "portal.access"]
    assert len(access) > 20 and all(x["request_id"] != "-" for x in access)
    assert {"route", "status", "ms"} <= set(access[0])
    assert any(x["request_id"] == "lb-abc12345" for x in access)
    text_of_logs = json_log.getvalue()
    ids = [m for m in ID_LIKE.findall(text_of_logs) if ric.is_valid(m)]
    assert not ids and not MOBILE.findall(text_of_logs), (ids, MOBILE.findall(text_of_logs))


def test_scrubber_masks_what_slips_through() -> None:
    line = scrub("查询 110101199003074477 与 13812345678 以及 6222020200112233445")
    assert line == "查询 [身份证号] 与 [手机号] 以及 [卡号]"
    assert scrub("申请 330302-20261123-0002 任务 12345") == "申请 330302-20261123-0002 任务 12345"


def test_metrics_are_for_administrators_and_the_scraper_only(app, client: TestClient, demo_staff: None) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/policy").status_code == 200
    anonymous = client.get("/admin/metrics")
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    login(client, "chenjianguo")
    assert client.get("/admin/metrics").status_code == 403
    admin = TestClient(app, base_url="http://testserver", follow_redirects=False)
    login(admin, "admin")
    page = admin.get("/admin/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    assert 'portal_http_requests_total{method="GET",route="public page",status="200"}' in page.text
    for name in ("portal_http_request_seconds_bucket", "portal_jobs_due", "portal_window_waiting",
                 "portal_window_oldest_seconds", "portal_tasks_overdue"):
        assert name in page.text, name


def test_metrics_token_lets_the_scraper_in(settings, engine) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from portal.app import create_app

    app = create_app(replace(settings, metrics_token="scrape-secret-1234"), engine=engine)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        assert c.get("/admin/metrics", headers={"Authorization": "Bearer scrape-secret-1234"}).status_code == 200
        wrong = c.get("/admin/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code in (302, 303)


# --- backup and restore ------------------------------------------------------------------------

@pytest.fixture
def empty_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database on the same server (SQLite: a new file)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_while_families_submit_restores_every_acknowledged_application(  # type: ignore[no-untyped-def]
        db, vault, settings, tmp_path: Path, empty_database: str) -> None:
    acknowledged: list[tuple[int, float]] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def family(n: int) -> None:
        while not stop.is_set():
            try:
                app_id = new_application(db, vault, name=f"逝者{n}")
            except (IntegrityError, OperationalError):
                continue  # busy, or the factory's 编号 taken meanwhile: rolled back, not acknowledged; again
            except Exception as exc:  # noqa: BLE001 - anything else fails the test
                failures.append(exc)
                continue
            acknowledged.append((app_id, time.monotonic()))  # committed: the family saw its 编号

    acknowledged.append((new_application(db, vault), time.monotonic()))  # the account exists before the rush
    threads = [threading.Thread(target=family, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        while len(acknowledged) < 8 and not failures:
            time.sleep(0.05)
        began = time.monotonic()
        copy = backup(settings.database_url, tmp_path / "portal.backup")
        during = len(acknowledged)
        while len(acknowledged) < during + 4 and not failures:  # families go on after the copy
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures
    before = {app_id for app_id, at in acknowledged if at < began}
    assert len(before) >= 8

    restore(empty_database, copy)
    restored = make_engine(empty_database)
    try:
        with restored.connect() as conn:
            ids = set(conn.scalars(select(Application.id)))
            tasks = dict(conn.execute(select(DepartmentTask.application_id, func.count())
                                      .group_by(DepartmentTask.application_id)).all())
    finally:
        restored.dispose()
    assert before <= ids, f"acknowledged before the backup but missing: {sorted(before - ids)}"
    with db() as s:
        live_tasks = dict(s.execute(select(DepartmentTask.application_id, func.count())
                                    .where(DepartmentTask.application_id.in_(ids)).group_by(DepartmentTask.application_id)).all())
    assert tasks == live_tasks  # every restored application whole: its tasks came with it
    with pytest.raises(BackupError):
        restore(empty_database, copy)  # never over data
