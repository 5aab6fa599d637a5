"""Throttling: every limit declared once, counted by the `limits` library, in the database by default.

Infrastructure beside the database (portal/db.py): the portal's pages (portal/web/throttling.py)
and the stand-in provider's login (auth/provider/app.py) count here alike.

`limits` (FixedWindowRateLimiter) decides; where it counts is a `limits.storage.Storage`. It ships
Redis, Memcached, MongoDB and in-memory storages but none over SQL, so `DatabaseStorage` implements
its storage interface on the `throttle_counter` table with one atomic upsert per hit (INSERT … ON
CONFLICT DO UPDATE … RETURNING on SQLite and PostgreSQL): correct with several threads, workers and
servers without a lock. RATE_LIMIT_STORAGE=redis://… moves the counting to Redis at scale.

Who is counted (an account, a client IP, a username) is kept only as a keyed hash, so the table
holds no personal data. A storage failure lets the request through (logged): a grieving family
must not be turned away because a counter could not be written.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from limits import RateLimitItem
from limits.errors import ConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from limits.util import parse_many
from sqlalchemy import case, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from portal.config import RATE_LIMIT_PREFIX
from portal.domain.clock import CHINA
from portal.models import ThrottleCounter

log = logging.getLogger("portal.throttle")


@dataclass(frozen=True)
class Limit:
    """A named limit: `default` in limits' notation ("5 per 15 minutes; 20 per day"), and whom it counts."""

    default: str
    per: str  # "account", "ip" or "username": documentation, and the identity the caller must pass
    what: str


# The one declaration of every limit. A county may tune each with RATE_LIMIT_<NAME> (docs/settings.md).
LIMITS: dict[str, Limit] = {
    "login_user": Limit("5 per 15 minutes", "username", "failed logins at the stand-in provider"),
    "login_ip": Limit("30 per 15 minutes", "ip", "failed logins at the stand-in provider"),
    "step_save": Limit("60 per minute; 600 per hour", "account", "application step saves and 保存，稍后继续"),
    "search": Limit("120 per minute; 2000 per hour", "ip", "policy searches"),
    "verify": Limit("30 per minute; 300 per hour", "ip", "receipt checks at /verify"),
    "download": Limit("30 per 10 minutes; 300 per day", "account", "receipt and archive PDF downloads"),
    # Tight: it tells whether someone has died and a case is being handled.
    "in_progress": Limit("5 per hour; 10 per day", "account", "newly typed 身份证号 checked for a case in progress"),
    "api_client": Limit("600 per minute; 20000 per hour", "client", "calls of one department client to /api/v1"),
    "api_token": Limit("30 per minute; 300 per hour", "ip", "token requests at /api/v1/token"),
}


def now() -> float:
    """The throttle's clock (epoch seconds); tests move it instead of sleeping."""
    return time.time()


class DatabaseStorage(Storage):
    """limits' storage interface over SQLAlchemy: fixed-window counters in `throttle_counter`.

    Each call is its own short transaction on its own connection, so call it outside a request's
    write transaction (on SQLite a commit in between would stop that transaction from writing).
    """

    STORAGE_SCHEME = None  # built from an Engine by `make_storage`, not from a URI
    PURGE_EVERY = 500  # increments between deletions of expired rows

    def __init__(self, engine: Engine, wrap_exceptions: bool = False) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ConfigurationError(f"no throttle storage for {engine.dialect.name}: set RATE_LIMIT_STORAGE")
        self.engine = engine
        self._increments = itertools.count(1)
        super().__init__(None, wrap_exceptions=wrap_exceptions)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the window's count (a new window when the old one ended); the new count."""
        t = ThrottleCounter
        at = now()
        ended = t.expires_at <= at
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(t)
        stmt = (
            insert
            .values(key=key, hits=amount, expires_at=at + expiry)
            .on_conflict_do_update(
                index_elements=[t.key],
                set_={
                    "hits": case((ended, amount), else_=t.hits + amount),
                    "expires_at": case((ended, at + expiry), else_=t.expires_at),
                },
            )
            .returning(t.hits)
        )
        with self.engine.begin() as conn:
            hits = int(conn.execute(stmt).scalar_one())
        if next(self._increments) % self.PURGE_EVERY == 0:
            self.purge()
        return hits

    def _live(self, key: str) -> tuple[int, float] | None:
        t = ThrottleCounter
        with self.engine.connect() as conn:
            row = conn.execute(select(t.hits, t.expires_at).where(t.key == key, t.expires_at > now())).first()
        return (int(row[0]), float(row[1])) if row else None

    def get(self, key: str) -> int:
        live = self._live(key)
        return live[0] if live else 0

    def get_expiry(self, key: str) -> float:
        live = self._live(key)
        return live[1] if live else now()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(ThrottleCounter)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))

    def purge(self) -> None:
        """Delete windows that ended (rows for IPs and accounts no longer counted)."""
        with self.engine.begin() as conn:
            conn.execute(delete(ThrottleCounter).where(ThrottleCounter.expires_at < now()))


def make_storage(uri: str, engine: Engine) -> Storage:
    """`db` (default): the portal's database; otherwise a limits storage URI (redis://, memory://…)."""
    if uri in ("", "db"):
        return DatabaseStorage(engine)
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ConfigurationError(f"RATE_LIMIT_STORAGE must be a synchronous storage, not {uri!r}")
    return storage


def parse_limits(overrides: Mapping[str, str]) -> dict[str, list[RateLimitItem]]:
    """Every declared limit with the county's overrides applied; a wrong name or notation stops start-up."""
    unknown = sorted(set(overrides) - set(LIMITS))
    if unknown:
        names = ", ".join(RATE_LIMIT_PREFIX + n.upper() for n in unknown)
        raise ConfigurationError(f"unknown rate limit setting(s): {names}")
    parsed: dict[str, list[RateLimitItem]] = {}
    for name, limit in LIMITS.items():
        notation = overrides.get(name) or limit.default
        try:
            parsed[name] = parse_many(notation)
        except ValueError:
            raise ConfigurationError(f"{RATE_LIMIT_PREFIX}{name.upper()}: cannot read {notation!r}") from None
    return parsed


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds until the refused limit's window ends


ALLOWED = Verdict(True)


class Throttle:
    """The declared limits over one storage. `hit` spends one unit; `test` only looks."""

    def __init__(self, storage: Storage, overrides: Mapping[str, str], secret: str) -> None:
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)
        self.items = parse_limits(overrides)
        self._secret = hashlib.sha256(b"throttle:" + secret.encode()).digest()

    def _who(self, identity: str) -> str:
        return hmac.new(self._secret, identity.encode(), hashlib.sha256).hexdigest()[:32]

    def _verdict(self, name: str, who: str, refused: list[RateLimitItem]) -> Verdict:
        if not refused:
            return ALLOWED
        reset = max(self.limiter.get_window_stats(item, name, who).reset_time for item in refused)
        return Verdict(False, max(1, math.ceil(reset - now())))

    def hit(self, name: str, identity: str) -> Verdict:
        """Count one request of `identity` against limit `name`; refused once any window is full."""
        who = self._who(identity)
        try:
            refused = [item for item in self.items[name] if not self.limiter.hit(item, name, who)]
            return self._verdict(name, who, refused)
        except Exception as exc:  # noqa: BLE001 - a counter that cannot be written never turns a family away
            log.warning("throttle %s not counted: %s", name, type(exc).__name__)
            return ALLOWED

    def test(self, name: str, identity: str, cost: int = 1) -> Verdict:
        """Whether `identity` could spend `cost` more under `name`, spending nothing
        (cost 0: whether it is not yet past the limit, i.e. was not refused in this window)."""
        who = self._who(identity)
        try:
            refused = [item for item in self.items[name] if not self.limiter.test(item, name, who, cost=cost)]
            return self._verdict(name, who, refused)
        except Exception as exc:  # noqa: BLE001 - see hit()
            log.warning("throttle %s not checked: %s", name, type(exc).__name__)
            return ALLOWED

    def clear(self, name: str, identity: str) -> None:
        """Forget `identity`'s count under `name` (a successful login clears its failures)."""
        who = self._who(identity)
        try:
            for item in self.items[name]:
                self.limiter.clear(item, name, who)
        except Exception as exc:  # noqa: BLE001 - see hit()
            log.warning("throttle %s not cleared: %s", name, type(exc).__name__)


def retry_text(seconds: int) -> str:
    """When to try again in plain Chinese: '30秒后', '15分钟后（北京时间 14:35 以后）'."""
    if seconds < 60:
        return f"{seconds}秒后"
    minutes = math.ceil(seconds / 60)
    wait = f"{minutes}分钟" if minutes < 120 else f"{math.ceil(minutes / 60)}小时"
    at = datetime.fromtimestamp(now() + seconds, CHINA)
    day = "" if at.date() == datetime.fromtimestamp(now(), CHINA).date() else f"{at.month}月{at.day}日 "
    return f"{wait}后（北京时间 {day}{at:%H:%M} 以后）"
