"""Schemathesis against /api/v1/openapi.json with a real token: no server error, every response
as the document says (status, content type, headers, body schema), invalid input refused.

Bounded (`EXAMPLES` per operation and mode, derandomized: the same cases every run); positive
cases follow the schema, negative ones break it. Task ids are real ones of the client's scope for
part of the cases, with the task's real version in If-Match for half of those, so actions reach
the back office's use cases and not only the 404 or the 412.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from limits.util import parse_many
from schemathesis import GenerationMode
from schemathesis import checks as sc

from tests.integration.api_support import basic, bearer, open_client, token
from tests.integration.test_api_tasks import accepted, task_id

EXAMPLES = int(25 * float(os.environ.get("FUZZ_SCALE") or 1))  # as the form fuzz (D18): FUZZ_SCALE, FUZZ_RANDOM
RANDOM = os.environ.get("FUZZ_RANDOM") == "1"
CHECKS = [sc.not_a_server_error, sc.status_code_conformance, sc.content_type_conformance,
          sc.response_schema_conformance, sc.response_headers_conformance, sc.negative_data_rejection]


@dataclass
class Run:
    client: object
    client_id: str
    secret: str
    auth: dict[str, str]
    real_tasks: list[int]
    calls: int = 0
    statuses: dict[tuple[str, int], int] = field(default_factory=dict)

    def headers_for(self, operation, mode: GenerationMode, case) -> dict[str, str]:  # type: ignore[no-untyped-def]
        if operation.path == "/api/v1/token":  # the real credentials: always for valid forms, else half the time
            return basic(self.client_id, self.secret) if mode is GenerationMode.POSITIVE or self.calls % 2 else {}
        task = (case.path_parameters or {}).get("task_id")
        if task in self.real_tasks and self.calls % 2:
            current = self.client.get(f"/api/v1/tasks/{task}", headers=self.auth)  # type: ignore[attr-defined]
            return {**self.auth, "If-Match": current.headers["etag"]}
        return dict(self.auth)


def _fuzz(run: Run, operation, mode: GenerationMode) -> None:  # type: ignore[no-untyped-def]
    strategies = [operation.as_strategy(generation_mode=mode)]
    if any(p["name"] == "task_id" for p in operation.definition.raw.get("parameters", [])):
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters={"task_id": t}) for t in run.real_tasks]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies))
    def one(case) -> None:  # type: ignore[no-untyped-def]
        headers = run.headers_for(operation, mode, case)
        response = case.call(headers=headers)
        run.calls += 1
        key = (operation.label, response.status_code)
        run.statuses[key] = run.statuses.get(key, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    one()


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(app, client, db, vault, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    throttle = app.state.services.extras["throttle"]
    monkeypatch.setitem(throttle.items, "api_client", parse_many("100000 per minute"))
    monkeypatch.setitem(throttle.items, "api_token", parse_many("100000 per minute"))
    real_tasks = [task_id(db, accepted(db, vault), "medical") for _ in range(2)]
    client_id, secret = open_client(db, "yibao", "330302")
    run = Run(client, client_id, secret, bearer(token(client, client_id, secret)), real_tasks)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    started = time.monotonic()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(run, operation, mode)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations, {run.calls} calls in {elapsed:.1f} s, "
              f"statuses {dict(sorted(run.statuses.items()))}")
    assert not any(status >= 500 for _, status in run.statuses)
    successes = {label for label, status in run.statuses if status < 300}
    assert {"POST /api/v1/token", "POST /api/v1/tasks/{task_id}/actions", "GET /api/v1/tasks"} <= successes
    assert elapsed < 60 * max(1, EXAMPLES / 25)


def test_the_document_is_valid_openapi(client) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").json())
    assert [r.ok().label for r in schema.get_all_operations()]
