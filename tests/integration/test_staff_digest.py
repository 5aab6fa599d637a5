"""Officers hear about tomorrow's and overdue work; long-overdue work reaches the administrators once."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, time

from sqlalchemy import select

from portal.db import transaction
from portal.domain import clock
from portal.domain import status as st
from portal.domain.workdays import add_working_days
from portal.models import DepartmentTask, Event, Notification
from portal.services import digest
from portal.worker import work
from tests.helpers import login
from tests.integration.factories import new_application, tasks_by_matter

TODAY = datetime(2026, 12, 8, 8, 30)  # a Tuesday


def _set_task(db, app_id: int, matter: str, deadline) -> int:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        task = tasks_by_matter(s, app_id)[matter]
        task.status, task.deadline = st.PENDING, deadline
        return task.id


def _work(settings, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(at):
        work(replace(settings, job_poll_seconds=0.01, duty_phones="renshe@330302=13800000001,admin@330302=13800000009"),
             threading.Event(), idle_exit=True)


def test_daily_digest_texts_the_duty_phone_and_shows_on_the_officers_desk(db, vault, settings, client) -> None:  # type: ignore[no-untyped-def]
    today = TODAY.date()
    a, b, c = (new_application(db, vault) for _ in range(3))
    _set_task(db, a, "pension", add_working_days(today, 1))
    _set_task(db, b, "pension", add_working_days(today, 1))
    _set_task(db, c, "pension", date(2026, 12, 4))
    _set_task(db, c, "hukou", add_working_days(today, 1))  # another department: not in 人社's text
    with db() as s:
        lines = {(d.department, d.county_code): d for d in digest.queue_digests(s, today)}
    assert lines[("renshe", "330302")].due_next == 2 and lines[("renshe", "330302")].overdue == 1
    _work(settings, TODAY)
    with db() as s:
        texts = [n for n in s.scalars(select(Notification).where(Notification.application_id.is_(None)))
                 if "下一个工作日到期" in n.body]
    assert len(texts) == 1 and texts[0].status == "sent"
    assert "人力资源和社会保障局" in texts[0].body and "到期 2 件，已超期 1 件" in texts[0].body
    assert vault.open(texts[0].phone_enc) == "13800000001"
    with clock.frozen(TODAY):  # signed in on that day too: sessions keep the same clock
        login(client, "officer-renshe")
        home = client.get("/admin")
    assert "下一个工作日到期：<strong>2</strong> 件" in home.text


def test_long_overdue_tasks_are_escalated_once_to_the_county_admin(db, vault, settings, client) -> None:  # type: ignore[no-untyped-def]
    today = TODAY.date()
    late_app, recent_app = new_application(db, vault), new_application(db, vault)
    late = _set_task(db, late_app, "pension", date(2026, 12, 2))
    _set_task(db, recent_app, "pension", date(2026, 12, 7))
    at = datetime.combine(today, time(10, 0))
    _work(settings, at)
    with db() as s:
        events = list(s.scalars(select(Event).where(Event.tag == digest.ESCALATE_TAG)))
        assert [e.task_id for e in events] == [late]
        assert "超期 4 个工作日" in events[0].summary and events[0].public is False
        admin_texts = [n for n in s.scalars(select(Notification).where(Notification.application_id.is_(None)))
                       if "请督办" in n.body]
        assert len(admin_texts) == 1 and vault.open(admin_texts[0].phone_enc) == "13800000009"
    _work(settings, datetime.combine(add_working_days(today, 1), time(10, 0)))
    with db() as s:  # the next day: the late task is not reported again
        assert s.scalar(select(Event.id).where(Event.tag == digest.ESCALATE_TAG, Event.task_id == late)
                        .offset(1)) is None
    login(client, "admin")
    home = client.get("/admin")
    assert "已上报的超期事项（1 件）" in home.text and f"/admin/applications/{late_app}" in home.text
    with transaction(db) as s:
        task = s.get(DepartmentTask, late)
        task.status = st.DONE
    assert "已上报的超期事项" not in client.get("/admin").text
