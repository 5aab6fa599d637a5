"""Webhooks out, against a real HTTP receiver on 127.0.0.1: signed deliveries of the department's
task changes, retries with backoff, dead letters for administrators, unsubscribing."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from portal.domain import clock
from portal.models import Job
from portal.services import jobs, webhooks
from portal.services.task_feed import DELIVER_KIND
from portal.worker import work
from tests.conftest import csrf_from
from tests.fake_webhook_receiver import Receiver, running
from tests.helpers import login
from tests.integration.api_support import client_headers
from tests.integration.test_api_tasks import accepted, task_id


def _work(settings, *, hours: float = 0) -> None:  # type: ignore[no-untyped-def]
    """Run the worker now, and then as the hours pass (no sleeping)."""
    quick = replace(settings, job_poll_seconds=0.01)
    start = clock.now()
    for minutes in range(0, int(hours * 60) + 1, 10):
        with clock.frozen(start + timedelta(minutes=minutes)):
            work(quick, threading.Event(), idle_exit=True)


def _subscribe(client, headers, url: str) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/webhooks/{r.json()['id']}"
    return str(r.json()["secret"])


def _verified(secret: str, headers: dict[str, str], body: bytes) -> dict:  # type: ignore[type-arg]
    """Check the signature as docs/api.md tells a receiver to, independently of the portal's code."""
    fields = dict(part.split("=", 1) for part in headers["shenhou-signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "signature does not verify"
    assert webhooks.verify(secret, headers["shenhou-signature"], body)
    assert not webhooks.verify("whsec_wrong", headers["shenhou-signature"], body)
    assert not webhooks.verify(secret, headers["shenhou-signature"], body + b" ")
    return json.loads(body)  # type: ignore[no-any-return]


def test_signed_deliveries_of_own_tasks_only(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Receiver()) as receiver:
        yibao = client_headers(client, db, "yibao", "330302")
        secret = _subscribe(client, yibao, receiver.url)
        listed = client.get("/api/v1/webhooks", headers=yibao).json()["items"]
        assert [h["url"] for h in listed] == [receiver.url] and "secret" not in listed[0]
        app_id = accepted(db, vault)  # submitted (tasks created), then accepted (tasks start)
        accepted(db, vault, "330381")  # 瑞安: not this client's
        medical = task_id(db, app_id, "medical")
        _work(settings)
    assert receiver.accepted, "nothing was delivered"
    events = [_verified(secret, h, b) for h, b in receiver.accepted]
    assert {e["data"]["id"] for e in events} == {medical}
    assert {(e["data"]["department"], e["data"]["county_code"]) for e in events} == {("yibao", "330302")}
    last = max(events, key=lambda e: e["data"]["change_seq"])
    assert last["specversion"] == "1.0" and last["type"] == webhooks.EVENT_TYPE and last["data"]["status"] == "pending"
    assert last["id"] == f"task-{medical}-{last['data']['change_seq']}"
    assert all(h["content-type"].startswith("application/cloudevents+json") for h, _ in receiver.accepted)
    # the data is what GET /api/v1/tasks/{id} answers
    assert client.get(f"/api/v1/tasks/{medical}", headers=yibao).json() == last["data"]


def test_failed_deliveries_retry_with_backoff_then_die_visibly(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Receiver(script=[500, 503])) as receiver:
        gongan = client_headers(client, db, "gongan", "330302")
        secret = _subscribe(client, gongan, receiver.url)
        app_id = accepted(db, vault)
        _work(settings, hours=0.5)
    statuses = [json.loads(b)["data"]["id"] for _, b in receiver.calls]
    assert len(receiver.calls) == len(receiver.accepted) + 2  # two failures, then every delivery went through
    assert set(statuses) == {task_id(db, app_id, "hukou")}
    for h, b in receiver.accepted:
        _verified(secret, h, b)
    with db() as s:
        kinds = [j for j in s.scalars(select(Job).where(Job.kind == DELIVER_KIND))]
        assert kinds and all(j.status == jobs.DONE for j in kinds)
    hook_id = client.get("/api/v1/webhooks", headers=gongan).json()["items"][0]["id"]
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=gongan).status_code == 204

    with running(Receiver(always=500)) as down:
        renshe = client_headers(client, db, "renshe", "330302")
        _subscribe(client, renshe, down.url)
        accepted(db, vault)
        _work(settings, hours=24)
    with db() as s:
        dead = [j for j in s.scalars(select(Job).where(Job.kind == DELIVER_KIND, Job.status == jobs.DEAD))]
    assert dead and all(j.attempts == j.max_attempts for j in dead)
    assert len(down.calls) == sum(j.attempts for j in dead)
    assert "HTTP 500" in (dead[0].last_error or "")
    login(client, "admin")
    page = client.get("/admin/jobs?status=dead")
    assert page.status_code == 200 and "推送事项变化" in page.text and "HTTP 500" in page.text and "查看申请" in page.text


def test_410_ends_the_subscription_and_429_waits_without_using_an_attempt(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.fake_webhook_receiver import Receiver as R

    with running(R(always=410)) as gone:
        yibao = client_headers(client, db, "yibao", "330302")
        _subscribe(client, yibao, gone.url)
        accepted(db, vault)
        _work(settings)
    assert gone.calls and client.get("/api/v1/webhooks", headers=yibao).json()["items"] == []
    with db() as s:
        assert {j.status for j in s.scalars(select(Job).where(Job.kind == DELIVER_KIND))} == {jobs.DONE}

    class Busy(R):
        def next_status(self) -> int:
            return 429 if len(self.calls) < 2 else 204

    with running(Busy()) as busy:
        renshe = client_headers(client, db, "renshe", "330302")
        _subscribe(client, renshe, busy.url)
        accepted(db, vault)
        _work(settings, hours=1)
    assert len(busy.calls) > len(busy.accepted) >= 1
    with db() as s:
        done = [j for j in s.scalars(select(Job).where(Job.kind == DELIVER_KIND, Job.payload["subscription_id"].as_integer()
                                                      == client.get("/api/v1/webhooks", headers=renshe).json()["items"][0]["id"]))]
    assert done and all(j.status == jobs.DONE for j in done)


def test_unsubscribed_and_revoked_clients_get_nothing(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    with running(Receiver()) as receiver:
        yibao = client_headers(client, db, "yibao", "330302")
        _subscribe(client, yibao, receiver.url)
        hook_id = client.get("/api/v1/webhooks", headers=yibao).json()["items"][0]["id"]
        assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=yibao).status_code == 204
        assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=yibao).status_code == 404
        accepted(db, vault)
        _work(settings)
    assert receiver.calls == []
    with db() as s:
        assert s.scalar(select(Job).where(Job.kind == DELIVER_KIND)) is None  # nothing was even queued
    r = client.post("/api/v1/webhooks", json={"url": "ftp://example.gov.cn/x"}, headers=yibao)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "url"


def test_administrators_register_and_remove_webhooks(client, db, vault, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.api_support import open_client

    client_id, _ = open_client(db, "gongan", "330302", name="鹿城公安户籍系统")
    login(client, "admin")
    token = csrf_from(client.get("/admin/api-clients").text)
    r = client.post("/admin/api-clients/webhooks", data={"csrf_token": token, "client_id": client_id, "url": "notaurl"})
    assert r.status_code == 400 and "以 https:// 开头" in r.text
    with running(Receiver()) as receiver:
        r = client.post("/admin/api-clients/webhooks", data={"csrf_token": token, "client_id": client_id, "url": receiver.url})
        assert r.status_code == 200 and receiver.url in r.text
        secret = r.text.split("<dt>签名密钥</dt><dd><code>")[1].split("<")[0]
        accepted(db, vault)
        _work(settings)
        assert receiver.accepted
        for h, b in receiver.accepted:
            _verified(secret, h, b)
        page = client.get("/admin/api-clients").text
        assert secret not in page and receiver.url in page
        hook_id = page.split("/admin/api-clients/webhooks/")[1].split("/")[0]
        assert client.post(f"/admin/api-clients/webhooks/{hook_id}/delete", data={"csrf_token": token}).status_code == 303
        assert "还没有登记推送地址" in client.get("/admin/api-clients").text
