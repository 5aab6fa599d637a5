"""Reminders the worker sends families once a day (schedule `family-reminders`, 09:00 China time).

* 户口注销 within 30 days of the death (注1), when the family did not ask us to do it: a week
  before the limit;
* 丧葬补助金、抚恤金 within about 3 months (注2/注3), when the family did not apply here: two
  weeks before;
* a draft left untouched for 3 days: a link back to it (it resumes on any device after login).

Each reminder is sent at most once per application: it is recorded as an event
(`system:reminder:<kind>`) in the same transaction as its text, and a later run skips it.
A run that missed its day still sends a reminder whose limit has not passed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain import clock, family_deadlines
from portal.domain import status as st
from portal.models import Application, ApplicationMatter, CitizenAccount, Event
from portal.services import jobs, notifications
from portal.services.events import SYSTEM, record

HUKOU_LEAD_DAYS = 7
PENSION_LEAD_DAYS = 14
DRAFT_IDLE_DAYS = 3


@dataclass(frozen=True)
class Due:
    kind: str
    application: Application
    text: str
    phone_enc: str | None = None


def _already(session: Session, app_id: int, kind: str) -> bool:
    return session.scalar(select(Event.id).where(Event.application_id == app_id,
                                                 Event.tag == f"system:reminder:{kind}").limit(1)) is not None


def _matters(session: Session, app_id: int) -> set[str]:
    return set(session.scalars(select(ApplicationMatter.matter_code).where(ApplicationMatter.application_id == app_id)))


def _deadline_reminders(session: Session, app: Application, today: date) -> list[Due]:
    if app.deceased is None or app.number is None:
        return []
    died = app.deceased.death_time.date()
    matters = _matters(session, app.id)
    found = []
    hukou = family_deadlines.personal_deadlines(died, matters)[0]  # 户口注销 is always the first (注1)
    if "hukou" not in matters and hukou.due is not None \
            and hukou.due - timedelta(days=HUKOU_LEAD_DAYS) <= today <= hukou.due:
        days = (hukou.due - died).days  # the county's limit (content/policy_params.toml), as the plan says it
        found.append(Due("hukou", app, notifications.msg_remind_hukou(app.number, st.cn_date(hukou.due), days)))
    if "pension" not in matters:
        due = family_deadlines.personal_deadlines(died, {"pension"})[-1].due  # 丧葬补助金、抚恤金申领
        if due is not None and due - timedelta(days=PENSION_LEAD_DAYS) <= today <= due:
            found.append(Due("pension", app, notifications.msg_remind_pension(app.number, st.cn_date(due),
                                                                              (due - died).days)))
    return found


def due_reminders(session: Session, base_url: str) -> list[Due]:
    """Every reminder that should go out today and has not gone out before."""
    today = clock.today()
    found: list[Due] = []
    window_start = clock.now() - timedelta(days=120)  # no limit here is further than ~3 months
    for app in session.scalars(select(Application).where(Application.status != "draft",
                                                         Application.submitted_at >= window_start)):
        found.extend(_deadline_reminders(session, app, today))
    idle_since = clock.now() - timedelta(days=DRAFT_IDLE_DAYS)
    drafts = session.execute(
        select(Application, CitizenAccount.phone_enc).join(CitizenAccount, CitizenAccount.id == Application.account_id)
        .where(Application.status == "draft", Application.updated_at <= idle_since,
               Application.updated_at >= idle_since - timedelta(days=30))
    ).all()
    for app, phone_enc in drafts:
        found.append(Due("draft", app, notifications.msg_remind_draft(base_url.rstrip("/") + "/apply"), phone_enc))
    return [d for d in found if not _already(session, d.application.id, d.kind)]


def send_due(session: Session, base_url: str) -> int:
    """Queue today's reminders (each in the outbox, each recorded); returns how many."""
    sent = 0
    for due in due_reminders(session, base_url):
        notifications.queue_sms(session, due.application, due.text, phone_enc=due.phone_enc)
        record(session, SYSTEM, f"system:reminder:{due.kind}", REMINDER_SUMMARY[due.kind],
               application_id=due.application.id, public=due.kind != "draft")
        sent += 1
    return sent


REMINDER_SUMMARY = {
    "hukou": "短信提醒家属：户口注销的期限快到了（注1）",
    "pension": "短信提醒家属：丧葬补助金、抚恤金申领的期限快到了",
    "draft": "短信提醒家属：还有一份没有提交的申请",
}


@jobs.handler("reminders.family", "给家属发期限提醒")
def reminders_job(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    send_due(session, ctx.extras["settings"].base_url)
