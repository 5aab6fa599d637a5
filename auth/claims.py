"""The one adapter from identity-provider claims to the portal's idea of a person.

Today the claims come from OpenID Connect (the stand-in imitates 浙江政务服务网's personal
user-info, DOMAIN.md §5). A connector for the real ticket-based network would produce the same
`ExternalIdentity` from its getUserInfo answer and nothing else would change.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ClaimsError(ValueError):
    """The provider's answer lacks something the portal cannot work without."""


@dataclass(frozen=True)
class ExternalIdentity:
    sub: str
    issuer: str
    name: str
    phone: str | None
    id_type: int
    id_card_no: str | None
    auth_level: int
    gender: int | None
    nation: str | None
    birthdate: str | None
    user_type: str
    # The number of a document other than the 身份证 (a passport, …): links a case the window
    # filled in for this person (portal/services/proxy.py). None for 身份证 holders.
    document_no: str | None = None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def identity_from_claims(claims: Mapping[str, Any], issuer: str) -> ExternalIdentity:
    """The person (issuer, sub) and what the provider says about them; `issuer` is the configured one."""
    if str(claims.get("iss") or issuer).rstrip("/") != issuer.rstrip("/"):
        raise ClaimsError("the id_token names another issuer than the one configured")
    sub = str(claims.get("sub") or "")
    name = str(claims.get("name") or "").strip()
    if not sub or not name:
        raise ClaimsError("the provider sent no subject or name")
    level = claims.get("auth_level")
    if level is None and str(claims.get("acr", "")).startswith("zjzwfw:"):
        level = str(claims["acr"]).split(":", 1)[1]
    id_type = _int(claims.get("id_type"), 1)
    id_no = str(claims.get("id_card_no") or "").strip().upper() or None
    return ExternalIdentity(
        sub=sub,
        issuer=issuer,
        name=name,
        phone=str(claims.get("phone_number") or "") or None,
        id_type=id_type,
        id_card_no=id_no if id_type == 1 else None,
        auth_level=_int(level, 1),
        gender=_int(claims.get("gender"), 0) or None,
        nation=str(claims.get("nation") or "") or None,
        birthdate=str(claims.get("birthdate") or "") or None,
        user_type=str(claims.get("user_type") or "person"),
        document_no=(str(claims.get("passport_no") or "").strip().upper() or None) if id_type != 1 else None,
    )
