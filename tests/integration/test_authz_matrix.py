"""Authorisation matrix: every method of every route × every role, against one table.

The cells come from the live route table (`app.router.routes`), the expectation from
tests/integration/authz_table.py (written once). A route without an entry there, or an entry
for a route that no longer exists, fails. See that module for what allowed and denied mean.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from portal.models import Application, DepartmentTask, Job, PolicyArticle, StaffMember
from portal.services import proxy, receipts, sharing
from portal.services.events import SYSTEM
from tests.conftest import csrf_of
from tests.helpers import login
from tests.integration import authz_table as table
from tests.integration.api_support import open_client
from tests.integration.factories import STAFF, returned_application
from tests.integration.factories import staff as staff_of

Cell = tuple[str, str]  # (route path, method)
CSRF_REFUSED = "页面已过期或来源不明"


def route_cells(app) -> tuple[list[Cell], list[str]]:  # type: ignore[no-untyped-def]
    """Every (path, method) of the route table, and the mounts that are not in scope."""
    cells: list[Cell] = []
    unknown_mounts: list[str] = []
    for route in app.router.routes:
        if isinstance(route, Route):
            cells += [(route.path, method) for method in sorted(route.methods or ())]
        elif isinstance(route, Mount):
            if route.path not in table.OUT_OF_SCOPE:
                unknown_mounts.append(route.path)
        else:
            unknown_mounts.append(repr(route))
    return cells, unknown_mounts


def expected_roles(cell: Cell) -> frozenset[str]:
    path, method = cell
    return table.EXPECTED[(path, "GET" if method == "HEAD" else method)]


def test_every_route_has_an_authorisation_entry(app) -> None:  # type: ignore[no-untyped-def]
    cells, unknown_mounts = route_cells(app)
    missing = sorted({(p, "GET" if m == "HEAD" else m) for p, m in cells} - set(table.EXPECTED))
    stale = sorted(set(table.EXPECTED) - {(p, m) for p, m in cells})
    assert not missing, f"routes without an entry in tests/integration/authz_table.py EXPECTED: {missing}"
    assert not stale, f"entries in authz_table.EXPECTED for routes that do not exist: {stale}"
    assert not unknown_mounts, f"mounted apps not covered by the matrix (add to OUT_OF_SCOPE with a reason): {unknown_mounts}"
    for cell, roles in table.EXPECTED.items():
        assert roles <= set(table.ROLES), (cell, roles - set(table.ROLES))


# --- the fixture world ------------------------------------------------------------------------

@dataclass
class World:
    params: dict[str, str]
    clients: dict[str, TestClient]
    tokens: dict[str, str]


def _fill(template: str, params: dict[str, str]) -> str:
    return template.format(**params) if "{" in template else template


def _concrete(path: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return _fill(table.PATH_PARAMS[name], params)

    return re.sub(r"\{([^}]+)\}", value, path)


@pytest.fixture
def world(app, db, vault, settings) -> Iterator[World]:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo", county="330302",
                                  matters={"cremation", "hukou", "medical", "pension"})
    with db() as s:
        application = s.get(Application, app_id)
        assert application is not None and application.county_code == "330302"
        tasks = {t.department: t for t in s.scalars(select(DepartmentTask).where(DepartmentTask.application_id == app_id))}
        assert "gongan" in tasks and "canlian" not in tasks, "the roles assume a 公安 task and no 残联 task"
        member_id = s.scalar(select(StaffMember.id).where(StaffMember.sub == STAFF["officer-gongan-ruian"]))
        slug = s.scalar(select(PolicyArticle.slug).order_by(PolicyArticle.id).limit(1))
        assert member_id is not None and slug
        job_id = s.scalar(select(Job.id).order_by(Job.id).limit(1))
        assert job_id is not None, "the fixture application queued no text"
        params = {"app_id": str(app_id), "task_id": str(tasks["gongan"].id), "member_id": str(member_id),
                  "slug": slug, "job_id": str(job_id)}
    with db() as s:  # a 代办 draft started by the 鹿城 clerk (portal/services/proxy.py), a grant of the family's
        application = s.get(Application, app_id)
        assert application is not None and application.account_id is not None
        clerk = staff_of(s, "clerk")
        started = proxy.start(s, vault, clerk, proxy.ProxyStart("walk_in", "周安娜", "2", "E90000017", "19900000007",
                                                                "in_person"))
        params["proxy_id"] = str(started.id)
        shared = sharing.grant(s, vault, app_id, application.account_id, sharing.GrantForm(
            "viewer", "陈小红", "grandchild", "330302199001010021", "13800138000", True), SYSTEM)
        params["access_id"] = str(shared.id)
        s.commit()
    params["client_id"] = open_client(db, "yibao", "330302")[0]
    with db() as s:  # issuing the receipt token is a write: its own transaction
        application = s.get(Application, app_id)
        params["token"] = receipts.receipt_for(s, vault, application, settings).token
        s.commit()
    with ExitStack() as stack:
        clients: dict[str, TestClient] = {}
        tokens: dict[str, str] = {}
        for role, persona in table.PERSONAS.items():
            client = stack.enter_context(TestClient(app, base_url="http://testserver", follow_redirects=False))
            if persona is not None:
                login(client, persona)
            tokens[role] = csrf_of(client)
            if persona is not None:  # each signed-in person has a draft of their own, as after 开始填写
                opened = client.post("/apply/start", data={"csrf_token": tokens[role]})
                assert opened.status_code == 303 and "/login" not in opened.headers["location"], (role, opened.status_code)
            clients[role] = client
        with db() as s:  # /apply/submit names the family's own draft
            family_app = s.get(Application, app_id)
            assert family_app is not None
            draft = s.scalar(select(Application).where(Application.account_id == family_app.account_id,
                                                       Application.status == "draft"))
            assert draft is not None and draft.submit_key
            params["submit_key"] = draft.submit_key
            params["draft_id"] = str(draft.id)
        yield World(params, clients, tokens)


# --- one cell ---------------------------------------------------------------------------------

def _outcome(response: httpx.Response) -> str:
    """What the portal decided: login / forbidden / not_found / allowed, or a non-decision."""
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return "login" if urlsplit(response.headers.get("location", "")).path == "/login" else "allowed"
    if status == 401:
        return "login"
    if status == 403:
        return "csrf" if CSRF_REFUSED in response.text else "forbidden"
    if status == 404:
        return "not_found"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "error"
    return "allowed"


def _acceptable(role: str, allowed: bool, outcome: str, *, api: bool = False) -> bool:
    if allowed:
        return outcome == "allowed"
    if api and outcome == "login":  # the API wants a bearer token from everyone, cookie or not (401)
        return True
    if role == table.ANONYMOUS:
        return outcome in ("login", "not_found")
    return outcome in ("forbidden", "not_found")


def _request(world: World, role: str, cell: Cell) -> httpx.Response:
    path, method = cell
    client = world.clients[role]
    url = _concrete(path, world.params)
    if method == "POST":
        form = {k: _fill(v, world.params) for k, v in table.FORMS.get(cell, {}).items()}
        return client.post(url, data={"csrf_token": world.tokens[role], **form})
    return client.request(method, url)


def test_authorisation_matrix(app, world: World, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cells, _ = route_cells(app)
    cells = [c for c in cells if (c[0], "GET" if c[1] == "HEAD" else c[1]) in table.EXPECTED]
    ordered = sorted(cells, key=lambda c: c in table.RUN_LAST)
    wrong: list[str] = []
    checked = 0
    for cell in ordered:
        expected = expected_roles(cell)
        for role in table.ROLES:
            checked += 1
            try:
                response = _request(world, role, cell)
            except Exception as exc:  # noqa: BLE001 - an unhandled server error decides nothing
                wrong.append(f"{cell[1]} {cell[0]} as {role}: server error {type(exc).__name__}: {exc}")
                continue
            outcome = _outcome(response)
            if not _acceptable(role, role in expected, outcome, api=cell[0].startswith("/api/")):
                want = "allowed" if role in expected else "denied"
                where = response.headers.get("location", "")
                wrong.append(f"{cell[1]} {cell[0]} as {role}: expected {want}, got {response.status_code} "
                             f"({outcome}{' → ' + where if where else ''})")
    with capsys.disabled():
        print(f"\nauthorisation matrix: {checked} route × role cells checked "
              f"({len(ordered)} route methods × {len(table.ROLES)} roles), {len(wrong)} wrong")
    assert not wrong, "authorisation differs from tests/integration/authz_table.py:\n" + "\n".join(wrong)
