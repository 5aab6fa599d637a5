"""代办: a window clerk fills in the one application for a family that came to the window or
phoned, with the same steps and checks as the family's own (services/applications.py,
domain/application_form.py) — only who acts and where the applicant's identity comes from differ.

The applicant's identity is the document the clerk saw (any of 浙江政务服务网's six types, a
passport included), sealed and blind-indexed; the case has no account until the family logs in
with the same document (`claim_on_login`), or is linked at once when that account exists.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.documents import Document, check_document, document_key, mask_document
from portal.domain.reference import CHANNELS
from portal.domain.validators import FieldError, check_name, check_phone
from portal.models import Application, CitizenAccount, ProxyApplicant
from portal.services import pii
from portal.services.applications import ApplicantFacts, Draft
from portal.services.casework import StaffLike, staff_actor
from portal.services.errors import Invalid, NotFound
from portal.services.events import Actor, record

PROXY_CHANNELS = tuple((code, label) for code, label in CHANNELS if code != "online")
CONSENT_WAYS = (("in_person", "申请人在窗口当面同意，并将在登记表上签名"),
                ("phone", "申请人在电话中同意（已告知用途，登记表由家属到窗口或上门时签名）"))
CONSENT_TEXT = ("申请人同意由窗口工作人员代为填写身后“一件事”联办申请，同意本平台为办理这些事项使用其证件号码"
                "和手机号码，并向相关部门共享办理所需的信息。")


@dataclass(frozen=True)
class ProxyStart:
    """What the clerk types on the first screen of a 代办 (plain strings, as posted)."""

    channel: str
    name: str
    id_type: str
    id_no: str
    phone: str
    consent_how: str


def check_start(form: ProxyStart) -> tuple[Document, str, str]:
    """The document, the name and the phone, or Invalid with every field's message."""
    errors: dict[str, str] = {}
    if form.channel not in {c for c, _ in PROXY_CHANNELS}:
        errors["channel"] = "请选择代办方式：窗口代办或电话代办"
    name = phone = ""
    doc: Document | None = None
    try:
        name = check_name(form.name, label="申请人姓名")
    except FieldError as exc:
        errors["p_name"] = str(exc)
    try:
        doc = check_document(form.id_type, form.id_no)
    except FieldError as exc:
        errors["id_type" if "证件类型" in str(exc) else "id_no"] = str(exc)
    try:
        phone = check_phone(form.phone)
    except FieldError as exc:
        errors["p_phone"] = str(exc)
    if form.consent_how not in {c for c, _ in CONSENT_WAYS}:
        errors["consent_how"] = "请确认申请人已同意代办，并选择同意的方式"
    if errors or doc is None:
        raise Invalid(errors)
    return doc, name, phone


def document_index(vault: Vault, doc: Document) -> str:
    return vault.index(document_key(doc)) or ""


def start(session: Session, vault: Vault, staff: StaffLike, form: ProxyStart, *, ip: str | None = None) -> Application:
    """A new draft filled in by this clerk for the family; the applicant's identity and consent recorded."""
    doc, name, phone = check_start(form)
    bidx = document_index(vault, doc)
    account = session.scalar(select(CitizenAccount).where(CitizenAccount.id_card_bidx == bidx)) \
        if doc.is_id_card else None
    app = Application(account_id=account.id if account else None, status=st.APP_DRAFT, channel=form.channel,
                      entered_by_staff_id=staff.id, current_step="scenario", submit_key=secrets.token_urlsafe(24),
                      draft_blob=vault.seal_bytes(Draft().to_bytes()))
    session.add(app)
    session.flush()
    session.add(ProxyApplicant(
        application_id=app.id, staff_id=staff.id, county_code=staff.county_code, channel=form.channel, name=name,
        id_type=doc.id_type, document_enc=vault.seal(doc.number) or "", document_bidx=bidx,
        phone_enc=pii.seal(vault, pii.Kind.PHONE, phone).enc or "", consent_how=form.consent_how,
        consent_at=clock.now()))
    record(session, staff_actor(staff, ip), "staff:application:proxy_start",
           f"窗口代办：为申请人 {name}（{mask_document(doc)}）开始填写一表申请，申请人已同意代办"
           f"（{dict(CONSENT_WAYS)[form.consent_how][:8]}）",
           application_id=app.id, after={"channel": form.channel, "id_type": doc.id_type,
                                         "linked_account": account is not None, "consent": form.consent_how})
    if account is not None:
        record(session, staff_actor(staff, ip), "staff:application:proxy_link",
               "这份代办申请已关联到申请人本人的政务服务网账号，申请人登录后可查看进度", application_id=app.id,
               public=True)
    return app


def proxy_row(session: Session, app_id: int) -> ProxyApplicant | None:
    return session.scalar(select(ProxyApplicant).where(ProxyApplicant.application_id == app_id))


def may_continue(row: ProxyApplicant, staff: StaffLike) -> bool:
    """The clerk who started it, or a window clerk of the same county (a colleague takes over)."""
    return row.staff_id == staff.id or staff.may_accept(row.county_code)


def case_for(session: Session, staff: StaffLike, app_id: int) -> tuple[Application, ProxyApplicant]:
    """A 代办 draft this clerk may fill in; NotFound otherwise (also once it was submitted)."""
    row = proxy_row(session, app_id)
    if row is None or not may_continue(row, staff) or row.application.status != st.APP_DRAFT:
        raise NotFound()
    return row.application, row


def document_of(vault: Vault, row: ProxyApplicant) -> Document:
    return Document(row.id_type, vault.open(row.document_enc) or "")


def applicant_of(vault: Vault, row: ProxyApplicant) -> ApplicantFacts:
    """The applicant as the steps see them: the 身份证号 only when the document is one."""
    doc = document_of(vault, row)
    return ApplicantFacts(name=row.name, id_card=doc.number if doc.is_id_card else None,
                          phone=vault.open(row.phone_enc))


def claim_on_login(session: Session, vault: Vault, account: CitizenAccount, id_type: int,
                   document_no: str | None, actor: Actor) -> list[int]:
    """Link to this account every 代办 case whose applicant showed the same document and that
    has no account yet: the family then sees on their phone the case the window made."""
    if not document_no:
        return []
    try:
        doc = check_document(id_type, document_no)
    except FieldError:
        return []
    rows = session.scalars(
        select(ProxyApplicant).join(Application, Application.id == ProxyApplicant.application_id)
        .where(ProxyApplicant.document_bidx == document_index(vault, doc), Application.account_id.is_(None))
    ).all()
    for row in rows:
        row.application.account_id = account.id
        record(session, actor, "citizen:application:proxy_claim",
               "申请人登录政务服务网，看到了窗口代办的这份申请", application_id=row.application_id, public=True)
    return [r.application_id for r in rows]


def applicant_document_masked(session: Session, vault: Vault, app: Application) -> str | None:
    """The applicant's document as printed, when it is not a 身份证 (a passport, …); None otherwise."""
    row = proxy_row(session, app.id)
    if row is None or row.id_type == 1:
        return None
    return mask_document(document_of(vault, row))


@dataclass(frozen=True)
class OpenCase:
    id: int
    applicant: str
    channel: str
    started: str
    step: str


def open_cases(session: Session, staff: StaffLike) -> list[OpenCase]:
    """The 代办 drafts this clerk may continue, newest first."""
    rows = session.scalars(
        select(ProxyApplicant).join(Application, Application.id == ProxyApplicant.application_id)
        .where(Application.status == st.APP_DRAFT).order_by(ProxyApplicant.id.desc()).limit(50)
    ).all()
    labels = dict(CHANNELS)
    return [OpenCase(r.application_id, r.name, labels.get(r.channel, r.channel),
                     clock.cn_date(clock.as_china(r.created_at).date()), r.application.current_step or "scenario")
            for r in rows if may_continue(r, staff)]


def moved_to(session: Session, row: ProxyApplicant, case: Application) -> None:
    """The 代办 draft joined a proactive case (the same deceased was reported first): the case is
    now the one filled in at the window, and the family's login finds that one."""
    row.application_id = case.id
    case.channel, case.entered_by_staff_id = row.channel, row.staff_id


def record_print(session: Session, staff: StaffLike, app: Application, *, ip: str | None = None) -> None:
    record(session, staff_actor(staff, ip), "staff:application:print_form",
           f"打印了登记表（编号 {app.number}），供申请人签名", application_id=app.id)
