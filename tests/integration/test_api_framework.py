"""The API's plumbing: problem+json for every error, strict bodies, rate limit, the generated
OpenAPI document and the reference page."""
from __future__ import annotations

import re

from pydantic import Field
from sqlalchemy import select
from starlette.routing import Route

from portal.models import Event
from portal.services.errors import Conflict, Invalid, NotFound
from portal.web.api import framework as api
from portal.web.api import openapi
from portal.web.api.base import ApiModel
from portal.web.api.problems import PROBLEMS
from tests.integration.api_support import client_headers


class Echo(ApiModel):
    """A test body."""

    count: int = Field(ge=0, le=10)
    note: str = Field(max_length=20)


def _echo(call: api.ApiCall) -> Echo:
    body = call.body_as(Echo)
    if body.note == "missing":
        raise NotFound()
    if body.note == "conflict":
        raise Conflict("已经被别人改过了")
    if body.note == "invalid":
        raise Invalid({"note": "这段话不行"})
    if body.note == "boom":
        raise RuntimeError("a defect")
    return body


def _mount_echo(app) -> api.Operation:  # type: ignore[no-untyped-def]
    op = api.Operation("POST", "/api/v1/test-echo", "测试", _echo, ok=(200, Echo), body=Echo)
    app.router.routes.append(Route(op.path, api.endpoint(op), methods=["POST"]))
    return op


def _problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"/api/v1/problems/{slug}" and body["status"] == status
    assert body["title"] == PROBLEMS[slug].title and body["detail"]
    return body  # type: ignore[no-any-return]


def test_bodies_are_strict_and_errors_are_problems(app, client, db) -> None:  # type: ignore[no-untyped-def]
    _mount_echo(app)
    h = client_headers(client, db, "yibao", "330302")
    assert client.post("/api/v1/test-echo", json={"count": 3, "note": "好"}, headers=h).json() == {"count": 3, "note": "好"}
    body = _problem(client.post("/api/v1/test-echo", json={"count": "3", "note": "好", "extra": 1}, headers=h), 422, "validation")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields == {"count": "应当是整数", "extra": "不认识这个字段（接口不接受说明以外的字段）"}
    body = _problem(client.post("/api/v1/test-echo", json={"count": 11}, headers=h), 422, "validation")
    assert {e["field"] for e in body["errors"]} == {"count", "note"}
    _problem(client.post("/api/v1/test-echo", content=b"{not json", headers={**h, "Content-Type": "application/json"}),
             422, "validation")
    _problem(client.post("/api/v1/test-echo", data={"count": "3"}, headers=h), 415, "unsupported-media-type")
    _problem(client.post("/api/v1/test-echo", json={"count": 1, "note": "a\x00b"}, headers=h), 422, "validation")
    _problem(client.post("/api/v1/test-echo", json={"count": 1, "note": "missing"}, headers=h), 404, "not-found")
    assert "别人" in _problem(client.post("/api/v1/test-echo", json={"count": 1, "note": "conflict"}, headers=h),
                            409, "conflict")["detail"]
    body = _problem(client.post("/api/v1/test-echo", json={"count": 1, "note": "invalid"}, headers=h), 422, "validation")
    assert body["errors"] == [{"field": "note", "message": "这段话不行"}]
    _problem(client.post("/api/v1/test-echo", json={"count": 1, "note": "boom"}, headers=h), 500, "server-error")
    _problem(client.post("/api/v1/test-echo", json={"count": 1}), 401, "unauthorized")
    _problem(client.get("/api/v1/test-echo", headers=h), 405, "method-not-allowed")
    _problem(client.get("/api/v1/no-such-thing", headers=h), 404, "not-found")
    _problem(client.get("/api/v1/problems/no-such-problem"), 404, "not-found")
    r = client.get("/api/v1/problems/validation")
    assert r.status_code == 303 and r.headers["location"] == "/api/v1/docs#problem-validation"
    with db() as s:  # every call of the client to an endpoint is in the audit log, refused ones too
        calls = list(s.scalars(select(Event).where(Event.tag == "client:api:call")))
    assert len(calls) == 10 and {e.actor_name for e in calls} == {"yibao330302系统"}
    assert sorted({e.after["status"] for e in calls}) == [200, 404, 409, 415, 422, 500]  # type: ignore[index]


def test_rate_limit_per_client_answers_429_with_retry_after(app, client, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from limits.util import parse_many

    throttle = app.state.services.extras["throttle"]
    monkeypatch.setitem(throttle.items, "api_client", parse_many("3 per minute"))
    h = client_headers(client, db, "yibao", "330302")
    other = client_headers(client, db, "renshe", "330302")
    assert [client.get("/api/v1/me", headers=h).status_code for _ in range(3)] == [200, 200, 200]
    r = client.get("/api/v1/me", headers=h)
    _problem(r, 429, "rate-limited")
    assert 0 < int(r.headers["retry-after"]) <= 60
    assert client.get("/api/v1/me", headers=other).status_code == 200  # counted per client


def test_openapi_document_is_generated_from_the_declarations(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    declared = {(op.openapi_path, op.method.lower()) for op in api.OPERATIONS}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert declared == documented and ("/api/v1/token", "post") in documented
    token_op = doc["paths"]["/api/v1/token"]["post"]
    assert token_op["security"] == [] and "application/x-www-form-urlencoded" in token_op["requestBody"]["content"]
    me = doc["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert me["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ClientInfo"}
    assert me["responses"]["401"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    schemas = doc["components"]["schemas"]
    assert schemas["ClientInfo"]["additionalProperties"] is False
    assert "county_code" in schemas["ClientInfo"]["required"]
    assert doc == openapi.build()  # nothing hand-written: the served document is the generated one


def test_reference_page_is_rendered_from_the_document(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for op in api.OPERATIONS:
        assert f"{op.method} {op.openapi_path}" in page and op.summary in page
    for problem in PROBLEMS.values():
        assert f"/api/v1/problems/{problem.slug}" in page and problem.title in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert all(re.search(r'src="/static/', tag) for tag in scripts), scripts  # no inline script, none from outside
    assert not re.search(r'<(link|img|iframe)[^>]+(src|href)="https?://', page)
