"""POST /api/v1/events: CloudEvents from department systems, over HTTP with a real token."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from portal.db import transaction
from portal.models import Application, Event, ExchangeEvent
from portal.services import workflow as wf
from portal.services.applications import read_draft
from portal.simulate import payloads
from portal.web.api import openapi
from tests.integration.api_support import client_headers
from tests.integration.factories import new_application, staff, tasks_by_matter

CE = "application/cloudevents+json"


def _accepted(db, vault):  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        wf.accept(s, app_id, app.version, staff(s, "clerk"))  # type: ignore[union-attr]
        answers = read_draft(vault, app).answers  # type: ignore[arg-type]
        return app_id, answers["d_name"], answers["d_id"], app.deceased.death_time  # type: ignore[union-attr]


def test_funeral_home_reports_a_cremation(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id, name, id_no, died = _accepted(db, vault)
    h = {**client_headers(client, db, "binyiguan", None), "Content-Type": CE}
    event = payloads.cremation_completed(name, id_no, died)
    r = client.post("/api/v1/events", content=json.dumps(event), headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "applied" and body["duplicate"] is False and body["number"]
    again = client.post("/api/v1/events", content=json.dumps(event), headers=h)
    assert again.status_code == 200 and {**again.json(), "duplicate": False} == body and again.json()["duplicate"]
    with db() as s:
        assert tasks_by_matter(s, app_id)["cremation"].status == "done"
        assert s.scalar(select(func.count()).select_from(ExchangeEvent)) == 1
        audit = s.scalars(select(Event).where(Event.tag == "client:api:call")).all()
        assert len(audit) == 2 and all(e.actor_kind == "client" and "/api/v1/events" in e.summary for e in audit)
    plain = client.post("/api/v1/events", json=payloads.cremation_completed(name, id_no, died), headers=h)
    assert plain.status_code == 200 and plain.json()["outcome"] == "already_done"  # application/json accepted too


def test_a_medical_insurance_client_cannot_report_a_cremation(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id, name, id_no, died = _accepted(db, vault)
    h = {**client_headers(client, db, "yibao", "330302"), "Content-Type": CE}
    r = client.post("/api/v1/events", content=json.dumps(payloads.cremation_completed(name, id_no, died)), headers=h)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/api/v1/problems/forbidden" and "火化" in r.json()["detail"]
    ruian = {**client_headers(client, db, "yibao", "330381"), "Content-Type": CE}
    r = client.post("/api/v1/events", content=json.dumps(payloads.medical_settled(name, id_no, "-12.00")), headers=ruian)
    assert r.status_code == 403
    with db() as s:
        assert tasks_by_matter(s, app_id)["cremation"].status == "pending"
        assert s.scalar(select(func.count()).select_from(ExchangeEvent)) == 0


def test_bad_events_are_validation_problems(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    h = {**client_headers(client, db, "binyiguan", None), "Content-Type": CE}
    from datetime import datetime

    event = payloads.cremation_completed("陈", "330302194001010010", datetime(2026, 11, 1, 8, 0))
    bad = {**event, "data": {**event["data"], "deceased": {"name": "陈", "id_number": "330302194001010011"}}}
    r = client.post("/api/v1/events", content=json.dumps(bad), headers=h)
    assert r.status_code == 422
    said = {e["field"].rsplit(".", 1)[-1]: e["message"] for e in r.json()["errors"]}
    assert "身份证" in said["id_number"], said  # the model's own words, not a generic "格式不对"
    unknown = {**event, "type": "cn.gov.zj.shenhou.unknown.thing"}
    assert client.post("/api/v1/events", content=json.dumps(unknown), headers=h).status_code == 422
    extra = {**event, "data": {**event["data"], "hair_colour": "黑"}}
    assert client.post("/api/v1/events", content=json.dumps(extra), headers=h).status_code == 422
    naive = {**event, "time": "2026-11-01T08:00:00"}
    assert client.post("/api/v1/events", content=json.dumps(naive), headers=h).status_code == 422


def test_the_document_describes_every_event_type() -> None:
    doc = openapi.build()
    op = doc["paths"]["/api/v1/events"]["post"]
    assert set(op["responses"]) >= {"200", "401", "403", "415", "422", "429"}
    schemas = doc["components"]["schemas"]
    for name in ("CremationCompletedEvent", "DeathCertificateIssuedEvent", "MedicalAccountSettledEvent",
                 "BenefitStoppedEvent", "HouseholdCancelledEvent", "ProvidentFundSettledEvent", "BodyReceivedEvent"):
        assert name in schemas, name
    assert schemas["CremationCompleted"]["additionalProperties"] is False


def test_edge_values_are_refused_or_taken_never_a_server_error(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id, name, id_no, died = _accepted(db, vault)
    home = {**client_headers(client, db, "binyiguan", None), "Content-Type": CE}
    yibao = {**client_headers(client, db, "yibao", None), "Content-Type": CE}
    gongan = {**client_headers(client, db, "gongan", None), "Content-Type": CE}
    late = payloads.cremation_completed(name, id_no, died)
    late["data"]["cremated_at"] = "9999-12-31T23:59:59-12:00"
    late["time"] = "0001-01-01T00:00:00+14:00"
    cases = [
        (home, late),
        (yibao, payloads.medical_settled(name, id_no, "9999999999.99")),
        (yibao, payloads.medical_settled(name, id_no, "-0.00")),
        (gongan, payloads.household_cancelled(name, id_no, on=died.date() + timedelta(days=4000))),
        (gongan, payloads.household_cancelled(name, id_no, on=died.date() - timedelta(days=40))),
    ]
    for headers, event in cases:
        r = client.post("/api/v1/events", content=json.dumps(event), headers=headers)
        assert r.status_code in (200, 422), (event["type"], r.status_code, r.text)
    with db() as s:
        assert tasks_by_matter(s, app_id)["hukou"].status == "pending"  # neither a future nor a pre-death date
