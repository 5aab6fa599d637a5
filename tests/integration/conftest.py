"""Fixtures shared by the back-office, workflow and progress tests."""
from __future__ import annotations

import pytest

from portal.crypto import Vault
from portal.db import make_sessionmaker


@pytest.fixture
def db(app, engine, demo_staff):  # type: ignore[no-untyped-def]
    """A sessionmaker on the test database, with the demo staff memberships in place."""
    return make_sessionmaker(engine)


@pytest.fixture
def vault(settings) -> Vault:  # type: ignore[no-untyped-def]
    return Vault(settings.pii_key)
