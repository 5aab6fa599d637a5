"""Configuration and signing key of the stand-in identity provider.

The provider imitates the personal login of 浙江政务服务网 but speaks real OpenID Connect
(see DOMAIN.md §5). It is a development and test stand-in only, never a production IdP.
"""
from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

from portal.config import rate_limit_overrides, setting

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PERSONAS_PATH = REPO_ROOT / "auth" / "personas.toml"
DEFAULT_TEMPLATES_DIR = REPO_ROOT / "templates"
DEFAULT_STATIC_DIR = REPO_ROOT / "static"

SUPPORTED_SCOPES = ("openid", "profile", "phone")


@dataclass
class ClientConfig:
    """One registered relying party (confidential client, PKCE S256 mandatory)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    scope: str = "openid profile phone"
    #: shown on the login page ("登录后将返回：…"); defaults to client_id
    client_name: str = ""

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("ClientConfig needs a client_id and a client_secret")
        if not self.redirect_uris:
            raise ValueError(f"client {self.client_id!r}: at least one redirect_uri is required")
        for uri in [*self.redirect_uris, *self.post_logout_redirect_uris]:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(f"client {self.client_id!r}: invalid URI {uri!r}")
        unknown = set(self.scope.split()) - set(SUPPORTED_SCOPES)
        if unknown or "openid" not in self.scope.split():
            raise ValueError(
                f"client {self.client_id!r}: scope must contain 'openid' and only {SUPPORTED_SCOPES}"
            )


@dataclass(kw_only=True)
class ProviderConfig:
    """Settings of one provider instance. All arguments are keyword-only.

    ``issuer`` is the public base URL of the provider, without a trailing slash, e.g.
    ``http://127.0.0.1:8000/idp`` when mounted inside the portal at ``/idp`` or
    ``http://127.0.0.1:8001`` when standalone. Every URL in the discovery document is
    built from it, and its path is the path of the provider's session cookie.
    """

    issuer: str
    key_path: Path
    clients: list[ClientConfig]
    personas_path: Path
    show_personas: bool
    code_ttl_seconds: int = 60
    id_token_ttl_seconds: int = 600
    session_secret: str
    access_token_ttl_seconds: int = 600
    #: lifetime of a login at the provider (the "idp_session" cookie)
    session_ttl_seconds: int = 8 * 3600
    session_cookie_name: str = "idp_session"
    templates_dir: Path = DEFAULT_TEMPLATES_DIR
    #: URL of the login page stylesheet (served by the portal, or by the standalone app)
    css_href: str = "/static/css/idp.css"
    #: failed-login limits (`login_user`, `login_ip`) and where they are counted: the portal's
    #: RATE_LIMIT_* settings, read from the same environment (portal/throttle.py)
    rate_limits: Mapping[str, str] = field(default_factory=lambda: rate_limit_overrides(os.environ))
    rate_limit_storage: str = field(default_factory=lambda: setting(os.environ, "RATE_LIMIT_STORAGE") or "db")

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"issuer must be an absolute http(s) URL without query: {self.issuer!r}")
        if len(self.session_secret) < 16:
            raise ValueError("session_secret must be at least 16 characters")
        ids = [c.client_id for c in self.clients]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate client_id in ProviderConfig.clients")
        self.key_path = Path(self.key_path)
        self.personas_path = Path(self.personas_path)
        self.templates_dir = Path(self.templates_dir)

    @property
    def base_path(self) -> str:
        """Public path prefix of the provider ("" when served at the root)."""
        return urlsplit(self.issuer).path.rstrip("/")

    @property
    def cookie_path(self) -> str:
        return self.base_path or "/"

    @property
    def cookie_secure(self) -> bool:
        return urlsplit(self.issuer).scheme == "https"

    def url(self, endpoint: str) -> str:
        """Absolute public URL of an endpoint, e.g. ``url("/token")``."""
        return self.issuer + endpoint

    def client(self, client_id: str) -> ClientConfig | None:
        for c in self.clients:
            if c.client_id == client_id:
                return c
        return None


def _write_new_file(path: Path, data: bytes) -> bool:
    """Create ``path`` with mode 0600 atomically; False if another process won the race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _warn_if_readable_by_others(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by group/others (mode %o); chmod 600 it", path, mode & 0o777)


def load_or_create_key(path: Path) -> RSAKey:
    """Load the RS256 signing key from ``path`` (PEM, PKCS#8), creating it on first use.

    A new key is 2048-bit RSA written with mode 0600. Keep the file out of git (var/).
    The returned key carries a stable ``kid``: its RFC 7638 thumbprint.
    """
    path = Path(path)
    if not path.exists():
        key = RSAKey.generate_key(2048, private=True)
        if _write_new_file(path, key.as_pem(private=True)):
            log.info("created new signing key %s", path)
    _warn_if_readable_by_others(path)
    key = RSAKey.import_key(path.read_bytes())
    if not key.is_private:
        raise ValueError(f"{path} does not hold a private RSA key")
    return RSAKey.import_key(path.read_bytes(), {"kid": key.thumbprint(), "use": "sig", "alg": "RS256"})


def load_or_create_secret(path: Path) -> str:
    """A random secret persisted in ``path`` (mode 0600), e.g. for ``session_secret``."""
    path = Path(path)
    if not path.exists():
        _write_new_file(path, secrets.token_urlsafe(48).encode())
    _warn_if_readable_by_others(path)
    return path.read_text().strip()


def public_jwks(key: RSAKey) -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: the public part of the signing key only."""
    jwk: dict[str, Any] = dict(key.as_dict(private=False))
    jwk.update({"kid": key.kid, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}
