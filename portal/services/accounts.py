"""The login use case: keep the portal's account row in step with what the identity provider
says about a person, log the login, and say who is now signed in.

A person is (issuer, sub): the same `sub` at another provider is another account. auth/web.py
runs this through the use case the app factory hands it (auth knows no services).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.claims import ExternalIdentity
from auth.session import SessionUser
from auth.staff import load_staff
from portal.crypto import Vault
from portal.domain.idcard import mask_id
from portal.models import CitizenAccount, utcnow
from portal.services import proxy
from portal.services.events import Actor, record


def sign_in(session: Session, vault: Vault, identity: ExternalIdentity, ip: str | None) -> SessionUser:
    """Create or update the account for this identity and return the session user."""
    account = session.scalar(select(CitizenAccount).where(CitizenAccount.issuer == identity.issuer,
                                                          CitizenAccount.sub == identity.sub))
    if account is None:
        account = CitizenAccount(sub=identity.sub, issuer=identity.issuer, name=identity.name)
        session.add(account)
    account.name = identity.name
    account.id_type = identity.id_type
    account.id_card_enc = vault.seal(identity.id_card_no)
    account.id_card_bidx = vault.index(identity.id_card_no)
    account.phone_enc = vault.seal(identity.phone)
    account.auth_level = identity.auth_level
    account.last_login_at = utcnow()
    session.flush()
    staff = load_staff(session, identity.issuer, identity.sub)
    actor = Actor("staff" if staff else "citizen", account.id, identity.name, ip)
    record(session, actor, "auth:session:login",
           "登录", before=None, after={"auth_level": identity.auth_level, "id_type": identity.id_type})
    # A case the window filled in for this person (代办) becomes theirs to follow.
    proxy.claim_on_login(session, vault, account, identity.id_type,
                         identity.id_card_no if identity.id_type == 1 else identity.document_no, actor)
    return SessionUser(
        account_id=account.id,
        issuer=identity.issuer,
        sub=identity.sub,
        name=identity.name,
        id_masked=mask_id(identity.id_card_no) if identity.id_card_no else "（非身份证用户）",
        auth_level=identity.auth_level,
        id_type=identity.id_type,
        is_staff=staff is not None,
    )
