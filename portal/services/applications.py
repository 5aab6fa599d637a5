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
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.domain import application_form as steps
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.idcard import mask_id, parse_id
from portal.domain.reference import SCENARIOS
from portal.domain.validators import FieldError, mask_name
from portal.models import Application, CitizenAccount
from portal.services.events import Actor, record

# An application in one of these states no longer blocks a new one for the same deceased
# (the status machine, portal.domain.status, has no refused or withdrawn application). A proactive
# case (主动办) does not block either: the family's submission joins it (portal/services/proactive.py).
INACTIVE_STATUSES = (st.APP_DRAFT, st.APP_COMPLETED, st.APP_PROACTIVE, st.APP_MERGED)


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
        .where(Application.account_id == account_id, Application.status == st.APP_DRAFT)
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
        status=st.APP_DRAFT,
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


@dataclass(frozen=True)
class InProgress:
    """What a family is shown of a case in progress for the deceased they typed.

    Their own case in full; another family's shows nothing of it (no name, 编号, date, status
    or place): only what to do, with the window taken from what this family typed.
    """

    mine: bool
    deceased_id: str  # masked
    window: str = ""
    deceased_name: str = ""
    number: str | None = None
    submitted_on: str = ""
    status: str = ""
    county: str = ""
    township: str = ""
    id: int | None = None


def _county_name(code: str) -> str:
    try:
        return default_catalogue().county(code).name
    except KeyError:
        return ""


def in_progress_view(other: Application, account_id: int, answers: dict[str, Any]) -> InProgress:
    """The in-progress notice for `other`, as the account `account_id` may see it."""
    masked_id = mask_id(str(answers.get("d_id") or ""))
    if other.account_id != account_id:
        hukou = steps.hukou_parts(answers)
        return InProgress(False, masked_id, window=f"{_county_name(hukou[0])}{hukou[1]}" if hukou else "")
    return InProgress(
        True, masked_id,
        deceased_name=mask_name(other.deceased.name if other.deceased else str(answers.get("d_name") or "")),
        number=other.number,
        submitted_on=clock.cn_date(clock.as_china(other.submitted_at).date()) if other.submitted_at else "",
        status=st.APP_FAMILY_LABELS.get(other.status, "办理中"),
        county=_county_name(other.county_code or ""),
        township=other.township or "",
        id=other.id,
    )


def valid_id(raw: Any) -> str | None:
    """The 身份证号 as stored, or None when `raw` is not a valid one."""
    try:
        return parse_id(str(raw or "")).number
    except FieldError:
        return None


def saved_deceased_id(db: sessionmaker[Session], vault: Vault, account_id: int, app_id: int | None) -> str | None:
    """The deceased's number already in the account's draft (or in its application `app_id`)."""
    with db() as session:
        app = open_draft(session, account_id) if app_id is None else session.get(Application, app_id)
        if app is None or app.account_id != account_id:
            return None
        return valid_id(read_draft(vault, app).answers.get("d_id"))


def draft_in_progress(db: sessionmaker[Session], vault: Vault, account_id: int, actor: Actor) -> InProgress | None:
    """Showing the in-progress notice again for the draft's deceased (the look-up is logged);
    None when the draft is gone or nothing is in progress any more."""
    with db() as session, session.begin():
        app = open_draft(session, account_id)
        if app is None:
            return None
        answers = read_draft(vault, app).answers
        if not answers.get("d_id"):
            return None
        other = find_in_progress(session, vault, actor, str(answers["d_id"]), exclude_id=app.id)
        return in_progress_view(other, account_id, answers) if other is not None else None

