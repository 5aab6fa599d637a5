"""SMS through a real HTTP gateway on 127.0.0.1: retries, dead letters, rate limits, one text per batch."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from portal.db import transaction
from portal.domain import clock
from portal.models import Application, Job, Notification
from portal.services import jobs, notifications
from portal.worker import work
from tests.fake_sms_gateway import Gateway, running
from tests.helpers import login
from tests.integration.factories import new_application


def _gateway_settings(settings, gateway: Gateway, **changes):  # type: ignore[no-untyped-def]
    return replace(settings, sms_gateway_url=gateway.url, sms_gateway_key=gateway.key, sms_timeout_seconds=0.3,
                   job_poll_seconds=0.01, **changes)


def _queue_text(db, vault, body: str) -> int:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        notifications.queue_sms(s, s.get(Application, app_id), body)
    return app_id


def _work_over(settings, hours: int) -> None:  # type: ignore[no-untyped-def]
    """Run the worker at successive clock times, as the hours pass (no sleeping)."""
    start = clock.now()
    for minutes in range(0, hours * 60 + 1, 30):
        with clock.frozen(start + timedelta(minutes=minutes)):
            work(settings, threading.Event(), idle_exit=True)


def test_gateway_failing_twice_then_succeeding_delivers_once(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Gateway(script=["500", "500"])) as gw:
        app_id = _queue_text(db, vault, "您的申请已受理。")
        _work_over(_gateway_settings(settings, gw), hours=1)
    texts = [c for c in gw.delivered if "您的申请已受理" in c["text"]]
    assert len(gw.calls) >= 3 and len(texts) == 1
    assert texts[0]["phone"] == "19900000001" and texts[0]["sign"] == "身后一件事"
    with db() as s:
        note = s.scalar(select(Notification).where(Notification.application_id == app_id,
                                                   Notification.body.contains("已受理")))
        assert note.status == "sent" and note.phone_bidx


def test_gateway_that_never_answers_leaves_the_text_in_the_dead_letters(db, vault, settings, client) -> None:  # type: ignore[no-untyped-def]
    with running(Gateway(script=["hang"] * 20, hang_seconds=1.0)) as gw:
        app_id = _queue_text(db, vault, "请补正材料。")
        _work_over(_gateway_settings(settings, gw), hours=10)
    assert gw.delivered == []
    with db() as s:
        job = s.scalar(select(Job).where(Job.kind == notifications.FLUSH_KIND,
                                         Job.payload["application_id"].as_integer() == app_id))
        assert job.status == jobs.DEAD and "TimeoutError" in (job.last_error or "")
        note = s.scalar(select(Notification).where(Notification.application_id == app_id,
                                                   Notification.body.contains("请补正")))
        assert note.status == "failed"
    login(client, "admin")
    page = client.get("/admin/jobs?status=dead")
    assert page.status_code == 200 and "TimeoutError" in page.text and "发送短信" in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    retried = client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    with db() as s:
        assert s.get(Job, job.id).status == jobs.QUEUED


def test_per_number_rate_limit_makes_texts_wait(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Gateway()) as gw:
        st = _gateway_settings(settings, gw, sms_per_number_per_hour=2)
        for i in range(3):
            _queue_text(db, vault, f"第{i}条。")
        with clock.frozen(clock.now()):
            work(st, threading.Event(), idle_exit=True)
        assert len(gw.delivered) == 2  # the demo families share one phone: the third waits
        with db() as s:
            waiting = s.scalar(select(Job).where(Job.kind == notifications.FLUSH_KIND, Job.status == jobs.QUEUED))
            assert waiting is not None and waiting.attempts == 0
        _work_over(st, hours=2)
        assert len(gw.delivered) == 3


def test_gateway_429_is_honoured_without_using_up_attempts(db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Gateway(script=["429", "429", "429"])) as gw:
        _queue_text(db, vault, "限流测试。")
        _work_over(_gateway_settings(settings, gw), hours=2)
    assert len(gw.delivered) == 1
    with db() as s:
        job = s.scalar(select(Job).where(Job.kind == notifications.FLUSH_KIND, Job.status == jobs.DONE))
        assert job.attempts == 1


def test_texts_never_end_in_doubled_punctuation(db, vault) -> None:  # type: ignore[no-untyped-def]
    body = notifications.combined_body([notifications.SIGN + "第一条。", notifications.SIGN + "第二条。"])
    assert "。。" not in body and body.startswith(notifications.SIGN)
