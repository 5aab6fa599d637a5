"""One case number everywhere: staff find a case by its 编号, by the deceased's 身份证号 or by the
applicant's phone (both through their blind index, never in clear), or by the deceased's name —
and see only the cases their role, county and department allow (disclosure.may_view).

Every search is in the event log with the kind of key typed, never the key itself: a look-up
by a personal number tells that this person died, so who asked is kept.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.idcard import parse_id
from portal.domain.validators import FieldError, check_phone
from portal.models import Application, Deceased, Party
from portal.services import pii
from portal.services.casework import StaffLike, staff_actor
from portal.services.disclosure import may_view
from portal.services.events import record
from portal.services.queues import NUMBER_RE, matching_applications
from portal.services.window import CHANNELS

MAX_HITS = 50
KIND_WORDS = {"number": "编号", "deceased_id": "逝者身份证号", "phone": "申请人手机号", "name": "逝者姓名或编号片段"}


@dataclass(frozen=True)
class CaseHit:
    application_id: int
    number: str
    deceased: str
    status: str
    channel: str
    submitted_on: str


@dataclass(frozen=True)
class SearchResult:
    kind: str  # number | deceased_id | phone | name | "" (nothing typed)
    hits: list[CaseHit]

    @property
    def kind_words(self) -> str:
        return KIND_WORDS.get(self.kind, "")


def classify(q: str) -> tuple[str, str]:
    """What the typed text is, and its normalised form."""
    text = "".join(q.split())
    if NUMBER_RE.match(text.upper()):
        return "number", text.upper()
    try:
        return "deceased_id", parse_id(text).number
    except FieldError:
        pass
    try:
        return "phone", check_phone(text)
    except FieldError:
        pass
    return "name", q.strip()


def _ids_for(session: Session, vault: Vault, kind: str, key: str) -> list[int]:
    if kind == "number":
        return list(session.scalars(select(Application.id).where(Application.number == key)))
    if kind == "deceased_id":
        bidx = pii.index(vault, pii.Kind.ID_CARD, key)
        ids = set(session.scalars(select(Application.id).where(Application.deceased_bidx == bidx)))
        ids |= set(session.scalars(select(Deceased.application_id).where(Deceased.id_card_bidx == bidx)))
        return sorted(ids)
    if kind == "phone":
        bidx = pii.index(vault, pii.Kind.PHONE, key)
        return sorted(set(session.scalars(select(Party.application_id).where(
            Party.phone_bidx == bidx, or_(Party.role == "applicant", Party.role == "recipient")))))
    return matching_applications(session, key)


def find_cases(session: Session, vault: Vault, staff: StaffLike, q: str, *, ip: str | None = None) -> SearchResult:
    """The cases matching `q` that this staff member may see, newest first."""
    q = (q or "").strip()[:60]
    if not q:
        return SearchResult("", [])
    kind, key = classify(q)
    ids = _ids_for(session, vault, kind, key)
    apps = session.scalars(select(Application).where(Application.id.in_(ids), Application.number.is_not(None))
                           .order_by(Application.id.desc())).all() if ids else []
    visible = [a for a in apps if a.status != st.APP_DRAFT and may_view(a, staff)][:MAX_HITS]
    record(session, staff_actor(staff, ip), "staff:case:search", f"按{KIND_WORDS[kind]}查找案件，找到 {len(visible)} 件",
           after={"kind": kind, "found": len(visible)})
    return SearchResult(kind, [CaseHit(
        a.id, a.number or "", a.deceased.name if a.deceased else "",
        st.APP_STAFF_LABELS.get(a.status, a.status), CHANNELS.get(a.channel, a.channel),
        clock.cn_date(clock.as_china(a.submitted_at).date()) if a.submitted_at else "") for a in visible])
