"""Import every model module so that Base.metadata knows all tables (for Alembic and tests)."""
from __future__ import annotations

import importlib

from portal import models  # noqa: F401
from portal.db import Base

for _optional in ("auth.provider.models",):
    try:
        importlib.import_module(_optional)
    except ModuleNotFoundError:
        pass

metadata = Base.metadata
