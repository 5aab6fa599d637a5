"""/api/v1: the machine interface for department systems (JSON only, bearer tokens, no cookies).

The area's routes come from `portal.web.api.site` (imported when the app is built, so that the
middleware may use `portal.web.api.problems` without pulling in the whole area). Operations are
declared with `portal.web.api.framework` in the modules listed in `site.MODULES`.
"""
from __future__ import annotations

from starlette.routing import BaseRoute

from portal.config import Settings
from portal.pages import Services


def routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    from portal.web.api import site

    return site.routes(settings, svc)
