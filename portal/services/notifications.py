"""SMS to families: an outbox in the database, delivered by the background worker.

Messages are queued in the same transaction as the change they report, together with a
`sms.flush` job for the family (so a rolled-back change never sends a text). The worker's
flush sends every text queued for that family in one message (at most one text per family per
change batch), through the sender chosen by settings (portal/services/sms_gateway.py), never
more than SMS_PER_NUMBER_PER_HOUR to one number; failures are retried by the job system.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from portal.crypto import Vault
from portal.domain import clock
from portal.models import Application, Job, Notification
from portal.services import jobs, pii, text_phone
from portal.services.sms_gateway import DevSender, Sender

__all__ = ["DevSender", "Sender", "queue_sms", "deliver", "flush_family"]

SIGN = "【身后一件事】"
FLUSH_KIND = "sms.flush"


def family_phone_enc(application: Application) -> str | None:
    """The number the family asked texts to go to (verified, services/text_phone.py), else the
    applicant's phone (sealed), else the recipient's, else the next of kin a department named."""
    session = object_session(application)
    chosen = text_phone.active(session, application.account_id) if session is not None else None
    if chosen is not None:
        return chosen.phone_enc
    parties = {p.role: p for p in application.parties}
    for role in ("applicant", "recipient", "contact"):  # contact: the next of kin a proactive case was told of
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


def queue_sms(session: Session, application: Application, body: str, *, phone_enc: str | None = None) -> Notification:
    """Put one text for the family into the outbox, and its delivery job (same transaction).

    The text goes to the applicant (else the recipient); `phone_enc` overrides that, e.g. for a
    draft, which has no parties yet (the account's own phone). Every text passes here, so this
    is where its punctuation is tidied.
    """
    note = Notification(application_id=application.id, channel="sms",
                        phone_enc=phone_enc or family_phone_enc(application), body=SIGN + tidy(body), status="queued")
    session.add(note)
    already = any(isinstance(o, Job) and o.kind == FLUSH_KIND and o.payload.get("application_id") == application.id
                  for o in session.new)
    if not already:
        jobs.enqueue(session, FLUSH_KIND, {"application_id": application.id})
    return note


def combined_body(bodies: list[str]) -> str:
    """One text out of several queued together: the sign once, each message in turn."""
    parts = [b.removeprefix(SIGN) for b in bodies]
    return SIGN + "".join(parts)


def flush_family(session: Session, sender: Sender, vault: Vault, application_id: int | None, *,
                 per_hour: int = 5) -> int:
    """Send everything queued for one family as one text; returns how many rows it covered.

    Idempotent: rows already sent are not sent again; a second flush finds nothing queued.
    """
    rows = list(session.scalars(
        select(Notification).where(Notification.status == "queued", Notification.application_id == application_id)
        .order_by(Notification.id).with_for_update()
    ))
    if not rows:
        return 0
    phone = vault.open(rows[0].phone_enc) if rows[0].phone_enc else None
    bidx = vault.index(phone) if phone else None
    if bidx is not None and per_hour > 0:
        since = clock.now() - timedelta(hours=1)
        recent = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.phone_bidx == bidx, Notification.status == "sent", Notification.sent_at >= since)) or 0
        if recent >= per_hour:
            raise jobs.RetryLater(15 * 60)
    sender.send(phone, combined_body([r.body for r in rows]), ref=f"sms-{rows[0].id}")
    now = clock.now()
    for row in rows:
        row.status, row.sent_at, row.phone_bidx = "sent", now, bidx
    return len(rows)


def deliver(session: Session, sender: Sender, vault: Vault, *, limit: int = 100) -> int:
    """Send everything queued now, family by family (tests and `python -m portal worker --once`)."""
    families = session.scalars(
        select(Notification.application_id).where(Notification.status == "queued").distinct().limit(limit)
    ).all()
    return sum(flush_family(session, sender, vault, app_id, per_hour=0) for app_id in families)


def mark_failed(session: Session, payload: dict[str, Any], reason: str) -> None:
    """A flush that gave up: its texts show as failed in the outbox, with the job's reason."""
    for row in session.scalars(select(Notification).where(
            Notification.status == "queued", Notification.application_id == payload.get("application_id"))):
        row.status = "failed"


def outbox(session: Session, *, status: str | None = None, limit: int = 200) -> list[Notification]:
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status:
        query = query.where(Notification.status == status)
    return list(session.scalars(query))


@dataclass(frozen=True)
class OutboxItem:
    """One text as the administrator's outbox page shows it: the number masked, times in China time."""

    id: int
    application_id: int | None
    body: str
    status: str
    phone: str
    created: str
    sent: str


def outbox_items(session: Session, vault: Vault, *, limit: int = 200) -> list[OutboxItem]:
    return [OutboxItem(n.id, n.application_id, n.body, n.status,
                       pii.mask(pii.Kind.PHONE, vault.open(n.phone_enc)) or "未填写",
                       clock.cn_datetime(n.created_at), clock.cn_datetime(n.sent_at))
            for n in outbox(session, limit=limit)]


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
    return (f"您好，您的申请（编号{number}）所有事项都已办结。各项结果和您可能还需要自己办的事，"
            "已写在“我的申请”的办结告知里，可下载保存。感谢您的耐心，请多保重。")


def msg_remind_hukou(number: str, due: str, days: int) -> str:
    return (f"您好，按规定逝者的户口应在去世后{days}日内注销（{due}前），请带上死亡证明到户籍所在地派出所办理；"
            f"也可以在“我的申请”里补充申请，由公安部门办理。编号{number}。")


def msg_remind_pension(number: str, due: str, days: int) -> str:
    return (f"您好，逝者的丧葬补助金、抚恤金一般在去世后{days}天内申领（约{due}前），"
            f"具体以当地人社部门为准。如需帮助，请拨打12345。编号{number}。")


def msg_proactive_invite(number: str, county: str, link: str) -> str:
    return (f"您好，{county}各部门已收到您家人去世的信息，请节哀。户口注销、待遇停发等已主动为您办理（编号{number}），"
            f"不用您跑。丧葬费、抚恤金、医保等还需要您确认，已知的信息都已填好，点此补充后提交：{link}")


def msg_fact_reported(number: str, what: str) -> str:
    return f"您好，{what}。编号{number}，详情可在“我的申请”里查看。"


def msg_remind_draft(link: str) -> str:
    return f"您好，您有一份身后事联办申请还没有提交，填过的内容都已保存。方便时登录后继续填写：{link}"
