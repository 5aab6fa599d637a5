"""Facts pushed by department systems: idempotent, matched by blind index, completing tasks through
the back office's own service, contradictions held for the window (issue 14, item 3)."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.db import transaction
from portal.models import Application, CaseException, Event, ExchangeEvent, Notification
from portal.services import case_exceptions, exchange
from portal.services import workflow as wf
from portal.services.applications import read_draft
from portal.simulate import payloads
from tests.integration.exchange_support import FUNERAL_HOME, GONGAN, YIBAO_LUCHENG, Scope, send
from tests.integration.factories import new_application, staff, tasks_by_matter


def _accepted(db: sessionmaker[Session], vault: Vault) -> tuple[int, str, str, datetime]:
    app_id = new_application(db, vault)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app is not None
        wf.accept(s, app_id, app.version, staff(s, "clerk"))
        answers = read_draft(vault, app).answers
        died = app.deceased.death_time if app.deceased else None
        assert died is not None
        return app_id, answers["d_name"], answers["d_id"], died


def _count(db: sessionmaker[Session], model: type, *where: object) -> int:
    with db() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_cremation_event_completes_the_task_once(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, died = _accepted(db, vault)
    event = payloads.cremation_completed(name, id_no, died)
    first = send(db, vault, FUNERAL_HOME, event)
    assert first.outcome == "applied" and first.number
    with db() as s:
        task = tasks_by_matter(s, app_id)["cremation"]
        assert task.status == "done" and task.assignee_id is None and "由殡仪馆系统自动报送" in (task.message or "")
        said = s.scalar(select(Event).where(Event.application_id == app_id, Event.tag == "system:task:complete"))
        assert said is not None and said.public and "由殡仪馆系统自动报送" in said.summary
        assert said.actor_kind == "system"
    texts, events = _count(db, Notification), _count(db, Event)
    again = send(db, vault, FUNERAL_HOME, event)  # a retry of the same (source, id)
    assert again.as_dict() == first.as_dict() and again.duplicate
    assert (_count(db, Notification), _count(db, Event), _count(db, ExchangeEvent)) == (texts, events, 1)
    # the same fact under a new id finds the matter already done: nothing changes either
    other = send(db, vault, FUNERAL_HOME, payloads.cremation_completed(name, id_no, died))
    assert other.outcome == "already_done" and _count(db, Event) == events


def test_negative_medical_settlement_unlocks_the_pension(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, _ = _accepted(db, vault)
    with db() as s:
        assert tasks_by_matter(s, app_id)["pension"].status == "waiting"
    answer = send(db, vault, YIBAO_LUCHENG, payloads.medical_settled(name, id_no, "-320.50"))
    assert answer.outcome == "applied"
    with db() as s:
        tasks = tasks_by_matter(s, app_id)
        assert tasks["medical"].status == "done" and str(tasks["medical"].amount) == "-320.50"
        assert tasks["medical"].result == {"settlement_amount": "-320.50", "deduct_from": "pension"}
        assert tasks["pension"].status == "pending"  # the dependant unlocked, no officer click


def test_a_department_may_send_only_its_own_facts(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, died = _accepted(db, vault)
    with pytest.raises(exchange.NotAllowed):
        send(db, vault, YIBAO_LUCHENG, payloads.cremation_completed(name, id_no, died))
    with pytest.raises(exchange.NotAllowed):  # a 瑞安 client cannot report on a 鹿城 case
        send(db, vault, Scope("瑞安市医保", "yibao", "330381"), payloads.medical_settled(name, id_no, "10.00"))
    with pytest.raises(exchange.NotAllowed):  # 人社 cannot report a veteran's benefit stop
        send(db, vault, Scope("人社", "renshe"), payloads.benefit_stopped(name, id_no, "veteran", source="urn:x"))
    assert _count(db, ExchangeEvent) == 0
    with db() as s:
        assert tasks_by_matter(s, app_id)["cremation"].status == "pending"


def test_household_cancellation_records_the_date(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, died = _accepted(db, vault)
    answer = send(db, vault, GONGAN, payloads.household_cancelled(name, id_no, on=died.date()))
    assert answer.outcome == "applied"
    with db() as s:
        assert tasks_by_matter(s, app_id)["hukou"].result == {"cancelled_on": died.date().isoformat()}


def test_contradicting_fact_overwrites_nothing_and_opens_an_exception(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, died = _accepted(db, vault)
    event = payloads.cremation_completed(name, id_no, died.replace(day=1) if died.day != 1 else died.replace(day=2),
                                         funeral_home=("洞头区殡仪馆", "12330305MB0000000X"))
    answer = send(db, vault, FUNERAL_HOME, event)
    assert answer.outcome == "exception"
    with db() as s:
        assert tasks_by_matter(s, app_id)["cremation"].status == "pending"
        app = s.get(Application, app_id)
        assert app is not None and app.deceased is not None and app.deceased.funeral_home == "温州市殡仪馆"
        opened = case_exceptions.for_case(s, app)
        assert {e.kind for e in opened} == {"funeral_home", "death_date"}
        assert any("洞头区殡仪馆" in e.detail for e in opened)
        assert [e.id for e in case_exceptions.open_in_county(s, "330302")] == [e.id for e in sorted(opened, key=lambda e: e.id)]
        assert case_exceptions.open_in_county(s, "330381") == []
        first = opened[0].id
    with transaction(db) as s:
        case_exceptions.resolve(s, first, staff(s, "clerk"), "已与家属核实，以殡仪馆报送为准")
    with transaction(db) as s, pytest.raises(wf.NotFound):
        case_exceptions.resolve(s, first, staff(s, "clerk-ruian"), "不是我县的")
    with db() as s:
        row = s.get(CaseException, first)
        assert row is not None and row.resolved_at is not None and case_exceptions.open_count(s, app_id) == 1


def test_concurrent_duplicates_are_processed_once(db: sessionmaker[Session], vault: Vault) -> None:
    app_id, name, id_no, died = _accepted(db, vault)
    event = payloads.cremation_completed(name, id_no, died)
    answers: list[exchange.Answer] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(4)

    def go() -> None:
        gate.wait()
        try:
            answers.append(send(db, vault, FUNERAL_HOME, event))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {a.outcome for a in answers} == {"applied"} and len(answers) == 4
    assert _count(db, ExchangeEvent) == 1
    assert _count(db, Event, Event.tag == "system:task:complete", Event.application_id == app_id) == 1


def test_event_for_a_waiting_task_is_kept_on_the_timeline(db: sessionmaker[Session], vault: Vault) -> None:
    app_id = new_application(db, vault)  # submitted, not yet accepted: every task waits for the window
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None and app.deceased is not None
        answers = read_draft(vault, app).answers
        died = app.deceased.death_time
    answer = send(db, vault, FUNERAL_HOME, payloads.cremation_completed(answers["d_name"], answers["d_id"], died))
    assert answer.outcome == "not_ready"
    assert _count(db, Event, Event.tag == "system:exchange:fact", Event.application_id == app_id) == 1


def test_clerk_sees_the_exception_and_marks_it_resolved(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import csrf_from
    from tests.helpers import login

    app_id, name, id_no, died = _accepted(db, vault)
    send(db, vault, FUNERAL_HOME, payloads.cremation_completed(name, id_no, died,
                                                               funeral_home=("洞头区殡仪馆", "12330305MB0000000X")))
    login(client, "clerk", "/admin/window")
    queue = client.get("/admin/window")
    assert queue.status_code == 200 and "与申请不一致" in queue.text and "洞头区殡仪馆" in queue.text
    page = client.get(f"/admin/applications/{app_id}")
    assert page.status_code == 200 and "待核实" in page.text and "洞头区殡仪馆" in page.text
    with db() as s:
        exc_id = s.scalar(select(CaseException.id))
    token = csrf_from(page.text)
    empty = client.post(f"/admin/applications/{app_id}/exceptions", data={"csrf_token": token, "exception_id": str(exc_id)})
    assert empty.status_code == 400 and "请写明核实的结果" in empty.text
    done = client.post(f"/admin/applications/{app_id}/exceptions",
                       data={"csrf_token": token, "exception_id": str(exc_id), "resolution": "已与家属核实，以殡仪馆报送为准"})
    assert done.status_code == 303
    assert "已处理" in client.get(f"/admin/applications/{app_id}").text
    assert "与申请不一致" not in client.get("/admin/window").text


def _run_held_jobs(db: sessionmaker[Session], settings) -> int:  # type: ignore[no-untyped-def]
    """Work every due job as the worker would; how many were looks at held facts."""
    from portal.services import jobs
    from portal.services.held_facts import APPLY_KIND
    from portal.worker import job_extras, load_handlers

    load_handlers(settings)
    extras = job_extras(settings)
    ran = 0
    while (job := jobs.claim(db, "test", 60)) is not None:
        assert jobs.run_one(db, job, "test", extras) == "done", job.kind
        ran += job.kind == APPLY_KIND
    return ran


def test_a_fact_that_came_early_finishes_its_matter_once_it_may(db: sessionmaker[Session], vault: Vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)  # submitted: the window has not accepted yet
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None and app.deceased is not None
        answers = read_draft(vault, app).answers
        name, id_no, died = answers["d_name"], answers["d_id"], app.deceased.death_time
    early = send(db, vault, FUNERAL_HOME, payloads.cremation_completed(name, id_no, died))
    assert early.outcome == "not_ready"
    with db() as s:
        row = s.scalar(select(ExchangeEvent))
        assert row is not None and row.held_enc and id_no.encode() not in row.held_enc  # sealed
    assert _run_held_jobs(db, settings) == 0  # nothing queued before the window acts
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app is not None
        wf.accept(s, app_id, app.version, staff(s, "clerk"))
    assert _run_held_jobs(db, settings) == 1
    with db() as s:
        task = tasks_by_matter(s, app_id)["cremation"]
        assert task.status == "done" and "由殡仪馆系统自动报送" in (task.message or "")
        row = s.scalar(select(ExchangeEvent))
        assert row is not None and row.held_enc is None and row.outcome == "applied_later"
        assert row.answer["outcome"] == "not_ready"  # the sender's answer stays the first one
    assert send(db, vault, FUNERAL_HOME, payloads.cremation_completed(name, id_no, died, event_id=row.event_id,
                                                                      source=row.source)).outcome == "not_ready"


def test_the_pension_payout_reported_before_the_settlement_waits_for_it(db: sessionmaker[Session], vault: Vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id, name, id_no, died = _accepted(db, vault)
    renshe = Scope("人社待遇系统", "renshe")
    paid = payloads.envelope("benefit.paid", "urn:zj:renshe:payouts", {
        "deceased": {"name": name, "id_number": id_no}, "benefit": "pension", "funeral_grant": "5000.00",
        "lump_sum": "20000.00", "paid_on": died.date().isoformat()})
    assert send(db, vault, renshe, paid).outcome == "not_ready"  # 注2: 医保 first
    send(db, vault, YIBAO_LUCHENG, payloads.medical_settled(name, id_no, "-320.50"))
    assert _run_held_jobs(db, settings) == 1
    with db() as s:
        pension = tasks_by_matter(s, app_id)["pension"]
        assert pension.status == "done" and pension.result is not None
        assert pension.result["medical_deduction"] == "320.50" and pension.result["net_paid"] == "24679.50"  # 注4
