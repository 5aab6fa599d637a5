"""The stand-in provider's own login, kept in a signed cookie (itsdangerous; no server-side
state), independent of any portal session."""
from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from .config import ProviderConfig


class ProviderSessions:
    """The provider's own signed session cookie (itsdangerous; no server-side state)."""

    def __init__(self, config: ProviderConfig):
        self.config = config
        self.name = config.session_cookie_name
        self.serializer = URLSafeTimedSerializer(config.session_secret, salt="zjzwfw-standin-idp-session")

    def load(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(self.name)
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.config.session_ttl_seconds)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            self.name,
            self.serializer.dumps(data),
            max_age=self.config.session_ttl_seconds,
            path=self.config.cookie_path,
            secure=self.config.cookie_secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.name,
            path=self.config.cookie_path,
            secure=self.config.cookie_secure,
            httponly=True,
            samesite="lax",
        )
