"""Huge ids and page numbers are a 404 or a clamped page, never a 500 (issue 11, item 11)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.web.bounded import page_number
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application

# 2**63 and 2**63 - 1 (SQLite's integers), 2**31 (PostgreSQL's INTEGER id columns), and longer
HUGE = ("9223372036854775808", "9223372036854775807", "2147483648", "99999999999999999999999999", "0" * 40 + "1")


@pytest.fixture
def tab(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A client that shows a server error as the 500 it is (instead of raising it)."""
    with TestClient(app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def _codes(client: TestClient, paths: list[str]) -> dict[str, int]:
    return {p: client.get(p).status_code for p in paths}


def test_huge_ids_in_family_pages_are_not_found(tab: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    new_application(db, vault)  # the family has an application: the pages would query for the id
    login(tab, "chenjianguo")
    paths = [p.format(n) for n in HUGE for p in
             ("/my/{}", "/my/{}/receipt.pdf", "/apply/{}/done", "/apply/{}/fix/recipient")]
    assert set(_codes(tab, paths).values()) == {404}, _codes(tab, paths)
    token = csrf_from(tab.get("/").text)
    for n in HUGE:
        r = tab.post(f"/apply/{n}/fix/recipient/check", data={"csrf_token": token})
        assert r.status_code == 404


def test_huge_ids_in_back_office_pages_are_not_found(tab: TestClient, app, db, vault) -> None:  # type: ignore[no-untyped-def]
    new_application(db, vault)
    login(tab, "clerk")
    paths = [p.format(n) for n in HUGE for p in ("/admin/applications/{}", "/admin/applications/{}/archive.pdf")]
    assert set(_codes(tab, paths).values()) == {404}, _codes(tab, paths)
    token = csrf_from(tab.get("/admin/window").text)
    for n in HUGE:
        r = tab.post(f"/admin/applications/{n}/accept", data={"csrf_token": token, "version": "1"})
        assert r.status_code == 404
    with TestClient(app, base_url="http://testserver", follow_redirects=False, raise_server_exceptions=False) as officer:
        login(officer, "officer-gongan")
        assert {officer.get(f"/admin/tasks/{n}").status_code for n in HUGE} == {404}


def test_huge_page_number_shows_a_page(tab: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    new_application(db, vault)
    login(tab, "officer-gongan")
    for raw in ("999999999999999999999", "9223372036854775808", "-5", "abc", "１２"):
        r = tab.get(f"/admin/tasks?page={raw}")
        assert r.status_code == 200, (raw, r.status_code)


def test_page_numbers_are_clamped() -> None:
    assert page_number(None) == 1 and page_number("") == 1 and page_number("x") == 1
    assert page_number("0") == 1 and page_number("-3") == 1 and page_number("٣") == 1
    assert page_number("7") == 7 and page_number("10000") == 10000
    assert page_number("10001") == 10000 and page_number("9" * 40) == 10000


def test_every_int_path_parameter_is_bounded(app) -> None:  # type: ignore[no-untyped-def]
    """The one converter covers every route: a new `{x:int}` route is bounded without a thought."""
    routes = [r for r in app.routes if isinstance(r, Route) and ":int}" in r.path]
    assert routes
    for route in routes:
        ints = [name for name in route.param_convertors if f"{{{name}:int}}" in route.path]
        assert ints, route.path
        for name in ints:
            assert route.param_convertors[name].regex == "[0-9]{1,9}", route.path


def test_a_nul_character_is_refused_in_urls_and_dropped_from_forms(tab: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL refuses NUL in text (a 500 found by the fuzz): never let one reach the database."""
    assert tab.get("/verify/abc%00def").status_code == 400
    login(tab, "clerk")
    assert tab.get("/admin/window?q=%E9%99%88%00").status_code == 400
    app_id = new_application(db, vault)
    page = tab.get(f"/admin/applications/{app_id}").text
    r = tab.post(f"/admin/applications/{app_id}/return",
                 data={"csrf_token": csrf_from(page), "version": re.search(r'name="version" value="(\d+)"', page).group(1),
                       "reason": "请补充\x00户口簿"})
    assert r.status_code == 303
    with db() as s:
        from portal.models import Application

        assert s.get(Application, app_id).return_reason == "请补充户口簿"


def test_a_raw_answer_saved_for_later_never_reaches_a_short_column(tab: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    """保存，稍后继续 keeps what was typed, even invalid; only valid codes reach the case columns
    (PostgreSQL refuses a 23-character scenario in VARCHAR(20): a 500 found by the fuzz)."""
    from tests.integration.test_apply_support import csrf, start

    start(tab)
    r = tab.post("/apply/step/scenario", data={"csrf_token": csrf(tab), "scenario": "<script>zq9x()</script>",
                                                "action": "save"})
    assert r.status_code == 303 and r.headers["location"] == "/apply/saved"
    with db() as s:
        from portal.models import Application

        draft = s.query(Application).filter(Application.status == "draft").one()
        assert draft.scenario is None
