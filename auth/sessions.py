"""Server-side sessions behind the familiar `request.session` dict (replaces Starlette's
SessionMiddleware, whose signed cookie carried the whole session and could not be revoked).

The cookie holds only a random 256-bit id; the `web_session` row is keyed by its SHA-256, so a
copy of the database opens no session. A row is written only when the session holds something
and has changed (or its idle timer needs sliding), never for a request that keeps nothing.
A session ends on logout (the dict is emptied), when the account's staff membership is
deactivated (portal.services.staff.end_sessions), after SESSION_IDLE_MINUTES without a
request, or SESSION_MAX_HOURS after it began, however active. Expired rows are deleted by an
indexed range delete, at most every few minutes, when a new session is created.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.session import SESSION_KEY
from portal.domain import clock
from portal.models import WebSession

log = logging.getLogger("portal.sessions")


# Read on every request: built once, from the table's columns (no ORM object to load).
_WS = WebSession.__table__.c
_LOAD = select(_WS.data, _WS.last_seen_at, _WS.created_at).where(_WS.id_hash == bindparam("id_hash"))


def utcnow() -> datetime:
    return clock.now()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SessionData(dict[str, Any]):
    """What handlers see as `request.session`: a dict that can also ask for a new id."""

    rotate = False

    def regenerate(self) -> None:
        """Issue a new id when the response goes out (at login: no session fixation)."""
        self.rotate = True


@dataclass
class Loaded:
    id_hash: str
    data: dict[str, Any]
    last_seen_at: datetime


def _owner(data: dict[str, Any]) -> int | None:
    user = data.get(SESSION_KEY)
    account = user.get("account_id") if isinstance(user, dict) else None
    return account if isinstance(account, int) else None


class SessionStore:
    """The `web_session` table. Sync: the middleware calls it in the thread pool."""

    def __init__(self, db: sessionmaker[Session], *, idle_seconds: int, max_seconds: int,
                 clock: Callable[[], datetime] = utcnow, purge_every: timedelta = timedelta(minutes=5)) -> None:
        self.db = db
        self.idle = timedelta(seconds=idle_seconds)
        self.absolute = timedelta(seconds=max_seconds)
        self.clock = clock
        self.purge_every = purge_every
        self._last_purge: datetime | None = None

    @property
    def touch_after(self) -> timedelta:
        """Slide the idle timer at most this often (a write per request would be wasteful)."""
        return min(timedelta(minutes=1), self.idle / 10)

    def _expires(self, created: datetime, seen: datetime) -> datetime:
        return min(created + self.absolute, seen + self.idle)

    def load(self, key: str) -> Loaded | None:
        """The live session for this cookie value, or None (unknown, ended or expired)."""
        if not key or len(key) > 100:
            return None
        id_hash, now = hash_key(key), self.clock()
        with self.db() as session:
            row = session.execute(_LOAD, {"id_hash": id_hash}).first()
            if row is None:
                return None
            loaded = Loaded(id_hash, dict(row.data or {}), _aware(row.last_seen_at))
            expired = now >= self._expires(_aware(row.created_at), loaded.last_seen_at)
        if expired:
            self.delete(id_hash)
            return None
        return loaded

    def create(self, data: dict[str, Any]) -> str:
        """Store a new session; returns the cookie value (never stored itself)."""
        key, now = secrets.token_urlsafe(32), self.clock()
        with self.db() as session, session.begin():
            session.add(WebSession(id_hash=hash_key(key), account_id=_owner(data), data=data, created_at=now,
                                   last_seen_at=now, expires_at=self._expires(now, now)))
        if self._last_purge is None or now - self._last_purge >= self.purge_every:
            self.purge()
        return key

    def save(self, id_hash: str, data: dict[str, Any] | None) -> bool:
        """Slide the idle timer (and replace the data if given). False when the session has
        ended meanwhile: a session is never brought back by a late write."""
        now = self.clock()
        with self.db() as session, session.begin():
            row = session.get(WebSession, id_hash)
            if row is None:
                return False
            values: dict[str, Any] = {"last_seen_at": now,
                                      "expires_at": self._expires(_aware(row.created_at), now)}
            if data is not None:
                values.update(data=data, account_id=_owner(data))
            change = update(WebSession).where(WebSession.id_hash == id_hash).values(**values)
            done = cast(CursorResult[Any], session.execute(change))
            return bool(done.rowcount)

    def delete(self, id_hash: str) -> None:
        with self.db() as session, session.begin():
            session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))

    def purge(self) -> int:
        """Delete expired rows (an indexed range delete); returns how many."""
        now = self.clock()
        self._last_purge = now
        with self.db() as session, session.begin():
            return cast(CursorResult[Any], session.execute(delete(WebSession).where(WebSession.expires_at <= now))).rowcount or 0


def _snapshot(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


class ServerSessionMiddleware:
    """Puts a `SessionData` in scope["session"] and writes it back when the response starts."""

    def __init__(self, app: ASGIApp, *, store: SessionStore, cookie_name: str, https_only: bool,
                 skip_prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.store = store
        self.cookie_name = cookie_name
        self.skip = skip_prefixes
        self.flags = "; path=/; httponly; samesite=lax" + ("; secure" if https_only else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path", "").startswith(self.skip):
            scope["session"] = SessionData()  # nothing kept for static files
            await self.app(scope, receive, send)
            return
        scope["session"] = session = SessionData()  # set first: an error page may need it
        sent_key = HTTPConnection(scope).cookies.get(self.cookie_name, "")
        loaded = await run_in_threadpool(self.store.load, sent_key) if sent_key else None
        session.update(loaded.data if loaded else {})
        before = _snapshot(session) if loaded else ""

        async def send_with_session(message: Message) -> None:
            state = (bool(sent_key), loaded, session, before)
            if message["type"] == "http.response.start" and not self._unchanged(*state):
                try:
                    cookie = await run_in_threadpool(self._commit, *state)
                except SQLAlchemyError:
                    if message["status"] < 400:
                        raise
                    # An error page (e.g. 503: the database is read-only) is sent as it is: the
                    # session stays as it was stored before this request.
                    log.warning("session not stored with a %s response", message["status"], exc_info=True)
                    cookie = None
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _cookie(self, value: str | None) -> str:
        if value is None:
            return f"{self.cookie_name}=null; max-age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT{self.flags}"
        return f"{self.cookie_name}={value}; max-age={int(self.store.absolute.total_seconds())}{self.flags}"

    def _unchanged(self, had_cookie: bool, loaded: Loaded | None, session: SessionData, before: str) -> bool:
        """Nothing to write or send (most requests): decided without a trip to the thread pool."""
        if loaded is None:
            return not session and not had_cookie
        return (bool(session) and not session.rotate and _snapshot(session) == before
                and self.store.clock() - loaded.last_seen_at < self.store.touch_after)

    def _commit(self, had_cookie: bool, loaded: Loaded | None, session: SessionData, before: str) -> str | None:
        """Store what changed; return the Set-Cookie value to send, if any."""
        data = dict(session)
        if loaded is not None and (session.rotate or not data):
            self.store.delete(loaded.id_hash)  # logout, or a new id at login
            loaded = None
            had_cookie = True
        if loaded is None:
            if data:
                return self._cookie(self.store.create(data))
            return self._cookie(None) if had_cookie else None
        changed = _snapshot(data) != before
        stale = self.store.clock() - loaded.last_seen_at >= self.store.touch_after
        if (changed or stale) and not self.store.save(loaded.id_hash, data if changed else None):
            return self._cookie(None)  # ended meanwhile (logout elsewhere, deactivation)
        return None
