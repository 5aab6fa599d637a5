"""The signed-in user as kept in the server-side session (auth/sessions.py).

Only stable identity facts and the masked ID live in the session, never a token or a full
personal number; staff roles are read from the database on each request by
auth/permissions.py, so deactivation takes effect at once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from starlette.requests import Request

SESSION_KEY = "user"


@runtime_checkable
class RenewableSession(Protocol):
    """A session that can move to a new id (auth/sessions.py's SessionData)."""

    def regenerate(self) -> None: ...


@dataclass(frozen=True)
class SessionUser:
    account_id: int
    issuer: str
    sub: str
    name: str
    id_masked: str
    auth_level: int
    id_type: int
    is_staff: bool = False

    @property
    def real_name_verified(self) -> bool:
        return self.auth_level >= 2

    @property
    def can_apply_online(self) -> bool:
        return self.real_name_verified and self.id_type == 1


def current_user(request: Request) -> SessionUser | None:
    data = request.session.get(SESSION_KEY)
    if not data:
        return None
    try:
        return SessionUser(**data)
    except TypeError:
        return None


def start_session(request: Request, user: SessionUser) -> None:
    """A fresh session on login, under a new id: nothing from before survives (no fixation)."""
    session = request.session
    if not isinstance(session, RenewableSession):
        raise RuntimeError("a login needs the portal's server-side sessions (auth.sessions.ServerSessionMiddleware)")
    session.clear()
    session.regenerate()
    session[SESSION_KEY] = asdict(user)


def end_session(request: Request) -> None:
    """Empty the session: its row is deleted before the response goes out."""
    request.session.clear()
