"""Parallel writes answer 200/303/409, never 500, and write once (issue 11, items 8 and 9).

Each test forces the race with a Rendezvous inside the code path (see concurrency.py): every
request has read the same state before any of them writes, and the test asserts that the
rendezvous was met, so the requests provably overlapped.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

import pdf.receipt
from portal.models import Application, CitizenAccount, DepartmentTask, Event, Receipt
from portal.services import applications as drafts
from portal.services import submission
from portal.services import workflow as wf
from portal.services.throttle import parse_limits
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.concurrency import Rendezvous, together
from tests.integration.factories import new_application
from tests.integration.receipt_factory import make_application
from tests.integration.test_apply_support import answer_all, csrf, full_application, start, typical

ALLOWED = {200, 303, 409}


@contextmanager
def tabs(app, user: str, n: int) -> Iterator[list[TestClient]]:  # type: ignore[no-untyped-def]
    """n browser tabs (separate sessions) of the same person, logged in."""
    with ExitStack() as stack:
        out = []
        for _ in range(n):
            tab = stack.enter_context(TestClient(app, base_url="http://testserver", follow_redirects=False,
                                                 raise_server_exceptions=False))
            login(tab, user)
            out.append(tab)
        yield out


def _events(engine: Engine, tag: str) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.tag == tag)) or 0


def _nothing_saved(response) -> None:  # type: ignore[no-untyped-def]
    assert "没有保存" in response.text, response.text[:600]
    assert "已经保存" not in response.text


def test_three_tabs_saving_the_same_step(app, client: TestClient, engine: Engine, vault, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    start(client)
    answers = typical()
    answer_all(client, answers, until="death")
    # All three read the draft before any writes; the two that lose meet again when retried.
    meet = Rendezvous(3, 2)
    monkeypatch.setattr(drafts, "save_step", meet.wrap(drafts.save_step))
    with tabs(app, "chenjianguo", 3) as pages:
        tokens = [csrf(p) for p in pages]
        typed = [f"解放街{100 + i}号" for i in range(3)]
        responses = together(lambda i: pages[i].post("/apply/step/deceased", data={
            "csrf_token": tokens[i], **answers["deceased"], "d_address": typed[i]}), 3)
    codes = [r.status_code for r in responses]
    assert meet.met[0], "the three saves did not overlap"
    assert set(codes) <= ALLOWED and 303 in codes, codes
    for r in responses:
        if r.status_code == 409:
            _nothing_saved(r)
    with Session(engine) as s:
        row = s.scalar(select(Application).where(Application.status == "draft"))
        draft = drafts.read_draft(vault, row)
    assert draft.answers["d_address"] in typed and "deceased" in draft.done  # one of them, whole


def test_four_parallel_corrections(app, client: TestClient, engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app_id = full_application(client)
    with Session(engine) as s, s.begin():  # the 人社 officer asks for the bank account again
        task = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == "pension"))
        task.status, task.result = "returned", {"correction_step": "recipient", "correction_reason": "银行卡号有误"}
    meet = Rendezvous(4)
    monkeypatch.setattr(submission, "apply_correction", meet.wrap(submission.apply_correction))
    with tabs(app, "chenjianguo", 4) as pages:
        tokens = [csrf(p) for p in pages]
        responses = together(lambda i: pages[i].post(f"/apply/{app_id}/fix/recipient", data={
            "csrf_token": tokens[i], "r_who": "self", "r_bank": "温州银行", "r_account": "6217 0012 3456 7893"}), 4)
    codes = [r.status_code for r in responses]
    assert meet.met[0], "the four corrections did not overlap"
    assert set(codes) <= ALLOWED and codes.count(303) == 1, codes
    for r in responses:
        if r.status_code == 409:
            _nothing_saved(r)
            assert f'href="/my/{app_id}"' in r.text  # the way back to the latest state
    assert _events(engine, "citizen:application:correct") == 1


def test_five_clerks_accepting_the_same_version(app, client: TestClient, db, vault, engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    meet = Rendezvous(5)
    monkeypatch.setattr(wf, "app_snapshot", meet.wrap(wf.app_snapshot))
    with tabs(app, "clerk", 5) as clerks:
        forms = [c.get(f"/admin/applications/{app_id}").text for c in clerks]
        data = [{"csrf_token": csrf_from(f), "version": re.search(r'name="version" value="(\d+)"', f).group(1)}
                for f in forms]
        responses = together(lambda i: clerks[i].post(f"/admin/applications/{app_id}/accept", data=data[i]), 5)
    codes = [r.status_code for r in responses]
    assert meet.met[0], "the five acceptances did not overlap"
    assert set(codes) <= ALLOWED and codes.count(303) == 1, codes
    assert all("没有保存" in r.text for r in responses if r.status_code == 409)
    assert _events(engine, "staff:application:accept") == 1
    with Session(engine) as s:
        assert s.get(Application, app_id).status == "accepted"


def test_fifty_families_download_receipts_at_once(app, client: TestClient, engine: Engine, vault, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The receipt's token is written in a short transaction; the slow rendering runs after it.

    What is under test is where the write lock is held, not WeasyPrint: the renderer is
    replaced by a rendezvous of the portal's handler threads (then a small stand-in PDF).
    Eight renders can only meet if none of them holds the database's write lock, and the
    rendezvous outlasts SQLite's busy timeout, so holding it would show as `database is locked`.
    """
    login(client, "chenjianguo")
    with Session(engine) as s, s.begin():
        account = s.scalar(select(CitizenAccount))
        ids = [make_application(s, vault, number=f"330302-20261122-{i:04d}", sub=account.sub,
                                deceased_name=f"陈{'一二三四五六七八九十'[i % 10]}明").id for i in range(50)]
    threads = min(8, app.state.services.settings.threads)  # the handler threads a worker runs at once
    meet = Rendezvous(threads, timeout=12)

    def slow_render(view, copy):  # type: ignore[no-untyped-def]
        meet.wait()
        return b"%PDF-1.7\n% stand-in for " + copy.encode() + b"\n%%EOF\n"

    monkeypatch.setattr(pdf.receipt, "render_receipt", slow_render)
    # One account stands for the 50 families here: lift its download limit (tested on its own).
    throttle = app.state.services.extras["throttle"]
    monkeypatch.setattr(throttle, "items", {**throttle.items, **parse_limits({"download": "1000 per minute"})})
    with tabs(app, "chenjianguo", 1) as (family,):
        responses = together(lambda i: family.get(f"/my/{ids[i]}/receipt.pdf"), 50)
    codes = [r.status_code for r in responses]
    assert meet.met[0], f"{threads} renders never ran at once: rendering holds the write lock"
    assert codes == [200] * 50, sorted(codes)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Receipt).where(Receipt.superseded_at.is_(None))) == 50
