"""Receipts (回执): the view-model from the database, verification tokens, and a PDF cache.

* `receipt_view` turns an application's rows into a `pdf.ReceiptView` (labels instead of codes,
  personal numbers decrypted and paired with their masked form).
* `current_receipt` issues one `Receipt` per state of the family's answers (`answers_digest`),
  with an unguessable token for the QR code (`secrets.token_urlsafe(24)`, 192 bits); issuing a
  new one marks the older ones superseded, so a receipt printed before a correction says so
  when scanned. Department progress (status, deadlines) does not make a receipt outdated.
* `prepare_pdf` reads a copy's values and issues its token (a short write transaction), then
  `render_pdf` renders it (family / archive) after the commit and caches it; `prerender` fills
  the cache with the family copy right after a submission or a correction, so the first
  download is instant.

Cache decision: PDFs are cached **on disk** under ``VAR_DIR/receipts/<application id>/``,
**encrypted with the vault** (`Vault.seal_bytes`, AES-256-GCM). On disk because the portal
may run several workers (no state in process memory, DESIGN.md) and a render costs 0.2–0.35 s
of CPU; encrypted because both copies carry personal data (names, addresses, the archive copy
full 身份证号 and bank account), which must not lie in clear on disk any more than in the
database. Decrypting ~120 KB costs well under a millisecond. The cache key is (application id,
version, copy, digest of the view-model): a new application version — or any change of the
printed values — renders afresh, and older files of that application are removed.

Rendering is CPU-bound: callers run it in a worker thread (the web layer's `page` handlers
already run in Starlette's thread pool). A per-key lock makes two concurrent requests for the
same copy in one process render once; across processes the atomic rename makes a duplicate
render harmless.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Collection
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pdf.receipt import MatterLine, ReceiptView, Recipient, Sensitive
from portal.crypto import Vault
from portal.db import transaction
from portal.domain import application_form, clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.deadlines import promise_text
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    CHANNELS,
    PENSION_TYPES,
    certificate_name,
    ethnicity_name,
    label_for,
)
from portal.domain.validators import mask_name
from portal.models import Application, Receipt, utcnow
from portal.services import pii
from portal.services.deadlines import promises

log = logging.getLogger("portal.receipts")

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

# Overall application status in words, as the printed receipt and its verification page say it
# (family-facing, naming the township window). Anything else reads “办理中”.
STATUS_WORDS: dict[str, str] = {
    st.APP_DRAFT: "草稿，尚未提交",
    st.APP_SUBMITTED: "已提交，等待乡镇（街道）受理",
    st.APP_RETURNED: "已退回，请按要求补正后重新提交",
    st.APP_ACCEPTED: "已受理，各部门办理中",
    st.APP_COMPLETED: "全部办结",
}


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(status or "", "办理中")


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


def restrict(value: Any, full: Collection[str]) -> Any:
    """The view with every personal number not in `full` masked in the archive copy too."""
    if isinstance(value, Sensitive):
        return value if value.key in full else replace(value, full=value.masked)
    if is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: restrict(getattr(value, f.name), full) for f in fields(value)
                   if isinstance(getattr(value, f.name), Sensitive) or is_dataclass(getattr(value, f.name))}
        return replace(value, **changed) if changed else value
    return value


# --- tokens -------------------------------------------------------------------------


def current_receipt(session: Session, application: Application, digest: str) -> Receipt:
    """The receipt for the application's current answers (`digest`), issuing one if needed.

    Issuing marks every earlier receipt of the application superseded. Runs in the caller's
    transaction; on PostgreSQL the application row is locked so two workers cannot issue two
    receipts for the same answers.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Application.id).where(Application.id == application.id).with_for_update())
    existing = session.scalar(
        select(Receipt)
        .where(Receipt.application_id == application.id, Receipt.answers_digest == digest,
               Receipt.superseded_at.is_(None))
        .order_by(Receipt.id)
        .limit(1)
    )
    if existing is not None:
        return existing
    session.execute(
        update(Receipt)
        .where(Receipt.application_id == application.id, Receipt.superseded_at.is_(None))
        .values(superseded_at=utcnow())
    )
    receipt = Receipt(application_id=application.id, app_version=application.version, answers_digest=digest,
                      token=secrets.token_urlsafe(24), created_at=utcnow())
    session.add(receipt)
    session.flush()
    return receipt


def receipt_for(session: Session, vault: Vault, application: Application, settings: Any) -> Receipt:
    """The current receipt of an application (issued now if its answers changed since the last)."""
    return current_receipt(session, application, answers_digest(receipt_view(session, vault, application, settings, token="")))


def verify_url(settings: Any, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/verify/{token}"


# --- the view-model -----------------------------------------------------------------


def receipt_view(session: Session, vault: Vault, application: Application, settings: Any,
                 *, token: str | None = None) -> ReceiptView:
    """Build the printable view of a submitted application (raises ValueError for drafts)."""
    if not application.number or application.deceased is None:
        raise ValueError("only submitted applications have a receipt")
    if token is None:
        token = receipt_for(session, vault, application, settings).token
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
        applicant_id=_sensitive(vault, application, "applicant_id"),
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
    )


def _digest(data: dict[str, Any]) -> str:
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def view_digest(view: ReceiptView) -> str:
    """A short fingerprint of every printed value (except the print time)."""
    data = asdict(view)
    data.pop("generated_at", None)
    return _digest(data)


def answers_digest(view: ReceiptView) -> str:
    """A fingerprint of what the family stated: everything but status, deadlines and the print."""
    data = asdict(view)
    for key in ("generated_at", "status", "verify_url"):
        data.pop(key, None)
    data["matters"] = [(m["name"], m["department"], m["automatic"]) for m in data["matters"]]
    return _digest(data)


# --- the PDF cache ------------------------------------------------------------------

_locks_guard = threading.Lock()
_locks: dict[tuple[int, str], threading.Lock] = {}


def _key_lock(application_id: int, copy: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault((application_id, copy), threading.Lock())


def cache_dir(settings: Any, application_id: int) -> Path:
    return Path(settings.var_dir) / "receipts" / str(int(application_id))


@dataclass(frozen=True)
class PdfJob:
    """What rendering one copy needs, read and issued inside a short transaction."""

    application_id: int
    copy: str
    view: ReceiptView
    path: Path


def prepare_pdf(session: Session, vault: Vault, application: Application, settings: Any, *, copy: str,
                full: Collection[str] | None = None) -> PdfJob:
    """Read the printed values and issue the current receipt token (a write) in the caller's
    transaction. The caller commits before `render_pdf`, so no write lock is held while the
    PDF renders (on SQLite, 50 families downloading at once otherwise wait past the busy
    timeout: `database is locked`). `full` (archive copy) names the personal numbers printed
    in full; the others are masked as on screen (None: all, for the window's own use).
    """
    from pdf.receipt import COPIES

    if copy not in COPIES:
        raise ValueError(copy)
    draft = receipt_view(session, vault, application, settings, token="")
    receipt = current_receipt(session, application, answers_digest(draft))
    view = replace(draft if full is None else restrict(draft, full), verify_url=verify_url(settings, receipt.token))
    path = cache_dir(settings, application.id) / f"v{application.version}-{copy}-{view_digest(view)}.pdf.sealed"
    return PdfJob(application.id, copy, view, path)


def family_copy(session: Session, vault: Vault, settings: Any, application_id: int,
                account_id: int) -> PdfJob | None:
    """The family copy of a submitted application of this account, prepared (None: not theirs,
    or not submitted; shown as 404). The caller commits, then renders."""
    application = session.get(Application, application_id)
    if application is None or application.account_id != account_id or not application.number:
        return None
    return prepare_pdf(session, vault, application, settings, copy="family")


def render_pdf(job: PdfJob, vault: Vault) -> bytes:
    """The PDF bytes of a prepared copy: from the cache, or rendered now (0.2–0.35 s of CPU).

    Touches no database: call it after the transaction of `prepare_pdf` has committed, from a
    worker thread. A cache that cannot be written (full disk) only costs the next download a
    render; the PDF is still served.
    """
    from pdf.receipt import render_receipt

    path, folder, name = job.path, job.path.parent, job.path.name
    with _key_lock(job.application_id, job.copy):
        try:
            return vault.open_bytes(path.read_bytes())
        except FileNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - a corrupt or foreign cache file is just re-rendered
            path.unlink(missing_ok=True)
        pdf = render_receipt(job.view, copy=job.copy)  # type: ignore[arg-type]
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(vault.seal_bytes(pdf))
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("receipt cache not written for application %s: %s", job.application_id, exc)
            tmp.unlink(missing_ok=True)
            return pdf
        for old in folder.glob(f"*-{job.copy}-*.pdf.sealed"):
            if old.name != name:
                old.unlink(missing_ok=True)
        return pdf


RENDER_KIND = "receipt.render"


def queue_render(session: Session, application: Application) -> None:
    """Have the worker render the family copy after this transaction commits (submit, correction)."""
    from portal.services import jobs

    jobs.enqueue(session, RENDER_KIND, {"application_id": application.id})


def get_pdf(session: Session, vault: Vault, application: Application, settings: Any, *, copy: str,
            full: Collection[str] | None = None) -> bytes:
    """`prepare_pdf` and `render_pdf` in one call, for scripts and tests that hold no write
    lock worth releasing. Web handlers and `prerender` commit in between.
    """
    return render_pdf(prepare_pdf(session, vault, application, settings, copy=copy, full=full), vault)


def prerender(db: sessionmaker[Session], vault: Vault, settings: Any, application_id: int, *,
              strict: bool = False) -> None:
    """Render the family copy into the cache now, so the family's first download is a cached one.

    The worker runs it after a submission or a correction (`strict`: a failure is raised, so the
    job retries); otherwise a failure is only logged and the download renders the receipt itself.
    """
    try:
        with transaction(db) as session:
            application = session.get(Application, application_id)
            if application is None or not application.number:
                return
            job = prepare_pdf(session, vault, application, settings, copy="family")
        render_pdf(job, vault)
    except Exception:  # noqa: BLE001 - best effort, see above
        if strict:
            raise
        log.exception("receipt prerender failed for application %s", application_id)


# --- verification -------------------------------------------------------------------


def verify(session: Session, vault: Vault, settings: Any, token: str) -> dict[str, Any] | None:
    """What the public verification page may show for a token, or None if unknown.

    Only: whether it is current, the 编号, the submission date, the deceased's masked name
    and the overall status in words.
    """
    if not token or len(token) > 64:
        return None
    receipt = session.scalar(select(Receipt).where(Receipt.token == token))
    if receipt is None:
        return None
    application = session.get(Application, receipt.application_id)
    if application is None or not application.number:
        return None
    now = answers_digest(receipt_view(session, vault, application, settings, token=""))
    current = receipt.superseded_at is None and receipt.answers_digest == now
    name = application.deceased.name if application.deceased else ""
    return {
        "current": current,
        "number": application.number,
        "submitted_on": fmt_date(application.submitted_at or application.created_at),
        "deceased": mask_name(name) if name else "",
        "status": status_words(application.status),
        "issued_on": fmt_date(receipt.created_at),
    }


def download_filename(number: str, copy: str = "family") -> str:
    stem = "身后一件事回执" if copy == "family" else "身后一件事登记表存档联"
    return f"{stem}-{number}.pdf"
