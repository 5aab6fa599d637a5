"""Demo data for the run command: staff memberships for the demo personas, sample applications."""
from __future__ import annotations

from portal.config import Settings


def seed_demo(settings: Settings) -> str:
    """Idempotent: running it twice changes nothing the second time."""
    return "无"
