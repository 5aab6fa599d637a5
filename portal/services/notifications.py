"""SMS to families: an outbox in the database, a sender interface, a development sender.

Messages are queued in the same transaction as the change they report (so a rolled-back change
never sends a text). Delivery is separate: `deliver(session, sender, vault)` hands queued rows to
a `Sender`. There is no real SMS gateway: `DevSender` only records that a message was "sent",
and the administrator's outbox page (/admin/outbox) shows every message.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.models import Application, Notification, Party

SIGN = "【身后一件事】"


class Sender(Protocol):
    """Delivers one text; raises on failure (the row is then marked failed)."""

    def send(self, phone: str | None, body: str) -> None: ...


class DevSender:
    """Development sender: nothing leaves the machine; the outbox row itself is the record."""

    def __init__(self) -> None:
        self.sent: list[tuple[str | None, str]] = []

    def send(self, phone: str | None, body: str) -> None:
        self.sent.append((phone, body))


def family_phone_enc(application: Application) -> str | None:
    """The applicant's phone (sealed), else the recipient's."""
    parties = {p.role: p for p in application.parties}
    for role in ("applicant", "recipient"):
        party = parties.get(role)
        if party is not None and party.phone_enc:
            return party.phone_enc
    return None


# A run of two or more punctuation marks, as when a reason typed with a final "。" is put before
# the template's own "。" or "，". Single marks (1,234.50 元) are never touched.
_PUNCT_RUN = re.compile(r"[。．.！!？?，,；;、：:]\s*(?:[。．.！!？?，,；;、：:]\s*)+")
_STRENGTH = ("？?", "！!", "。．.", "；;", "，,", "、", "：:")  # the strongest mark of a run is kept


def _one_mark(match: re.Match[str]) -> str:
    run = match.group(0)
    for marks in _STRENGTH:
        if any(m in run for m in marks):
            return marks[0]
    return run  # pragma: no cover - every mark is in _STRENGTH


def tidy(body: str) -> str:
    """One punctuation mark where words typed by staff meet the template's: "…户口簿。。请" -> "…户口簿。请"."""
    return _PUNCT_RUN.sub(_one_mark, body.strip())


def queue_sms(session: Session, application: Application, body: str) -> Notification:
    """Put one text for the family into the outbox (same transaction as the change).

    Every text passes here, so this is where its punctuation is tidied.
    """
    note = Notification(application_id=application.id, channel="sms", phone_enc=family_phone_enc(application),
                        body=SIGN + tidy(body), status="queued")
    session.add(note)
    return note


def deliver(session: Session, sender: Sender, vault: Vault, *, limit: int = 100) -> int:
    """Hand queued messages to `sender`; returns how many were sent."""
    rows = session.scalars(
        select(Notification).where(Notification.status == "queued").order_by(Notification.id).limit(limit)
    ).all()
    sent = 0
    for row in rows:
        try:
            sender.send(vault.open(row.phone_enc), row.body)
        except Exception:  # noqa: BLE001 - any gateway failure marks the row, others carry on
            row.status = "failed"
            continue
        row.status = "sent"
        row.sent_at = datetime.now(timezone.utc)
        sent += 1
    return sent


def outbox(session: Session, *, status: str | None = None, limit: int = 200) -> list[Notification]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    return list(session.scalars(query))


def applicant(application: Application) -> Party | None:
    return next((p for p in application.parties if p.role == "applicant"), None)


# --- wording (warm and plain; no personal numbers in a text message) ------------------------

def msg_submitted(number: str) -> str:
    return (f"您好，我们已收到您的身后事联办申请，编号{number}。乡镇（街道）窗口会尽快受理，"
            "之后各部门分头办理，每一步都会短信告诉您。请节哀，多保重。")


def msg_accepted(number: str, first_deadline: str) -> str:
    return (f"您好，您提交的身后事联办申请（编号{number}）已受理。各部门会在承诺时限内办理，"
            f"最早的事项预计{first_deadline}前办好。进度可随时在“我的申请”里查看，不用再跑腿。")


def msg_app_returned(number: str, reason: str) -> str:
    return (f"您好，您提交的申请（编号{number}）还需要补充一点内容：{reason}。"
            "请登录“我的申请”，按提示修改后重新提交。给您添麻烦了。")


def msg_task_returned(number: str, matter: str, step: str, reason: str) -> str:
    return (f"您好，“{matter}”需要您补正：{reason}。请登录“我的申请”，修改“{step}”后重新提交；"
            f"其他事项照常办理。编号{number}。")


def msg_task_done(number: str, matter: str, summary: str) -> str:
    detail = f"{summary}。" if summary else ""
    return f"您好，“{matter}”已办结。{detail}编号{number}，详情可在“我的申请”里查看。"


def msg_task_refused(number: str, matter: str, reason: str) -> str:
    return (f"您好，很抱歉，“{matter}”这次不能办理，原因：{reason}。"
            f"如有疑问，请拨打12345咨询。编号{number}。")


def msg_all_done(number: str) -> str:
    return f"您好，您的申请（编号{number}）所有事项都已办结。感谢您的耐心，请多保重。"
