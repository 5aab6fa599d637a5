"""Huge ids and page numbers are a 404 or a clamped page, never a 500 (issue 11, item 11)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.web.bounded import page_number
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application

HUGE = ("9223372036854775808", "9223372036854775807", "99999999999999999999999999", "0" * 40 + "1")


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
            assert route.param_convertors[name].regex == "[0-9]{1,18}", route.path
