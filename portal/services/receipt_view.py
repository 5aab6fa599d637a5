"""The receipt's values (回执 / 登记表存档联): an application's rows turned into a `pdf.ReceiptView`.

Labels instead of codes, dates in Chinese (China time), the promised date of each matter, the
notes 注1-7 that apply, and personal numbers paired with their masked form (`restrict` masks
those a staff member may not see in full on the archive copy). Reads only; the tokens, the PDF
cache and verification are in portal.services.receipts.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields, is_dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from pdf.receipt import MatterLine, ReceiptView, Recipient, Sensitive
from portal.crypto import Vault
from portal.domain import application_form, clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.deadlines import promise_text
from portal.domain.documents import mask_document
from portal.domain.form_steps import declared
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    CHANNELS,
    PENSION_TYPES,
    certificate_name,
    ethnicity_name,
    label_for,
)
from portal.models import Application, utcnow
from portal.services import pii
from portal.services.deadlines import promises

DECLARATION = application_form.DECLARATION  # verbatim from the seed, one copy for form and receipt

# 注1-7 of 附件1 as printed for the family. 注6 (“表格样式供参考，各地可结合本地实际调整完善”) speaks
# to the localities, not to the family, so it is not printed.
NOTES: dict[str, str] = {
    "注1": "请亲属30日内及时办理遗产处理等相关事宜，公安机关将根据《浙江省常住户口登记管理规定》，对死亡公民户口进行注销。",
    "注2": "人力社保部门从即日起将处理死者相关社保待遇，请亲属先办理参保人未完成的医疗费用报销手续后，"
           "再尽快办理丧葬费、抚恤金等相关待遇申领手续。",
    "注3": "抚恤金领取人必须为亡故人的直系亲属，包括配偶、子女、父母、孙子女、外孙子女等。",
    "注4": "医保部门在亡故人医疗个人账户清算为负数的情况下，将从养老丧葬、抚恤费直接扣回。",
    "注5": "民政、退役等部门从即日起将处理属特殊人群死者的相关待遇。",
    "注7": "本表原件一式两份，一份由丧属保存，一份由乡镇（街道）编号存档，以备查询。"
           "网上申请的，本回执即丧属保存联，可扫码核验真伪。",
}

def status_words(status: str | None) -> str:
    return st.APP_RECEIPT_LABELS.get(status or "", "办理中")


def channel_words(code: str | None) -> str:
    """The channel as the receipt prints it: the vocabulary's label without its note in brackets
    (窗口代办, not 窗口代办（家属到场）), as printed since the first receipt (it is in the digest)."""
    return _label(CHANNELS, code).split("（")[0] if code else ""


def fmt_datetime(dt: datetime | None, *, naive_is_local: bool = False) -> str:
    """2026年11月22日 14:05 in China time. Naive values are UTC unless `naive_is_local`."""
    if dt is None:
        return ""
    if naive_is_local and dt.tzinfo is None:
        return f"{clock.cn_date(dt.date())} {dt:%H:%M}"
    return clock.cn_datetime(dt)


def fmt_date(d: date | datetime | None) -> str:
    if isinstance(d, datetime):
        d = clock.as_china(d).date()
    return clock.cn_date(d)


def _label(options: tuple[tuple[str, str], ...], code: str | None) -> str:
    if not code:
        return ""
    try:
        return label_for(options, code)
    except KeyError:
        return code


# The personal numbers the receipt prints (portal.services.pii.FIELDS keys).
PRINTED = frozenset({"deceased_id", "deceased_certificate", "applicant_id", "applicant_phone",
                     "recipient_id", "recipient_account"})


def _sensitive(vault: Vault, application: Application, key: str) -> Sensitive:
    """A printed personal number: in full for the archive copy, masked as on every screen."""
    plain = pii.opened(application, vault, key)
    return Sensitive(plain, pii.mask(pii.FIELDS[key].kind, plain), key)


def _applicant_document(session: Session, vault: Vault, application: Application) -> Sensitive:
    """The applicant's 身份证号, or the document the window saw when it was not one (代办: a passport, …)."""
    from portal.services import proxy

    row = proxy.proxy_row(session, application.id) if application.entered_by_staff_id else None
    if row is None or row.id_type == 1:
        return _sensitive(vault, application, "applicant_id")
    doc = proxy.document_of(vault, row)
    return Sensitive(f"{doc.label} {doc.number}", mask_document(doc), "applicant_id")


def restrict(value: Any, full: Collection[str]) -> Any:
    """The view with every personal number not in `full` masked in the archive copy too."""
    if isinstance(value, Sensitive):
        return value if value.key in full else replace(value, full=value.masked)
    if is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: restrict(getattr(value, f.name), full) for f in fields(value)
                   if isinstance(getattr(value, f.name), Sensitive) or is_dataclass(getattr(value, f.name))}
        return replace(value, **changed) if changed else value
    return value


def verify_url(settings: Any, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/verify/{token}"


# --- the view-model -----------------------------------------------------------------


def receipt_view(session: Session, vault: Vault, application: Application, settings: Any,
                 *, token: str = "") -> ReceiptView:
    """Build the printable view of a submitted application (raises ValueError for drafts).

    `token` is the verification token for the QR code; callers build the view without one,
    issue the token for its digest (portal.services.receipts) and put it in with `replace`.
    """
    if not application.number or application.deceased is None:
        raise ValueError("only submitted applications have a receipt")
    cat = default_catalogue()
    d = application.deceased
    parties = {p.role: p for p in application.parties}
    applicant = parties.get("applicant")
    recipient_row = parties.get("recipient")
    tasks = {t.matter_code: t for t in application.tasks}
    promised = promises(application)  # the dates of the confirmation and progress pages

    try:
        county = cat.county(application.county_code or d.hukou_county).name
    except KeyError:
        county = application.county_code or ""
    try:
        hukou_county = cat.county(d.hukou_county).name
    except KeyError:
        hukou_county = d.hukou_county
    try:
        ethnicity = ethnicity_name(d.ethnicity)
    except KeyError:
        ethnicity = d.ethnicity

    matter_codes = [m.matter_code for m in application.matters] or list(tasks)
    automatic = {m.matter_code for m in application.matters if m.automatic}
    order = {m.code: i for i, m in enumerate(cat.matters)}
    lines: list[MatterLine] = []
    def is_auto(c: str) -> bool:
        return c in automatic or (c in order and not cat.matter(c).requestable)

    for code in sorted(set(matter_codes), key=lambda c: (is_auto(c), order.get(c, 999))):
        try:
            matter = cat.matter(code)
            name, days = matter.name, matter.time_limit_days
            dept_code = matter.department
        except KeyError:
            name, days, dept_code = code, 0, ""
        task = tasks.get(code)
        dept_code = task.department if task is not None else dept_code
        try:
            department = cat.department(dept_code).name
        except KeyError:
            department = dept_code
        promise = promised.get(code)
        deadline = promise_text(promise) if promise else ("即办" if days == 0 else f"受理后{days}个工作日内")
        lines.append(MatterLine(name=name, department=department, deadline=deadline,
                                automatic=is_auto(code)))

    codes = set(matter_codes)
    notes = ["注1"]
    if codes & {"pension", "medical"}:
        notes.append("注2")
    if recipient_row is not None or "pension" in codes:
        notes.append("注3")
    if {"pension", "medical"} <= codes:
        notes.append("注4")
    if codes & {"veteran", "disability", "assistance"}:
        notes.append("注5")
    notes.append("注7")

    recipient = None
    if recipient_row is not None:
        recipient = Recipient(
            name=recipient_row.name,
            relation=_label(APPLICANT_RELATIONS, recipient_row.relation),
            id_card=_sensitive(vault, application, "recipient_id"),
            bank_name=recipient_row.bank_name or "",
            bank_account=_sensitive(vault, application, "recipient_account"),
            needs_review=recipient_row.needs_review,
        )

    specials = [label for flag, label in ((d.is_veteran, "优抚对象"), (d.has_disability_cert, "持有残疾人证"),
                                          (d.receives_assistance, "享受低保或特困供养")) if flag]
    submitted = application.submitted_at or application.created_at
    return ReceiptView(
        number=application.number,
        submitted_at=fmt_datetime(submitted),
        status=status_words(application.status),
        county=county,
        township=application.township or d.hukou_township or "",
        verify_url=verify_url(settings, token),
        applicant_name=applicant.name if applicant else "",
        applicant_phone=_sensitive(vault, application, "applicant_phone"),
        applicant_id=_applicant_document(session, vault, application),
        applicant_address=(applicant.address or "") if applicant else "",
        applicant_relation=_label(APPLICANT_RELATIONS, applicant.relation) if applicant else "",
        recipient=recipient,
        public_institution=d.pension_type == "public_institution",
        deceased_name=d.name,
        gender=d.gender,
        age=f"{d.age}岁",
        ethnicity=ethnicity,
        deceased_id=_sensitive(vault, application, "deceased_id"),
        hukou=" ".join(x for x in (hukou_county, d.hukou_township, d.hukou_address or "") if x),
        temp_township=d.temp_township or "无",
        death_time=fmt_datetime(d.death_time, naive_is_local=True),
        death_cause=d.death_cause,
        certificate_name=certificate_name(d.certificate_type, d.death_time.date() if d.death_time else None),
        certificate_no=_sensitive(vault, application, "deceased_certificate"),
        pension_type=_label(PENSION_TYPES, d.pension_type),
        special_groups="、".join(specials) or "无",
        body_at_funeral_home=bool(d.body_at_funeral_home),
        funeral_home=d.funeral_home or "",
        pickup_address=d.pickup_address or "",
        pickup_time=fmt_datetime(d.pickup_time, naive_is_local=True),
        ashes_category=_label(ASHES_CATEGORIES, d.ashes_category),
        ashes_place=d.ashes_place,
        procession_route=d.procession_route or "无",
        civil_pledge=("已阅读并签署《文明治丧承诺书》" + (f"（{fmt_datetime(d.civil_pledge_at)}）" if d.civil_pledge_at else "")),
        matters=tuple(lines),
        declaration=DECLARATION,
        signed=(f"{applicant.name}（" if applicant else "（")
        + ("浙江政务服务网实名认证，在线确认）" if application.channel == "online" else "窗口工作人员代办，现场签名为准）"),
        applied_on=fmt_date(submitted),
        notes=tuple((n, NOTES[n]) for n in notes),
        channel=channel_words(application.channel),
        generated_at=fmt_datetime(utcnow()),
        extra=declared.printed({"deceased": d, "applicant": applicant}),
    )
