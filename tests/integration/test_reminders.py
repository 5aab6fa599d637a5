"""Family reminders on the right day, once (the clock is moved, nothing sleeps)."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, time, timedelta

from sqlalchemy import select

from portal.db import transaction
from portal.domain import clock
from portal.models import Application, Notification
from portal.services import reminders
from portal.worker import work
from tests.integration.factories import new_application


def _texts(db, app_id: int, needle: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with db() as s:
        return list(s.scalars(select(Notification).where(Notification.application_id == app_id,
                                                         Notification.body.contains(needle))))


def _death_day(db, app_id: int):  # type: ignore[no-untyped-def]
    with db() as s:
        return s.get(Application, app_id).deceased.death_time.date()


def test_hukou_reminder_goes_out_a_week_before_the_30_day_limit_once(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "medical", "pension"}, days_ago=1)
    died = _death_day(db, app_id)
    for day in (20, 22):
        with clock.frozen(datetime.combine(died + timedelta(days=day), time(9, 0))), transaction(db) as s:
            reminders.send_due(s, settings.base_url)
    assert _texts(db, app_id, "户口") == []
    with clock.frozen(datetime.combine(died + timedelta(days=23), time(9, 0))):  # 30 - 7 days
        work(replace(settings, job_poll_seconds=0.01), threading.Event(), idle_exit=True)  # the schedule fires it
    sent = _texts(db, app_id, "户口")
    assert len(sent) == 1 and "30日内" in sent[0].body and sent[0].status == "sent"
    due = died + timedelta(days=30)
    assert f"{due.month}月{due.day}日" in sent[0].body
    with clock.frozen(datetime.combine(died + timedelta(days=24), time(9, 0))), transaction(db) as s:
        assert reminders.send_due(s, settings.base_url) == 0  # once only


def test_no_hukou_reminder_when_the_family_asked_us_to_cancel_it(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, days_ago=1)
    died = _death_day(db, app_id)
    with clock.frozen(datetime.combine(died + timedelta(days=25), time(9, 0))), transaction(db) as s:
        reminders.send_due(s, settings.base_url)
    assert _texts(db, app_id, "户口") == []


def test_pension_deadline_reminder_when_not_applied_here(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, days_ago=1)
    died = _death_day(db, app_id)
    with clock.frozen(datetime.combine(died + timedelta(days=80), time(9, 0))), transaction(db) as s:
        reminders.send_due(s, settings.base_url)
    sent = _texts(db, app_id, "抚恤金")
    assert len(sent) == 1 and "去世后90天内" in sent[0].body  # the county's pension_claim_days


def test_a_draft_left_three_days_gets_a_link_back(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    from portal.services.applications import start_draft
    from portal.services.demo import DEMO_CITIZENS, ensure_account

    name, id_no, phone = DEMO_CITIZENS["zj-u-0001"]
    with transaction(db) as s:
        account = ensure_account(s, vault, "zj-u-0001", name, id_no, phone, issuer=settings.oidc_issuer)
        draft = start_draft(s, vault, account.id)
    later = clock.as_china(draft.updated_at) + timedelta(days=3, hours=1)
    with clock.frozen(later), transaction(db) as s:
        assert reminders.send_due(s, settings.base_url) == 1
        assert reminders.send_due(s, settings.base_url) == 0
    sent = _texts(db, draft.id, "还没有提交")
    assert len(sent) == 1 and settings.base_url + "/apply" in sent[0].body and sent[0].phone_enc
