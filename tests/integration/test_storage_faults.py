"""A database that cannot write gives the truthful 503 page, and the portal recovers by itself
once the fault is gone, without a restart (issue 11, item 10).

The fault is what a read-only database looks like to the portal:
* SQLite: every connection opened from now on is read-only — what SQLite does by itself when
  it cannot open the file for writing (chmod, a read-only mount): it opens it read-only and the
  connection stays so for good. (Tests run as root, for whom chmod changes nothing.)
* PostgreSQL: the database's sessions become read-only by default and open sessions are ended,
  as a failover to a read-only standby does.
In both, the portal's open connections are closed when the fault starts, so every request
meets it. Ending the fault removes only its cause: connections opened during it stay as they
are, and the portal must find and replace them itself.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from portal.models import Application, CitizenAccount, Receipt
from portal.services import applications as drafts
from tests.conftest import csrf_from
from tests.helpers import DEMO_PASSWORD, _path, login, provider_login_form
from tests.integration.factories import new_application
from tests.integration.receipt_factory import make_application
from tests.integration.test_apply_support import answer_all, typical


@contextmanager
def read_only_database(engine: Engine) -> Iterator[None]:
    """The database accepts reads but no writes while inside (see the module's docstring)."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database

        def open_read_only(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
            cargs[:] = [f"file:{path}?mode=ro"]
            cparams["uri"] = True

        event.listen(engine, "do_connect", open_read_only)
        engine.dispose()
        try:
            yield
        finally:
            event.remove(engine, "do_connect", open_read_only)
        return
    admin = create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = engine.url.database
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text("SET default_transaction_read_only = off"))
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        admin.dispose()


@pytest.fixture
def tab(app, engine: Engine) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client that shows server errors as the pages they are (instead of raising them)."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False) as c:
        yield c
    engine.dispose()  # whatever the portal kept, the next test starts afresh


def assert_nothing_saved(response: Any) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert "没有保存" in response.text and "已经保存" not in response.text
    assert response.headers.get("retry-after")


def _draft(engine: Engine, vault: Any) -> drafts.Draft:
    with Session(engine) as s:
        return drafts.read_draft(vault, s.scalar(select(Application).where(Application.status == "draft")))


def _step_form(tab: TestClient, step: str, data: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {"csrf_token": csrf_from(tab.get(f"/apply/step/{step}").text), **data, **extra}


def test_step_save(tab: TestClient, engine: Engine, vault) -> None:  # type: ignore[no-untyped-def]
    login(tab, "chenjianguo", "/apply")
    tab.post("/apply/start", data={"csrf_token": csrf_from(tab.get("/").text)})
    answers = typical()
    answer_all(tab, answers, until="deceased")
    form = _step_form(tab, "deceased", answers["deceased"])
    with read_only_database(engine):
        assert_nothing_saved(tab.post("/apply/step/deceased", data=form))
        assert "deceased" not in _draft(engine, vault).done
    after = tab.post("/apply/step/deceased", data=form)
    assert after.status_code == 303 and after.headers["location"] == "/apply/step/death"
    assert "deceased" in _draft(engine, vault).done


def test_save_for_later(tab: TestClient, engine: Engine, vault) -> None:  # type: ignore[no-untyped-def]
    login(tab, "chenjianguo", "/apply")
    tab.post("/apply/start", data={"csrf_token": csrf_from(tab.get("/").text)})
    answers = typical()
    answer_all(tab, answers, until="deceased")
    form = _step_form(tab, "deceased", {"d_name": "陈老三", "d_address": "解放街188号"}, action="save")
    with read_only_database(engine):
        assert_nothing_saved(tab.post("/apply/step/deceased", data=form))
    after = tab.post("/apply/step/deceased", data=form)
    assert after.status_code == 303 and after.headers["location"] == "/apply/saved"
    assert _draft(engine, vault).answers["d_address"] == "解放街188号"


def test_receipt_download(tab: TestClient, engine: Engine, vault) -> None:  # type: ignore[no-untyped-def]
    login(tab, "chenjianguo")
    with Session(engine) as s, s.begin():
        app_id = make_application(s, vault, sub=s.scalar(select(CitizenAccount)).sub).id
    with read_only_database(engine):
        assert_nothing_saved(tab.get(f"/my/{app_id}/receipt.pdf"))  # its token must be written first
    after = tab.get(f"/my/{app_id}/receipt.pdf")
    assert after.status_code == 200 and after.content.startswith(b"%PDF")
    with Session(engine) as s:
        assert s.scalar(select(Receipt.application_id)) == app_id


def test_accept(tab: TestClient, engine: Engine, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(tab, "clerk")
    page = tab.get(f"/admin/applications/{app_id}").text
    form = {"csrf_token": csrf_from(page), "version": re.search(r'name="version" value="(\d+)"', page).group(1)}
    with read_only_database(engine):
        assert_nothing_saved(tab.post(f"/admin/applications/{app_id}/accept", data=form))
    after = tab.post(f"/admin/applications/{app_id}/accept", data=form)
    assert after.status_code == 303
    with Session(engine) as s:
        assert s.get(Application, app_id).status == "accepted"


def test_login(tab: TestClient, engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The portal's part of a login (the callback's account write) meets the fault.

    The stand-in provider shares this database, so the fault starts once it has answered the
    token request, as it would with the real 浙江政务服务网 on its own storage.
    """
    import auth.web

    fault = read_only_database(engine)
    real_sign_in = auth.web.sign_in

    def sign_in_during_the_fault(*args: Any, **kwargs: Any) -> Any:
        fault.__enter__()
        return real_sign_in(*args, **kwargs)

    start = tab.get("/login?next=/my")
    action, fields = provider_login_form(tab, start.headers["location"])
    posted = tab.post(_path(action), data={**fields, "username": "chenjianguo", "password": DEMO_PASSWORD})
    monkeypatch.setattr(auth.web, "sign_in", sign_in_during_the_fault)
    try:
        assert_nothing_saved(tab.get(_path(posted.headers["location"])))
    finally:
        fault.__exit__(None, None, None)
        monkeypatch.setattr(auth.web, "sign_in", real_sign_in)
    with Session(engine) as s:
        assert s.scalar(select(CitizenAccount)) is None
    # Logging in again: the provider still knows the person, so it answers with a new code at once.
    response = tab.get("/login?next=/my")
    for _ in range(5):
        if response.status_code not in (302, 303):
            break
        response = tab.get(_path(response.headers["location"]))
    assert response.status_code == 200 and "我的申请" in response.text, response.text[:300]


def test_health_check_reports_the_write_failure(tab: TestClient, engine: Engine) -> None:
    healthy = tab.get("/healthz").json()
    assert healthy["status"] == "ok" and healthy["database"] == "ok"
    with read_only_database(engine):
        sick = tab.get("/healthz")
        assert sick.status_code == 503 and sick.json()["status"] == "error", sick.text
        assert "write" in sick.json()["database"]
    healthy = tab.get("/healthz")
    assert healthy.status_code == 200 and healthy.json()["status"] == "ok"


def test_the_500_page_claims_nothing_was_saved(tab: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A defect is not a storage fault: 500, and the page does not promise anything was kept."""
    from portal.services import queues

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a defect")

    login(tab, "chenjianguo")
    monkeypatch.setattr(queues, "my_applications", broken)
    page = tab.get("/my")
    assert page.status_code == 500
    assert "保存" not in page.text and "系统暂时出了问题" in page.text
