"""A phone for texts that is not the login phone (issue 15, item 4).

A family member may ask for the portal's texts to go to another mobile number (an older
relative's login phone may be a child's, or a number they no longer use). The number counts
only once the one-time code sent to it has been typed back: the code is six digits, kept as a
keyed hash (never in clear), valid for ten minutes, with five attempts; sending is throttled per
account and per number by the caller (web/text_phone.py, limit `sms_code`). The code is sent
by its own job (`sms.code`) through the same SMS gateway as every other text.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain.validators import FieldError, check_phone, mask_phone
from portal.models import CitizenAccount, Notification, TextPhone
from portal.services import jobs, pii
from portal.services.errors import Invalid
from portal.services.events import Actor, record
from portal.services.sms_gateway import Sender

CODE_KIND = "sms.code"
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
SIGN = "【身后一件事】"


def _hash(vault: Vault, row_id: int, code: str) -> str:
    return vault.index(f"sms-code:{row_id}:{code}") or ""


def active(session: Session, account_id: int | None) -> TextPhone | None:
    """The verified number texts go to for this account, if any."""
    if account_id is None:
        return None
    return session.scalars(select(TextPhone).where(
        TextPhone.account_id == account_id, TextPhone.verified_at.is_not(None), TextPhone.replaced_at.is_(None))
        .order_by(TextPhone.id.desc())).first()


def pending(session: Session, account_id: int) -> TextPhone | None:
    return session.scalars(select(TextPhone).where(
        TextPhone.account_id == account_id, TextPhone.verified_at.is_(None), TextPhone.code_hash.is_not(None))
        .order_by(TextPhone.id.desc())).first()


@dataclass(frozen=True)
class PhoneView:
    login_phone: str  # masked
    text_phone: str  # masked; "" when texts go to the login phone
    pending_phone: str  # masked; a code was sent and waits to be typed


def view(session: Session, vault: Vault, account_id: int) -> PhoneView:
    account = session.get(CitizenAccount, account_id)
    login = vault.open(account.phone_enc) if account is not None else None
    now_active, waiting = active(session, account_id), pending(session, account_id)
    waiting_live = waiting is not None and waiting.code_expires_at is not None and \
        clock.as_china(waiting.code_expires_at) > clock.now() and waiting.attempts < MAX_ATTEMPTS
    return PhoneView(mask_phone(login) if login else "",
                     mask_phone(vault.open(now_active.phone_enc) or "") if now_active else "",
                     mask_phone(vault.open(waiting.phone_enc) or "") if waiting is not None and waiting_live else "")


def checked_phone(raw: str | None) -> str:
    try:
        return check_phone(raw)
    except FieldError as exc:
        raise Invalid({"phone": str(exc)}) from None


def request_code(session: Session, vault: Vault, account_id: int, phone: str, actor: Actor) -> TextPhone:
    """Send a new code to `phone` (already checked); earlier unused codes stop working."""
    for old in session.scalars(select(TextPhone).where(TextPhone.account_id == account_id,
                                                       TextPhone.verified_at.is_(None))):
        old.code_hash, old.code_expires_at = None, None
    sealed = pii.seal(vault, pii.Kind.PHONE, phone)
    row = TextPhone(account_id=account_id, phone_enc=sealed.enc or "", phone_bidx=sealed.bidx or "", attempts=0)
    session.add(row)
    session.flush()
    code = f"{secrets.randbelow(10**6):06d}"
    row.code_hash = _hash(vault, row.id, code)
    row.code_expires_at = clock.now() + CODE_TTL
    note = Notification(application_id=None, channel="sms", phone_enc=row.phone_enc, status="queued",
                        body=f"{SIGN}您的验证码是 {code}，10分钟内有效。用于确认这个号码接收身后一件事的办理短信；"
                             "如不是您本人操作，请忽略。")
    session.add(note)
    session.flush()
    jobs.enqueue(session, CODE_KIND, {"notification_id": note.id})
    record(session, actor, "citizen:text_phone:code_sent", f"向 {mask_phone(phone)} 发送了短信验证码",
           after={"text_phone": row.id})
    return row


def verify(session: Session, vault: Vault, account_id: int, code: str, actor: Actor) -> str | None:
    """Check the code typed back; the number becomes the one texts go to. Returns what is wrong
    (None when confirmed); the caller commits either way, so a wrong attempt counts."""
    row = pending(session, account_id)
    typed = "".join(str(code or "").split())
    if row is None or row.code_expires_at is None or clock.as_china(row.code_expires_at) <= clock.now():
        return "验证码已过期或还没有发送，请重新获取验证码"
    if row.attempts >= MAX_ATTEMPTS:
        return "输错的次数太多了，这个验证码已失效，请重新获取"
    row.attempts += 1
    if not (typed.isdigit() and len(typed) == 6 and hmac.compare_digest(row.code_hash or "", _hash(vault, row.id, typed))):
        left = MAX_ATTEMPTS - row.attempts
        record(session, actor, "citizen:text_phone:code_wrong", "短信验证码输入错误", after={"text_phone": row.id})
        return (f"验证码不对，请对照短信再输入一次（还可以试 {left} 次）" if left else
                "输错的次数太多了，这个验证码已失效，请重新获取")
    now = clock.now()
    for old in session.scalars(select(TextPhone).where(TextPhone.account_id == account_id,
                                                       TextPhone.verified_at.is_not(None),
                                                       TextPhone.replaced_at.is_(None))):
        old.replaced_at = now
    row.verified_at, row.code_hash, row.code_expires_at = now, None, None
    record(session, actor, "citizen:text_phone:verified",
           f"办理短信改发到 {mask_phone(vault.open(row.phone_enc) or '')}（已用验证码确认）", after={"text_phone": row.id})
    return None


def stop(session: Session, account_id: int, actor: Actor) -> None:
    """Texts go to the login phone again."""
    row = active(session, account_id)
    if row is not None:
        row.replaced_at = clock.now()
        record(session, actor, "citizen:text_phone:stopped", "办理短信改回发到登录手机号")


def send_code(session: Session, sender: Sender, vault: Vault, notification_id: int) -> None:
    """The job: send one code text (once: a sent row is not sent again)."""
    note = session.get(Notification, notification_id)
    if note is None or note.status != "queued":
        return
    phone = vault.open(note.phone_enc) or ""
    sender.send(phone, note.body, ref=f"sms-{note.id}")
    note.status, note.sent_at, note.phone_bidx = "sent", clock.now(), vault.index(phone)
