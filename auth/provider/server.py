"""authlib integration: a framework-agnostic ``AuthorizationServer`` for Starlette.

Grant: authorization code with client_secret_basic / client_secret_post, PKCE S256 required
for every client (plain and missing challenges refused), OpenID Connect id_token (RS256).
Codes are consumed on their first presentation at the token endpoint, before the PKCE check,
so a failed verifier burns the code; a replayed code revokes the tokens issued for it.

All methods here are synchronous (sync SQLAlchemy); the Starlette routes in ``app.py`` call
them through the thread pool.
"""
from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import JSONResponse, Response

from portal.db import transaction

from .config import ClientConfig, ProviderConfig
from .models import IdpAccessToken, IdpAuthCode, as_utc, sha256_hex, utcnow
from .personas import Persona, PersonaStore
from .requests import StarletteOAuth2Request

log = logging.getLogger(__name__)

#: keep consumed/expired codes this long for replay detection, then purge them
_RETENTION = timedelta(days=1)


# --------------------------------------------------------------------------- client and code


class Client(ClientMixin):
    """A registered relying party (from ``ClientConfig``)."""

    def __init__(self, cfg: ClientConfig) -> None:
        self.cfg = cfg
        self.client_id = cfg.client_id
        self.client_name = cfg.client_name or cfg.client_id
        self.id_token_signed_response_alg = "RS256"

    @property
    def client_metadata(self) -> dict[str, list[str]]:
        return {"post_logout_redirect_uris": list(self.cfg.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OpenID Connect: redirect_uri is always required

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Requested scopes the client may use; unknown scopes are dropped, openid is required."""
        if not scope:
            return None
        allowed = set(self.cfg.scope.split())
        requested = [s for s in scope.split() if s in allowed]
        if "openid" not in requested:
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.cfg.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(self.cfg.client_secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class CodeRecord:
    """A consumed authorization code, as the grant and its extensions need it."""

    id: int
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    user_sub: str
    acr: str | None
    auth_time: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return self.acr

    def get_amr(self) -> list[str]:
        return ["pwd"]


# --------------------------------------------------------------------------- grant + extensions


class S256OnlyCodeChallenge(CodeChallenge):
    """PKCE for every client, S256 only.

    authlib's ``CodeChallenge(required=True)`` only forces PKCE on public clients and accepts
    ``plain`` (also the default when the method is omitted); this stand-in refuses both.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: CodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        # RFC 7636 4.3: an omitted method means "plain", which is not accepted here
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256 is allowed.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: CodeGrant, result: object) -> None:
        request = grant.request
        if not request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        code = request.authorization_code
        if not code.code_challenge or code.code_challenge_method != "S256":
            raise InvalidGrantError("The code was not issued with an S256 code_challenge.")
        super().validate_code_verifier(grant, result)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    server: ProviderServer
    request: StarletteOAuth2Request

    def save_authorization_code(self, code: str, request: StarletteOAuth2Request) -> None:
        self.server.save_code(code, request)

    def query_authorization_code(self, code: str, client: Client) -> CodeRecord | None:
        return self.server.consume_code(code, client)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        pass  # already consumed in query_authorization_code; the row stays for replay detection

    def authenticate_user(self, authorization_code: CodeRecord) -> Persona | None:
        return self.server.personas.by_sub(authorization_code.user_sub)


class ProviderOpenIDCode(OpenIDCode):
    def __init__(self, server: ProviderServer) -> None:
        super().__init__(require_nonce=False)
        self.srv = server

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.srv.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str | None]:
        return {"alg": "RS256", "typ": "JWT", "kid": self.srv.key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.srv.config.issuer,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + self.srv.config.id_token_ttl_seconds,
        }

    def exists_nonce(self, nonce: str, request: StarletteOAuth2Request) -> bool:
        return self.srv.nonce_used(request.payload.client_id, nonce)

    def generate_user_info(self, user: Persona, scope: str) -> UserInfo:
        return UserInfo(user.claims(scope))


class ProviderEndSession(EndSessionEndpoint):
    """RP-initiated logout. Redirects only to a post_logout_redirect_uri registered (exactly)
    for the client named by ``client_id`` or by the ``aud`` of a valid ``id_token_hint``."""

    server: ProviderServer

    def get_server_jwks(self) -> KeySet:
        return KeySet([self.server.key])

    def get_algorithms(self) -> list[str]:
        return ["RS256"]

    def validate_request(self, request: StarletteOAuth2Request) -> Any:  # authlib's EndSessionRequest
        result = super().validate_request(request)
        claims = result.id_token_claims
        if claims is not None and claims.get("iss") != self.server.config.issuer:
            raise InvalidRequestError("'id_token_hint' was not issued by this provider")
        return result

    def is_post_logout_redirect_uri_legitimate(self, request: StarletteOAuth2Request, uri: str, client: Client,
                                               logout_hint: str | None) -> bool:
        # The URI already matched one registered for this client exactly; trusted first-party
        # clients of the stand-in may log out without an id_token_hint.
        return True

    def end_session(self, end_session_request: object) -> None:
        pass  # the route clears the provider's session cookie on every logout request


# --------------------------------------------------------------------------- server


class ProviderServer(AuthorizationServer):
    def __init__(
        self,
        config: ProviderConfig,
        session_factory: sessionmaker[Session],
        personas: PersonaStore,
        key: RSAKey,
    ) -> None:
        super().__init__(scopes_supported=None)  # unknown scopes are dropped by the client
        self.config = config
        self.session_factory = session_factory
        self.personas = personas
        self.key = key
        self.clients = {c.client_id: Client(c) for c in config.clients}
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                expires_generator=config.access_token_ttl_seconds,
            ),
        )
        self.register_grant(CodeGrant, [S256OnlyCodeChallenge(), ProviderOpenIDCode(self)])
        self.register_endpoint(ProviderEndSession)

    # ---- AuthorizationServer interface

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    def create_oauth2_request(self, request: object) -> StarletteOAuth2Request:
        if isinstance(request, StarletteOAuth2Request):
            return request
        raise TypeError("pass a StarletteOAuth2Request")

    def create_json_request(self, request: object) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: dict[str, Any] | str | bytes | None,
                        headers: list[tuple[str, str]]) -> Response:
        header_map = dict(headers)
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or b"", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: object, **kwargs: object) -> None:
        pass

    def save_token(self, token: dict[str, Any], request: StarletteOAuth2Request) -> None:
        now = utcnow()
        code: CodeRecord = request.authorization_code
        with transaction(self.session_factory) as s:
            s.add(
                IdpAccessToken(
                    token_hash=sha256_hex(token["access_token"]),
                    sub=request.user.sub,
                    client_id=request.client.get_client_id(),
                    scope=token.get("scope", ""),
                    code_id=code.id if code else None,
                    issued_at=now,
                    expires_at=now + timedelta(seconds=int(token.get("expires_in", 0))),
                )
            )

    # ---- storage used by the grant

    def save_code(self, code: str, request: StarletteOAuth2Request) -> None:
        now = utcnow()
        data = request.payload.data
        persona: Persona = request.user
        auth_time = request.auth_time or int(now.timestamp())
        with transaction(self.session_factory) as s:
            s.execute(delete(IdpAuthCode).where(IdpAuthCode.expires_at < now - _RETENTION))
            s.execute(delete(IdpAccessToken).where(IdpAccessToken.expires_at < now - _RETENTION))
            s.add(
                IdpAuthCode(
                    code_hash=sha256_hex(code),
                    client_id=request.client.get_client_id(),
                    redirect_uri=request.payload.redirect_uri,
                    scope=request.scope,
                    nonce=data.get("nonce") or None,
                    code_challenge=data["code_challenge"],
                    code_challenge_method=data["code_challenge_method"],
                    user_sub=persona.sub,
                    acr=persona.acr,
                    auth_time=datetime.fromtimestamp(auth_time, now.tzinfo),
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.config.code_ttl_seconds),
                )
            )

    def consume_code(self, code: str, client: Client) -> CodeRecord | None:
        """Mark the code used (atomically, first presentation wins) and return it if valid."""
        now = utcnow()
        code_hash = sha256_hex(code)
        with transaction(self.session_factory) as s:
            result = cast(CursorResult[Any], s.execute(
                update(IdpAuthCode)
                .where(IdpAuthCode.code_hash == code_hash, IdpAuthCode.used_at.is_(None))
                .values(used_at=now)
            ))
            row = s.scalar(select(IdpAuthCode).where(IdpAuthCode.code_hash == code_hash))
            if row is None:
                return None
            if result.rowcount != 1:
                revoked = cast(CursorResult[Any], s.execute(
                    update(IdpAccessToken)
                    .where(IdpAccessToken.code_id == row.id, IdpAccessToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                )).rowcount
                log.warning("authorization code replayed (client %s); %d token(s) revoked",
                            client.client_id, revoked)
                return None
            record = CodeRecord(
                id=row.id,
                client_id=row.client_id,
                redirect_uri=row.redirect_uri,
                scope=row.scope,
                nonce=row.nonce,
                code_challenge=row.code_challenge,
                code_challenge_method=row.code_challenge_method,
                user_sub=row.user_sub,
                acr=row.acr,
                auth_time=as_utc(row.auth_time),
            )
            expires_at = as_utc(row.expires_at)
        if record.client_id != client.client_id:
            log.warning("code of client %s presented by client %s", record.client_id, client.client_id)
            return None
        if expires_at <= now:
            return None
        return record

    def nonce_used(self, client_id: str | None, nonce: str) -> bool:
        with self.session_factory() as s:
            found = s.scalar(
                select(IdpAuthCode.id)
                .where(IdpAuthCode.client_id == client_id, IdpAuthCode.nonce == nonce)
                .limit(1)
            )
        return found is not None

    def lookup_access_token(self, token: str) -> tuple[Persona, str] | None:
        """(persona, scope) for a live access token, else None."""
        now = utcnow()
        with self.session_factory() as s:
            row = s.scalar(select(IdpAccessToken).where(IdpAccessToken.token_hash == sha256_hex(token)))
            if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
                return None
            sub, scope = row.sub, row.scope
        persona = self.personas.by_sub(sub)
        return (persona, scope) if persona else None


__all__ = ["ProviderServer", "StarletteOAuth2Request", "S256OnlyCodeChallenge"]
