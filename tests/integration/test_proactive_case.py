"""主动办: a death reported by a department, with no application, starts the case; the family who
then applies joins it (issue 14, item 4)."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from portal.crypto import Vault
from portal.db import transaction
from portal.domain.death_facts import Contact, DeathFacts
from portal.models import Application, CaseInvitation, Event, Notification
from portal.services import proactive
from portal.services.applications import read_draft
from portal.simulate import payloads
from tests.integration.exchange_support import FUNERAL_HOME, HOSPITAL, send
from tests.integration.factories import tasks_by_matter
from tests.integration.test_apply_support import DECEASED_ID, RECENT, full_application

PROACTIVE = {"hukou", "pension_stop", "veteran", "disability", "assistance"}
CONTACT = {"name": "陈建国", "phone": "13905770001", "relation": "child"}


def _died() -> datetime:
    return datetime.combine(RECENT, datetime.min.time()).replace(hour=6, minute=30)


def _certificate(**kw: object) -> dict[str, object]:
    return payloads.death_certificate("陈老三", DECEASED_ID, _died(), county="330302", township="五马街道",
                                      scenario="home", contact=CONTACT, **kw)  # type: ignore[arg-type]


def test_death_certificate_with_no_application_opens_a_proactive_case(db: sessionmaker[Session], vault: Vault) -> None:
    answer = send(db, vault, HOSPITAL, _certificate())
    assert answer.outcome == "proactive_case" and answer.number and answer.number.startswith("330302-")
    with db() as s:
        case = s.scalar(select(Application))
        assert case is not None and case.status == "proactive" and case.channel == "proactive"
        assert case.account_id is None and case.number == answer.number and case.county_code == "330302"
        assert case.deceased_bidx == vault.index(DECEASED_ID)
        tasks = tasks_by_matter(s, case.id)
        assert set(tasks) == PROACTIVE and {t.status for t in tasks.values()} == {"pending"}
        assert {t.department for t in tasks.values()} == {"gongan", "renshe", "tuiyi", "canlian", "minzheng"}
        assert all(t.deadline is not None and t.county_code == "330302" for t in tasks.values())
        answers = read_draft(vault, case).answers
        assert answers["d_id"] == DECEASED_ID and answers["d_hukou"] == "330302:五马街道"
        assert answers["death_date"] == RECENT.isoformat() and answers["scenario"] == "home"
        assert answers["cert_no"] == DECEASED_ID and answers["a_relation"] == "child"
        text = s.scalar(select(Notification).where(Notification.application_id == case.id))
        assert text is not None and "/apply/claim/" in text.body and answer.number in text.body
        assert vault.open(text.phone_enc) == "13905770001" and DECEASED_ID not in text.body
        event = s.scalar(select(Event).where(Event.tag == "system:application:proactive"))
        assert event is not None and event.public and event.application_id == case.id
    # the funeral home's cremation of the same person later finds the case; nothing new is opened
    again = send(db, vault, FUNERAL_HOME, payloads.cremation_completed("陈老三", DECEASED_ID, _died(), county="330302"))
    assert again.number == answer.number and again.outcome == "informed"


def test_open_or_join_case_is_one_case_per_deceased(db: sessionmaker[Session], vault: Vault) -> None:
    facts = DeathFacts(DECEASED_ID, "陈老三", "330302", "五马街道", death_time=_died(),
                       contact=Contact("陈建国", "13905770001", "child"))
    with transaction(db) as s:
        first, new = proactive.open_or_join_case(s, facts, source="12345热线", vault=vault)
        assert new and first.status == "proactive"
        number = first.number
    with transaction(db) as s:
        second, new = proactive.open_or_join_case(s, facts, source="网格员", vault=vault)
        assert not new and second.number == number


def test_the_family_who_applies_joins_the_case(client: TestClient, db: sessionmaker[Session], vault: Vault) -> None:
    answer = send(db, vault, HOSPITAL, _certificate())
    with db() as s:
        case = s.scalar(select(Application))
        assert case is not None
        case_id, before = case.id, {c: t.id for c, t in tasks_by_matter(s, case.id).items()}
        text = s.scalar(select(Notification).where(Notification.application_id == case_id))
        assert text is not None
        token = re.search(r"/apply/claim/([\w-]+)", text.body)
        assert token
    with transaction(db) as s:
        claim = proactive.claim(s, vault, token.group(1), account_id=1)
        assert claim is not None and claim.number == answer.number and claim.answers["d_id"] == DECEASED_ID
    app_id = full_application(client)  # the family fills the one form and submits
    assert app_id == case_id  # they joined the case: same application, same 编号
    with db() as s:
        case = s.get(Application, case_id)
        assert case is not None and case.status == "submitted" and case.number == answer.number
        assert case.account_id is not None and case.deceased is not None and case.submit_key
        tasks = tasks_by_matter(s, case_id)
        assert {c: tasks[c].id for c in before} == before  # the running tasks are kept
        assert {"cremation", "medical", "pension", "certificate"} <= set(tasks)
        assert tasks["pension_stop"].status == "pending" and tasks["cremation"].status == "waiting"
        merged = s.scalars(select(Application).where(Application.status == "merged")).all()
        assert len(merged) == 1 and merged[0].account_id == case.account_id and merged[0].submit_key is None
        joined = s.scalar(select(Event).where(Event.tag == "citizen:application:join"))
        assert joined is not None and joined.application_id == case_id
    page = client.get(f"/my/{case_id}")
    assert page.status_code == 200 and answer.number in page.text
    done = client.get(f"/apply/{case_id}/done")  # the confirmation after 提交
    assert done.status_code == 200 and answer.number in done.text
    mine = client.get("/my")
    assert mine.status_code == 200 and mine.text.count(f"/my/{case_id}") >= 1
    assert client.get(f"/my/{merged[0].id}").status_code == 404
    with db() as s:
        assert s.scalar(select(CaseInvitation)).claimed_by == 1  # type: ignore[union-attr]  # the claim above


def test_a_case_someone_applied_for_is_not_opened_again(client: TestClient, db: sessionmaker[Session], vault: Vault) -> None:
    app_id = full_application(client)
    answer = send(db, vault, HOSPITAL, _certificate())
    assert answer.outcome in ("applied", "not_ready", "informed") and answer.number
    with db() as s:
        assert [a.id for a in s.scalars(select(Application))] == [app_id]




def test_the_link_in_the_text_prefills_the_familys_draft(client: TestClient, db: sessionmaker[Session], vault: Vault) -> None:
    from tests.helpers import login

    send(db, vault, HOSPITAL, _certificate())
    with db() as s:
        body = s.scalar(select(Notification.body))
        assert body is not None
        token = re.search(r"/apply/claim/([\w-]+)", body)
        assert token
    anonymous = client.get(f"/apply/claim/{token.group(1)}")
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    login(client, "chenjianguo", f"/apply/claim/{token.group(1)}")
    r = client.get(f"/apply/claim/{token.group(1)}")
    assert r.status_code == 303 and r.headers["location"] == "/apply"
    with db() as s:
        draft = s.scalar(select(Application).where(Application.status == "draft"))
        assert draft is not None
        answers = read_draft(vault, draft).answers
        assert answers["d_id"] == DECEASED_ID and answers["death_date"] == RECENT.isoformat()
        assert answers["scenario"] == "home" and answers["d_hukou"] == "330302:五马街道"
    page = client.get("/apply/step/scenario")
    assert page.status_code == 200 and "checked" in page.text  # the scenario the hospital reported is chosen
    assert client.get("/apply/claim/not-a-real-token").headers["location"] == "/apply"


def test_departments_work_a_proactive_case_before_any_family(client: TestClient, db: sessionmaker[Session],
                                                             vault: Vault) -> None:
    from tests.helpers import login
    from tests.integration.exchange_support import GONGAN

    send(db, vault, HOSPITAL, _certificate())
    with db() as s:
        case = s.scalar(select(Application))
        assert case is not None
        hukou = tasks_by_matter(s, case.id)["hukou"]
    login(client, "officer-gongan", "/admin/tasks")
    assert client.get("/admin/tasks").status_code == 200
    page = client.get(f"/admin/tasks/{hukou.id}")
    assert page.status_code == 200 and "亡故人户口注销" in page.text
    # 公安's own system reports the cancellation: the task finishes, the contact is told by text
    answer = send(db, vault, GONGAN, payloads.household_cancelled("陈老三", DECEASED_ID, on=RECENT))
    assert answer.outcome == "applied"
    with db() as s:
        assert tasks_by_matter(s, case.id)["hukou"].status == "done"
        texts = s.scalars(select(Notification).where(Notification.application_id == case.id)).all()
        assert len(texts) == 2 and all(vault.open(t.phone_enc) == "13905770001" for t in texts)


def test_the_window_accepts_a_joined_case(client: TestClient, db: sessionmaker[Session], vault: Vault) -> None:
    from portal.services import workflow as wf
    from tests.integration.factories import staff

    send(db, vault, HOSPITAL, _certificate())
    app_id = full_application(client)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app is not None
        wf.accept(s, app_id, app.version, staff(s, "clerk"))
    with db() as s:
        tasks = tasks_by_matter(s, app_id)
        assert {tasks[c].status for c in ("cremation", "medical", "hukou", "pension_stop")} == {"pending"}
        assert tasks["pension"].status == "waiting" and all(t.deadline for t in tasks.values())


def test_two_systems_reporting_the_same_death_at_once_open_one_case(db: sessionmaker[Session], vault: Vault) -> None:
    import threading

    events = [(HOSPITAL, _certificate()),
              (FUNERAL_HOME, payloads.cremation_completed("陈老三", DECEASED_ID, _died(), county="330302",
                                                          township="五马街道", contact=CONTACT))]
    gate = threading.Barrier(len(events))
    answers: list[str] = []
    errors: list[BaseException] = []

    def go(scope, event) -> None:  # type: ignore[no-untyped-def]
        gate.wait()
        try:
            answers.append(send(db, vault, scope, event).number or "")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=pair) for pair in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with db() as s:
        cases = s.scalars(select(Application)).all()
        assert len(cases) == 1 and set(answers) == {cases[0].number}
        assert len(tasks_by_matter(s, cases[0].id)) == len(PROACTIVE)


def test_typing_the_deceased_of_a_proactive_case_fills_what_the_departments_know(
        client: TestClient, db: sessionmaker[Session], vault: Vault) -> None:
    from tests.integration.test_apply_support import answer_all, start, typical

    send(db, vault, HOSPITAL, _certificate())
    start(client)
    answers = typical()
    answer_all(client, {k: answers[k] for k in ("scenario", "deceased")})  # no link: the family types the number
    with db() as s:
        draft = s.scalar(select(Application).where(Application.status == "draft"))
        assert draft is not None
        filled = read_draft(vault, draft).answers
        assert filled["death_date"] == RECENT.isoformat() and filled["death_time"] == "06:30"
        assert filled["cert_no"] == DECEASED_ID and filled["d_address"] == "解放街188号"  # their own answer kept
    assert client.get("/apply/step/death").status_code == 200


def test_a_fact_that_finishes_nothing_yet_is_told_in_plain_words(db: sessionmaker[Session], vault: Vault) -> None:
    from tests.integration.factories import new_application

    app_id = new_application(db, vault)
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None and app.deceased is not None
        answers = read_draft(vault, app).answers
        died = app.deceased.death_time
    send(db, vault, FUNERAL_HOME, payloads.body_received(answers["d_name"], answers["d_id"], died=died))
    with db() as s:
        body = s.scalars(select(Notification.body).where(Notification.application_id == app_id)
                         .order_by(Notification.id.desc())).first()
        assert body is not None and "遗体已运抵殡仪馆（由殡仪馆系统自动报送）" in body and "（）" not in body
