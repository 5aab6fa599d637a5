"""Submitting: idempotent, duplicate deceased, drafts across devices, ownership, data at rest, corrections."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.models import Application, DepartmentTask, Event, Notification, Party
from tests.helpers import login
from tests.integration.test_apply_support import (
    BAD_LUHN_ACCOUNT,
    DECEASED_ID,
    DECEASED_ID_X,
    GOOD_ACCOUNT,
    RECIPIENT_ID,
    answer_all,
    csrf,
    full_application,
    post_step,
    start,
    submit,
    submit_key,
    typical,
)


def _new_client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


def _count(engine: Engine, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Application).where(*where)) or 0


# --- idempotent submit ---------------------------------------------------------------------


def test_double_submit_creates_one_application(client: TestClient, engine: Engine) -> None:
    start(client)
    answer_all(client, typical())
    key = submit_key(client)
    first = submit(client, key)
    second = submit(client, key)  # double tap / refresh
    assert first.headers["location"] == second.headers["location"]
    assert _count(engine, Application.status == "submitted") == 1
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(DepartmentTask)) == 5
        assert s.scalar(select(func.count()).select_from(Event).where(Event.tag == "citizen:application:submit")) == 1
        texts = list(s.scalars(select(Notification)))
        assert len(texts) == 1 and "已收到您的身后事联办申请" in texts[0].body and texts[0].phone_enc
    # the old check-answers page (another tab) now leads to the confirmation too
    assert client.get("/apply").status_code == 200  # no open draft any more: the start page
    assert 'action="/apply/start"' in client.get("/apply").text


def test_two_tabs_submitting_at_once_create_one_application(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    start(client)
    answer_all(client, typical())
    key = submit_key(client)
    with _new_client(app) as tab2:
        login(tab2, "chenjianguo")
        results: list[str] = []

        def go(c: TestClient) -> None:
            r = submit(c, key)
            results.append(r.headers.get("location", str(r.status_code)))

        threads = [threading.Thread(target=go, args=(c,)) for c in (client, tab2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(set(results)) == 1 and results[0].endswith("/done"), results
    assert _count(engine, Application.status == "submitted") == 1


# --- duplicate deceased --------------------------------------------------------------------


def test_duplicate_deceased_is_shown_masked(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    full_application(client)
    with _new_client(app) as other:
        start(other, "linxiaoyan")
        answers = typical()
        post_step(other, "scenario", answers["scenario"])
        # a stranger types the number with another name and place
        typed = {**answers["deceased"], "d_name": "王小明", "d_hukou": "330303:永中街道"}
        r = post_step(other, "deceased", typed)
        assert r.headers["location"] == "/apply/in-progress"
        page = other.get("/apply/in-progress").text
        assert "这位逝者的申请已经在办理中" in page
        assert "3303**********0010" in page  # the number they typed, masked
        assert DECEASED_ID not in page and "陈建国" not in page
        # another family's case: not even a masked name; no 编号, date, status or township
        assert "陈*三" not in page and "陈老三" not in page and "王*明" not in page
        assert not re.search(r"330302-\d{8}-\d{4}", page)
        assert "提交日期" not in page and "五马街道" not in page and "受理地" not in page
        assert "已提交，等待" not in page and "/my/" not in page
        # only what to do: the window of the place they typed, 12345
        assert "12345" in page and "龙湾区永中街道" in page


def test_duplicate_page_shows_own_case_in_full(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    full_application(client)
    start(client)  # the same family starts again for the same person
    answers = typical()
    post_step(client, "scenario", answers["scenario"])
    assert post_step(client, "deceased", answers["deceased"]).headers["location"] == "/apply/in-progress"
    page = client.get("/apply/in-progress").text
    assert re.search(r"330302-\d{8}-0001", page) and "五马街道" in page and "查看办理进度" in page


def test_duplicate_detected_at_submit(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with _new_client(app) as other:
        start(other, "linxiaoyan")
        answer_all(other, typical())  # both families fill in at the same time
        key = submit_key(other)
        full_application(client)  # the first one submits
        r = submit(other, key)
        assert r.status_code == 200 and "这位逝者的申请已经在办理中" in r.text
    assert _count(engine, Application.status == "submitted") == 1
    assert _count(engine, Application.status == "draft") == 1  # the second draft is kept, nothing lost


def test_completed_application_does_not_block(client: TestClient, engine: Engine) -> None:
    first = full_application(client)
    with Session(engine) as s, s.begin():
        s.get(Application, first).status = "completed"
    second = full_application(client)
    assert second != first


# --- drafts --------------------------------------------------------------------------------


def test_draft_resumes_on_another_device(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    start(client)
    answers = typical()
    answer_all(client, answers, until="death")
    with _new_client(app) as phone:
        login(phone, "chenjianguo", "/apply")
        r = phone.get("/apply")
        assert r.headers["location"] == "/apply/step/death"
        page = phone.get("/apply/step/deceased").text
        assert 'value="陈老三"' in page and f'value="{DECEASED_ID}"' in page
        assert phone.post("/apply/start", data={"csrf_token": csrf(phone)}).headers["location"] == "/apply/step/death"
        answer_all(phone, {k: v for k, v in answers.items() if k not in ("scenario", "deceased")})
    # back on the first device: the draft finished on the phone is there
    assert client.get("/apply").headers["location"] == "/apply/step/check"


def test_one_open_draft_per_account(client: TestClient, engine: Engine) -> None:
    start(client)
    start(client)
    assert _count(engine, Application.status == "draft") == 1


# --- ownership -----------------------------------------------------------------------------


def test_others_get_404(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    app_id = full_application(client)
    start(client)  # a second draft of chenjianguo
    answer_all(client, typical(deceased_id=DECEASED_ID_X), until="death")
    key = submit_key_of_draft(engine)
    with _new_client(app) as other:
        login(other, "zhengzhe")
        assert other.get(f"/apply/{app_id}/done").status_code == 404
        assert other.get(f"/apply/{app_id}/fix/recipient").status_code == 404
        r = other.post("/apply/submit", data={"csrf_token": csrf(other), "submit_key": key, "declaration": "yes"})
        assert r.status_code == 404
        # their own /apply starts their own draft; they never see chenjianguo's answers
        start(other, "zhengzhe")
        assert "陈老三" not in other.get("/apply/step/deceased").text
    assert client.get(f"/apply/{app_id}/done").status_code == 200
    assert client.get("/apply/999999/done").status_code == 404


def submit_key_of_draft(engine: Engine) -> str:
    with Session(engine) as s:
        return s.scalar(select(Application.submit_key).where(Application.status == "draft"))


# --- data at rest --------------------------------------------------------------------------


def test_database_file_holds_no_personal_numbers_in_clear(client: TestClient, engine: Engine, settings) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name != "sqlite":
        return
    start(client)
    answers = typical(deceased_id=DECEASED_ID_X)
    answers["recipient"] = {"r_who": "other", "r_name": "陈小红", "r_relation": "child", "r_id": RECIPIENT_ID,
                            "r_bank": "温州银行", "r_account": BAD_LUHN_ACCOUNT, "r_account_confirm": "yes"}
    answer_all(client, answers)
    submit(client)
    start(client)  # and a draft that holds a bank account
    draft = typical(deceased_id=DECEASED_ID)
    answer_all(client, draft)
    engine.dispose()  # close connections so everything is in the files we read
    path = Path(engine.url.database)
    raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    for secret in (DECEASED_ID_X, DECEASED_ID, RECIPIENT_ID, BAD_LUHN_ACCOUNT, GOOD_ACCOUNT,
                   "33030219620315031X", "19900000001"):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret
    with Session(engine) as s:
        rec = s.scalar(select(Party).where(Party.role == "recipient"))
        assert rec.bank_account_enc and rec.bank_account_enc.startswith("v1:")


# --- correction mode -----------------------------------------------------------------------


def _return_task(engine: Engine, app_id: int, matter: str, step: str) -> None:
    with Session(engine) as s, s.begin():
        task = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == matter))
        task.status = "returned"
        task.result = {"correction_step": step, "correction_reason": "银行卡号有误"}


def test_correction_of_one_step(client: TestClient, engine: Engine) -> None:
    app_id = full_application(client)
    assert client.get(f"/apply/{app_id}/fix/recipient").status_code == 404  # nothing returned yet
    _return_task(engine, app_id, "pension", "recipient")
    page = client.get(f"/apply/{app_id}/fix/recipient")
    assert page.status_code == 200 and "提交修改" in page.text and f'href="/my/{app_id}"' in page.text
    assert GOOD_ACCOUNT in page.text  # the owner sees their answers
    assert client.get(f"/apply/{app_id}/fix/deceased").status_code == 404  # only the step asked for
    bad = client.post(f"/apply/{app_id}/fix/recipient",
                      data={"csrf_token": csrf(client), "r_who": "self", "r_bank": "温州银行", "r_account": "123"})
    assert bad.status_code == 200 and "<title>错误：" in bad.text
    with Session(engine) as s:
        version = s.get(Application, app_id).version
    r = client.post(f"/apply/{app_id}/fix/recipient",
                    data={"csrf_token": csrf(client), "r_who": "self", "r_bank": "温州银行",
                          "r_account": "6217 0012 3456 7893"})
    assert r.status_code == 303 and r.headers["location"] == f"/my/{app_id}"
    with Session(engine) as s:
        app_row = s.get(Application, app_id)
        assert app_row.version > version
        rec = s.scalar(select(Party).where(Party.application_id == app_id, Party.role == "recipient"))
        assert rec.bank_name == "温州银行"
        assert s.scalar(select(Event).where(Event.tag == "citizen:application:correct")) is not None
        task = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == "pension"))
        assert task.status != "returned"  # the workflow resumed it


def test_death_time_correctable_with_the_certificate(client: TestClient, engine: Engine) -> None:
    app_id = full_application(client)
    _return_task(engine, app_id, "certificate", "certificate")
    assert client.get(f"/apply/{app_id}/fix/death").status_code == 200
    assert client.get(f"/apply/{app_id}/fix/certificate").status_code == 200
    # a change that breaks another answer is refused with an explanation
    r = client.post(f"/apply/{app_id}/fix/certificate",
                    data={"csrf_token": csrf(client), "cert_no": "330302193805050021"})
    assert r.status_code == 200 and "不一致" in r.text


# --- the receipt is ready before the family asks for it -------------------------------------


def test_receipt_is_rendered_after_submit_and_after_a_correction(settings, engine: Engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    import httpx

    from auth.web import build_oauth
    from portal.app import create_app
    from tests.conftest import _empty_tables

    own = replace(settings, prerender_receipts=True, var_dir=tmp_path)
    application = create_app(own, engine=engine)
    application.state.oauth = build_oauth(own, transport=httpx.ASGITransport(app=application))

    def cached() -> list[str]:
        return sorted(p.name for p in (tmp_path / "receipts" / str(app_id)).glob("*-family-*.pdf.sealed"))

    def worker_runs() -> None:
        import threading

        from portal.worker import work

        work(replace(own, job_poll_seconds=0.01), threading.Event(), idle_exit=True)

    try:
        with _new_client(application) as c:
            app_id = full_application(c)
            assert cached() == []  # not in the request: the worker renders it
            worker_runs()
            after_submit = cached()
            assert len(after_submit) == 1
            download = c.get(f"/my/{app_id}/receipt.pdf")
            assert download.status_code == 200 and download.content.startswith(b"%PDF")
            assert cached() == after_submit  # the download was served from that render

            _return_task(engine, app_id, "pension", "recipient")
            r = c.post(f"/apply/{app_id}/fix/recipient",
                       data={"csrf_token": csrf(c), "r_who": "self", "r_bank": "温州银行",
                             "r_account": "6217 0012 3456 7893"})
            assert r.status_code == 303
            worker_runs()
            after_fix = cached()
            assert len(after_fix) == 1 and after_fix != after_submit  # the corrected receipt, ready
    finally:
        _empty_tables(engine)


def test_two_families_submitting_the_same_deceased_at_once_make_one_application(app, client: TestClient, engine: Engine,  # type: ignore[no-untyped-def]
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The second submission waits for the first to commit, then sees it (SQLite and PostgreSQL).

    Both declarations are ticked beforehand, so that nothing but the submission itself writes:
    the race is between the two duplicate checks.
    """
    from portal.db import make_sessionmaker
    from portal.services import applications as drafts
    from portal.services import intake, submission
    from portal.services.events import Actor
    from tests.integration.concurrency import Rendezvous, blocked_on_a_lock

    keys = {}
    for user, c in (("chenjianguo", client), ("linxiaoyan", _new_client(app))):
        start(c, user)
        answer_all(c, typical())  # both families fill in the same deceased
        keys[user] = submit_key(c)
    db, vault = make_sessionmaker(engine), app.state.services.vault
    with db() as session, session.begin():
        for key in keys.values():
            row = session.scalar(select(Application).where(Application.submit_key == key))
            draft = drafts.read_draft(vault, row)
            draft.answers["declaration"] = "yes"  # ticked on the check-answers page
            drafts.write_draft(vault, row, draft)

    def submit_as(session: Session, user: str) -> submission.SubmitResult:
        row = session.scalar(select(Application).where(Application.submit_key == keys[user]))
        facts = drafts.applicant_facts(session, vault, row.account_id)
        return submission.submit(session, vault, account_id=row.account_id, submit_key=keys[user],
                                 applicant=facts, actor=Actor("citizen", row.account_id, facts.name))

    first, second = db(), db()
    outcomes: list[str] = []
    try:
        first.begin()
        assert submit_as(first, "chenjianguo").outcome == "submitted"  # not committed yet
        # The other family reaches the per-deceased lock while the first submission is open.
        meet = Rendezvous(2)
        monkeypatch.setattr(intake, "_one_submission_per_deceased_at_a_time",
                            meet.wrap(intake._one_submission_per_deceased_at_a_time))
        committing, checked_after_commit = threading.Event(), []
        check = intake.active_for_deceased

        def recording_check(*args, **kwargs):  # type: ignore[no-untyped-def]
            checked_after_commit.append(committing.is_set())
            return check(*args, **kwargs)

        monkeypatch.setattr(intake, "active_for_deceased", recording_check)

        def other_family() -> None:
            with second.begin():
                outcomes.append(submit_as(second, "linxiaoyan").outcome)

        racer = threading.Thread(target=other_family)
        racer.start()
        meet.wait()
        assert meet.met == [True]  # both submissions overlapped: the first is not committed yet
        if engine.dialect.name == "postgresql":
            assert blocked_on_a_lock(engine)  # and the other one waits for it
        assert racer.is_alive()
        committing.set()  # (set just before: the check cannot run before the commit if it waits)
        first.commit()
        racer.join(10)
        assert outcomes == ["duplicate"]
        assert checked_after_commit == [True]  # the other family's duplicate check waited for the commit
    finally:
        first.close(); second.close()
    assert _count(engine, Application.status == "submitted") == 1
    assert _count(engine, Application.status == "draft") == 1  # the second draft is kept
