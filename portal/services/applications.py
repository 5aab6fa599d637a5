"""Drafts of the 一表申请: one open draft per account, answers kept as encrypted JSON.

The answers live in `Application.draft_blob` (AES-GCM via the vault) so nothing typed is in
clear in the database; they stay the canonical answers after submission too (corrections
reuse the same steps). Everything here is a plain function over a Session.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain.reference import SCENARIOS
from portal.models import Application, CitizenAccount
from portal.services.events import Actor, record

# An application in one of these states no longer blocks a new one for the same deceased.
INACTIVE_STATUSES = ("draft", "completed", "refused", "withdrawn")


class NotFound(LookupError):
    """No such application for this account (shown as 404: never reveal someone else's)."""


@dataclass
class Draft:
    """The decrypted answers of an application and which steps were completed."""

    answers: dict[str, Any] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return json.dumps({"v": 1, "answers": self.answers, "done": self.done}, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Draft:
        if not raw:
            return cls()
        data = json.loads(raw.decode())
        return cls(answers=dict(data.get("answers") or {}), done=list(data.get("done") or []))


@dataclass(frozen=True)
class ApplicantFacts:
    name: str
    id_card: str | None
    phone: str | None


def applicant_facts(session: Session, vault: Vault, account_id: int) -> ApplicantFacts:
    account = session.get(CitizenAccount, account_id)
    if account is None:
        raise NotFound(account_id)
    return ApplicantFacts(name=account.name, id_card=vault.open(account.id_card_enc), phone=vault.open(account.phone_enc))


def open_draft(session: Session, account_id: int) -> Application | None:
    """The account's open draft, newest first if a race ever made two."""
    return session.scalars(
        select(Application)
        .where(Application.account_id == account_id, Application.status == "draft")
        .order_by(Application.id.desc())
    ).first()


def start_draft(session: Session, vault: Vault, account_id: int,
                prefill: dict[str, Any] | None = None) -> Application:
    """Return the open draft, creating it (with its idempotency key and any `prefill`) when there is none."""
    existing = open_draft(session, account_id)
    if existing is not None:
        return existing
    app = Application(
        account_id=account_id,
        status="draft",
        channel="online",
        current_step="scenario",
        submit_key=secrets.token_urlsafe(24),
        draft_blob=vault.seal_bytes(Draft(answers=dict(prefill or {})).to_bytes()),
    )
    session.add(app)
    session.flush()
    return app


def owned(session: Session, app_id: int, account_id: int) -> Application:
    """The application if it belongs to this account; NotFound otherwise (404, not 403)."""
    app = session.get(Application, app_id)
    if app is None or app.account_id != account_id:
        raise NotFound(app_id)
    return app


def read_draft(vault: Vault, app: Application) -> Draft:
    return Draft.from_bytes(vault.open_bytes(app.draft_blob) if app.draft_blob else None)


SCENARIO_CODES = frozenset(s.code for s in SCENARIOS)


def write_draft(vault: Vault, app: Application, draft: Draft, *, current_step: str | None = None) -> None:
    app.draft_blob = vault.seal_bytes(draft.to_bytes())
    if current_step is not None:
        app.current_step = current_step
    d_id = draft.answers.get("d_id")
    if d_id and "deceased" in draft.done:
        app.deceased_bidx = vault.index(str(d_id))
    if draft.answers.get("scenario") in SCENARIO_CODES:  # a draft saved for later may hold a raw, invalid answer
        app.scenario = str(draft.answers["scenario"])
    hukou = str(draft.answers.get("d_hukou") or "")
    if ":" in hukou and "deceased" in draft.done:
        app.county_code, app.township = hukou.split(":", 1)


def save_step(vault: Vault, app: Application, step: str, values: dict[str, Any], owned_fields: tuple[str, ...],
              *, complete: bool) -> Draft:
    """Replace the answers a step owns with `values`; mark the step done when `complete`."""
    draft = read_draft(vault, app)
    for name in owned_fields:
        draft.answers.pop(name, None)
    draft.answers.update({k: v for k, v in values.items() if v is not None and v != ""})
    if complete and step not in draft.done:
        draft.done.append(step)
    if not complete and step in draft.done:
        draft.done.remove(step)
    write_draft(vault, app, draft, current_step=step)
    return draft


def active_for_deceased(session: Session, vault: Vault, id_card: str, *, exclude_id: int | None = None) -> Application | None:
    """An application in progress for the same deceased 身份证号 (blind index lookup)."""
    bidx = vault.index(id_card)
    query = select(Application).where(
        Application.deceased_bidx == bidx, Application.status.not_in(INACTIVE_STATUSES)
    )
    if exclude_id is not None:
        query = query.where(Application.id != exclude_id)
    return session.scalars(query.order_by(Application.id)).first()


IN_PROGRESS_CHECK = "citizen:deceased:in_progress_check"


def find_in_progress(session: Session, vault: Vault, actor: Actor, id_card: str, *,
                     exclude_id: int | None = None) -> Application | None:
    """`active_for_deceased`, with every look-up in the event log: asking whether someone's case is
    in progress tells whether that person has died, so who asked is kept (never the number).
    The caller throttles it (portal/services/throttle.py, limit `in_progress`)."""
    other = active_for_deceased(session, vault, id_card, exclude_id=exclude_id)
    log_in_progress_check(session, actor, other)
    return other


def log_in_progress_check(session: Session, actor: Actor, other: Application | None) -> None:
    """Record one look-up; a hit goes on that case's staff timeline, so the window knows."""
    if other is None:
        record(session, actor, IN_PROGRESS_CHECK, "核对逝者是否已有申请在办理：没有", after={"found": False})
        return
    same = other.account_id == actor.id
    summary = ("申请人再次填写了这位逝者的身份证号码，已提示申请正在办理中" if same else
               "另一个账户填写了这位逝者的身份证号码，已告知对方申请正在办理中（未显示申请内容）")
    record(session, actor, IN_PROGRESS_CHECK, summary, application_id=other.id,
           after={"found": True, "same_account": same})
