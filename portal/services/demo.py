"""Demo data for the run command: staff memberships for the demo personas, sample applications."""
from __future__ import annotations

from portal.config import Settings
from portal.db import make_engine, make_sessionmaker, transaction
from portal.services.staff import ensure_demo_staff


def seed_demo(settings: Settings) -> str:
    """Idempotent: running it twice changes nothing the second time."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            staff = ensure_demo_staff(session)
        return f"新增工作人员 {staff} 名"
    finally:
        engine.dispose()
