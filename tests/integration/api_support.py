"""Helpers of the API tests: open a department client, get a token, call with it."""
from __future__ import annotations

import base64

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from portal.db import transaction
from portal.services import api_clients
from portal.services.events import Actor

TEST_ACTOR = Actor("system", None, "测试")


def open_client(db: sessionmaker[Session], department: str, county: str | None, name: str | None = None) -> tuple[str, str]:
    """A new client of `department` in `county`: (client_id, client_secret)."""
    with transaction(db) as session:
        issued = api_clients.add_client(session, TEST_ACTOR, name or f"{department}{county or '全市'}系统", department, county)
    return issued.client_id, issued.client_secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def token(http: TestClient, client_id: str, secret: str) -> str:
    r = http.post("/api/v1/token", data={"grant_type": "client_credentials"}, headers=basic(client_id, secret))
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def client_headers(http: TestClient, db: sessionmaker[Session], department: str, county: str | None) -> dict[str, str]:
    """Authorization headers of a fresh client of `department` in `county`."""
    return bearer(token(http, *open_client(db, department, county)))
