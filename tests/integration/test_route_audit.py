"""Every staff route is guarded by the one permission decorator, and refuses non-staff."""
from __future__ import annotations

import re

from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.helpers import login


def _staff_routes(app) -> list[Route]:  # type: ignore[no-untyped-def]
    found = []
    for route in app.router.routes:
        if isinstance(route, Route) and route.path.startswith("/admin"):
            found.append(route)
        assert not (isinstance(route, Mount) and route.path.startswith("/admin")), "mounted staff apps bypass the audit"
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_staff_route_uses_staff_only(app) -> None:  # type: ignore[no-untyped-def]
    routes = _staff_routes(app)
    assert len(routes) >= 5, "the back office should be mounted under /admin"
    unguarded = [r.path for r in routes if getattr(r.endpoint, "staff_roles", None) is None]
    assert not unguarded, f"staff routes without staff_only: {unguarded}"


def test_staff_routes_refuse_anonymous_and_citizens(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    routes = [r for r in _staff_routes(app) if "GET" in (r.methods or set())]
    for route in routes:
        r = client.get(_concrete(route.path))
        assert r.status_code in (302, 303) and "/login" in r.headers["location"], route.path
    login(client, "chenjianguo")
    for route in routes:
        r = client.get(_concrete(route.path))
        assert r.status_code == 403, (route.path, r.status_code)
        assert "没有权限" in r.text
