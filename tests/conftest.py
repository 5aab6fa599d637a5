"""Fixtures: an app on a freshly migrated database (SQLite file, or PostgreSQL via DATABASE_URL).

The schema is built once per session by the real Alembic migrations; every test then gets
empty tables (rows are deleted after each test), so tests never see each other's data.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from auth.web import build_oauth
from portal.app import create_app
from portal.config import Settings
from portal.db import make_engine
from portal.migrate import upgrade
from portal.models_all import metadata

KEEP_TABLES = {"policy_article"}  # reference content, loaded once per session
TEST_PII_KEY = "5" * 64


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def database_url(var_dir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'test.db'}"


@pytest.fixture(scope="session")
def test_env(var_dir: Path, database_url: str) -> dict[str, str]:
    return {
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "PII_KEY": TEST_PII_KEY,
        "BASE_URL": "http://testserver",
        "OIDC_CLIENT_SECRET": "test-client-secret",
        "PRERENDER_RECEIPTS": "0",  # a PDF per submit would slow every test; tested on its own
    }


@pytest.fixture(scope="session")
def settings(test_env: dict[str, str]) -> Settings:
    return Settings.from_env(test_env)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database_url)
    if eng.dialect.name == "postgresql":
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(eng)
    from portal.services.content import sync_policies

    sync_policies(eng)
    yield eng
    eng.dispose()


def _empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                conn.execute(table.delete())


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[Starlette]:
    application = create_app(settings, engine=engine)
    # The OIDC client reaches the embedded provider in process (see tests/helpers.py).
    application.state.oauth = build_oauth(settings, transport=httpx.ASGITransport(app=application))
    yield application
    _empty_tables(engine)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def csrf_of(client: TestClient) -> str:
    """A valid CSRF token for the client's session. Public pages start no session (and show no
    token) for a visitor without one, so such a visitor starts it the way a login does."""
    page = client.get("/").text
    if CSRF_RE.search(page) is None:
        client.get("/login")
        page = client.get("/").text
    return csrf_from(page)


@pytest.fixture
def csrf(client: TestClient) -> str:
    """A valid CSRF token for the client's session."""
    return csrf_of(client)


@pytest.fixture
def demo_staff(app: Starlette, engine: Engine, settings: Settings) -> None:
    """The demo staff memberships (clerk, one officer per department, admin, 瑞安 staff) at the stand-in."""
    from portal.db import make_sessionmaker, transaction
    from portal.services.staff import ensure_demo_staff

    with transaction(make_sessionmaker(engine)) as session:
        ensure_demo_staff(session, settings.oidc_issuer)
