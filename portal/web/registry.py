"""Which areas the portal serves. Each area module exposes `routes(settings, services)`."""
from __future__ import annotations

from starlette.routing import BaseRoute

from portal.config import Settings
from portal.web.common import Services


def area_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    collected: list[BaseRoute] = []
    return collected
