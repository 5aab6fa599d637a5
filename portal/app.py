"""Application factory: middleware, every area's routes, and the embedded identity provider."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import BaseRoute, Mount

from auth import web as login_pages
from auth.sessions import ServerSessionMiddleware, SessionStore
from portal.config import Settings, UnsafeSettings
from portal.crypto import Vault
from portal.db import make_engine, make_sessionmaker
from portal.pages import STATIC_DIR, Services
from portal.services.accounts import sign_in
from portal.services.bootstrap import validate_reference_data, warm_up
from portal.services.metrics import process_ended
from portal.web import registry, site
from portal.web.bounded import NulRefusalMiddleware
from portal.web.compression import CompressionMiddleware, StaticAssets
from portal.web.observe import RequestContextMiddleware
from portal.web.page_cache import PublicPageCache, version_reader
from portal.web.security import (
    BodySizeLimitMiddleware,
    CrossSiteRefusalMiddleware,
    SecurityHeadersMiddleware,
    origin_of,
)
from portal.web.throttling import build_throttle

log = logging.getLogger("portal")

SESSION_COOKIE = "portal_session"
API_PREFIX = "/api/"


def _area_routes(settings: Settings, svc: Services) -> list[BaseRoute]:
    """Collect every area's routes; each area module owns its URLs. The login pages (auth.web,
    with the embedded provider at /idp) get the login use case from here."""
    return [*site.routes(), *login_pages.routes(settings, svc, login_use_case=sign_in),
            *registry.area_routes(settings, svc)]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Starlette:
    """Build the portal. Tests pass a shared `engine`; otherwise one is made from settings."""
    settings = settings or Settings.from_env()
    if problem := settings.startup_problem():
        raise UnsafeSettings(problem)
    own_engine = engine is None
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size,
                                   max_overflow=settings.db_max_overflow)
    svc = Services(settings=settings, db=make_sessionmaker(engine), vault=Vault(settings.pii_key), extras={})

    validate_reference_data()  # catalogue errors stop start-up with a clear message
    svc.extras["throttle"] = build_throttle(settings, engine)  # a wrong RATE_LIMIT_* stops start-up too
    sessions = SessionStore(svc.db, idle_seconds=settings.session_idle_seconds,
                            max_seconds=settings.session_max_seconds)

    routes = _area_routes(settings, svc)
    routes.append(Mount("/static", app=StaticAssets(directory=str(STATIC_DIR)), name="static"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Handlers are short and CPU-bound under the GIL: a few threads serve more than anyio's 40,
        # which only contend for the interpreter (bench: see docs/decisions.md D1).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        await run_in_threadpool(warm_up, svc.db)
        yield
        # Graceful shutdown: uvicorn has stopped accepting and waited (SHUTDOWN_GRACE_SECONDS) for
        # the requests in flight; then the pool's connections are closed, not dropped.
        process_ended()
        if own_engine:
            engine.dispose()

    middleware = [
        Middleware(RequestContextMiddleware),
        Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
        Middleware(PublicPageCache, version=version_reader(svc)),
        Middleware(CompressionMiddleware),
        Middleware(SecurityHeadersMiddleware, form_targets=(origin_of(settings.oidc_issuer),), hsts=settings.https_only),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(NulRefusalMiddleware),
        # The API (/api/) is called by department systems with bearer tokens, never with the
        # browser's cookie: no cross-site check (no ambient credential to abuse) and no session.
        Middleware(CrossSiteRefusalMiddleware, exempt_prefixes=("/idp/token", "/idp/userinfo", API_PREFIX)),
        Middleware(ServerSessionMiddleware, store=sessions, cookie_name=SESSION_COOKIE,
                   https_only=settings.https_only, skip_prefixes=("/static/", API_PREFIX)),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={**{status: site.http_exception for status in (400, 401, 403, 404, 405, 409, 429)},
                            500: site.server_error, Exception: site.server_error, **site.FAULT_HANDLERS},
        lifespan=lifespan,
    )
    app.state.services = svc
    app.state.oauth = svc.extras.get("oauth")
    app.state.engine = engine
    app.state.session_store = sessions
    return app
