"""Fixtures shared by the back-office, workflow and progress tests."""
from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from portal.config import Settings
from portal.crypto import Vault
from portal.db import make_sessionmaker


@pytest.fixture
def db(app: Starlette, engine: Engine, demo_staff: None) -> sessionmaker[Session]:
    """A sessionmaker on the test database, with the demo staff memberships in place."""
    return make_sessionmaker(engine)


@pytest.fixture
def vault(settings: Settings) -> Vault:
    return Vault(settings.pii_key)
