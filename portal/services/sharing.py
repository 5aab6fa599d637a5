"""Acting for relatives (委托) and shared progress (issue 15, item 3): the applicant authorises a
family member by name, 身份证号 and phone; the rules of who may do what are in
portal/domain/delegation.py. Access is decided on every request from the live grants, so a
revocation works at once. Every grant, revocation and act of an agent is in the event log.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.delegation import ACCESS_KINDS, AGENT, VIEWER, Role, relation_allowed
from portal.domain.idcard import mask_id, parse_id
from portal.domain.reference import APPLICANT_RELATIONS
from portal.domain.validators import FieldError, check_name, check_phone, mask_phone
from portal.models import Application, CaseAccess, CitizenAccount
from portal.services import pii
from portal.services.errors import Invalid, NotFound
from portal.services.events import Actor, record

KIND_WORDS = {AGENT: "委托办理", VIEWER: "查看进度"}
RELATIONS = dict(APPLICANT_RELATIONS)


def _account_bidx(session: Session, account_id: int) -> str | None:
    account = session.get(CitizenAccount, account_id)
    return account.id_card_bidx if account is not None else None


def role_on(session: Session, app: Application, account_id: int) -> Role | None:
    """The signed-in person's role on this case, from the live grants (None: nothing)."""
    if app.account_id == account_id:
        return "owner"
    bidx = _account_bidx(session, account_id)
    if not bidx:
        return None
    kinds = set(session.scalars(select(CaseAccess.kind).where(
        CaseAccess.application_id == app.id, CaseAccess.id_card_bidx == bidx, CaseAccess.revoked_at.is_(None))))
    return "agent" if AGENT in kinds else "viewer" if VIEWER in kinds else None


def shared_case(session: Session, app_id: int, account_id: int) -> tuple[Application, Role]:
    """A case this person may open because it is theirs or shared with them; NotFound otherwise."""
    app = session.get(Application, app_id)
    role = role_on(session, app, account_id) if app is not None else None
    if app is None or role is None:
        raise NotFound()
    return app, role


@dataclass(frozen=True)
class SharedRow:
    application_id: int
    number: str
    deceased: str
    kind: str
    granted_by: str
    status_label: str
    may_continue: bool  # a draft this person was asked to continue (委托)


def shared_with(session: Session, account_id: int) -> list[SharedRow]:
    """Cases relatives shared with this person (for 我的申请)."""
    bidx = _account_bidx(session, account_id)
    if not bidx:
        return []
    rows = session.scalars(select(CaseAccess).where(CaseAccess.id_card_bidx == bidx, CaseAccess.revoked_at.is_(None))
                           .order_by(CaseAccess.id.desc())).all()
    out = []
    for row in rows:
        app = session.get(Application, row.application_id)
        owner = session.get(CitizenAccount, row.granted_by)
        if app is None or app.account_id == account_id:
            continue
        out.append(SharedRow(app.id, app.number or "", app.deceased.name if app.deceased else "",
                             KIND_WORDS.get(row.kind, row.kind), owner.name if owner else "",
                             st.APP_FAMILY_LABELS.get(app.status, app.status),
                             app.status == st.APP_DRAFT and row.kind == AGENT))
    return out


@dataclass(frozen=True)
class GrantForm:
    kind: str
    name: str
    relation: str
    id_no: str
    phone: str
    agreed: bool


@dataclass(frozen=True)
class GrantRow:
    id: int
    kind: str
    name: str
    relation: str
    id_masked: str
    phone_masked: str
    granted_on: str


def owned(session: Session, app_id: int, account_id: int) -> Application:
    app = session.get(Application, app_id)
    if app is None or app.account_id != account_id:
        raise NotFound()
    return app


def grants(session: Session, vault: Vault, app: Application) -> list[GrantRow]:
    rows = session.scalars(select(CaseAccess).where(CaseAccess.application_id == app.id,
                                                    CaseAccess.revoked_at.is_(None)).order_by(CaseAccess.id)).all()
    return [GrantRow(r.id, KIND_WORDS.get(r.kind, r.kind), r.name, RELATIONS.get(r.relation, r.relation),
                     mask_id(vault.open(r.id_card_enc) or ""), mask_phone(vault.open(r.phone_enc) or ""),
                     clock.cn_date(clock.as_china(r.granted_at).date())) for r in rows]


def grant(session: Session, vault: Vault, app_id: int, account_id: int, form: GrantForm, actor: Actor) -> CaseAccess:
    """The applicant authorises a relative (Invalid with every field's message)."""
    app = owned(session, app_id, account_id)
    errors: dict[str, str] = {}
    if form.kind not in {k for k, _ in ACCESS_KINDS}:
        errors["kind"] = "请选择授权他（她）做什么"
    name = id_no = phone = ""
    try:
        name = check_name(form.name, label="亲属姓名")
    except FieldError as exc:
        errors["g_name"] = str(exc)
    if form.relation not in RELATIONS:
        errors["g_relation"] = "请选择他（她）和逝者的关系"
    elif form.kind in (AGENT, VIEWER) and not relation_allowed(form.kind, form.relation):
        errors["g_relation"] = ("只能让逝者的配偶、子女、父母、孙子女或外孙子女查看进度（登记表注3）"
                                if form.kind == VIEWER else "请选择他（她）和逝者的关系")
    try:
        id_no = parse_id(form.id_no).number
        if pii.index(vault, pii.Kind.ID_CARD, id_no) == _account_bidx(session, account_id):
            errors["g_id"] = "这是您本人的身份证号码，请填写亲属的身份证号码"
    except FieldError as exc:
        errors["g_id"] = str(exc)
    try:
        phone = check_phone(form.phone)
    except FieldError as exc:
        errors["g_phone"] = str(exc)
    if not form.agreed:
        errors["agreed"] = "请确认您同意让这位亲属看到申请的办理情况"
    if errors:
        raise Invalid(errors)
    sealed = pii.seal(vault, pii.Kind.ID_CARD, id_no)
    row = CaseAccess(application_id=app.id, granted_by=account_id, kind=form.kind, name=name, relation=form.relation,
                     id_card_enc=sealed.enc or "", id_card_bidx=sealed.bidx or "",
                     phone_enc=pii.seal(vault, pii.Kind.PHONE, phone).enc or "", granted_at=clock.now())
    session.add(row)
    session.flush()
    record(session, actor, f"citizen:access:grant_{form.kind}",
           f"申请人授权{RELATIONS[form.relation]}{name}（{mask_id(id_no)}）{KIND_WORDS[form.kind]}",
           application_id=app.id, public=True, after={"access": row.id, "kind": form.kind, "relation": form.relation})
    return row


def revoke(session: Session, app_id: int, account_id: int, access_id: int, actor: Actor) -> CaseAccess:
    app = owned(session, app_id, account_id)
    row = session.get(CaseAccess, access_id)
    if row is None or row.application_id != app.id or row.revoked_at is not None:
        raise NotFound()
    row.revoked_at = clock.now()
    record(session, actor, f"citizen:access:revoke_{row.kind}",
           f"申请人取消了{row.name}的授权（{KIND_WORDS.get(row.kind, row.kind)}），即时生效",
           application_id=app.id, public=True, after={"access": row.id})
    return row


def record_view(session: Session, app_id: int, role: str, actor: Actor) -> None:
    """A relative opened the progress of a case shared with them (audited like every access)."""
    record(session, actor, "citizen:access:view", f"{KIND_WORDS.get(role, '亲属')}：亲属查看了办理进度",
           application_id=app_id)
