"""Webhooks out: department systems that prefer push get every change of their tasks, signed.

A client registers a URL (API or back office) and receives a secret once. Every committed task
change queues one delivery job per matching subscription (portal/services/task_feed.py); the
worker POSTs the task's current state as a CloudEvent (structured JSON) and signs it:

    Shenhou-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

A 2xx answer ends the job; anything else is retried with the queue's backoff (about 10 s, 20 s,
40 s … up to `MAX_ATTEMPTS`), then the job is dead and shows on /admin/jobs, where an
administrator can send it again. 410 Gone ends the subscription. Deliveries are at least once,
not in order: the event `id` (task and feed position) and `data.change_seq` let a receiver
drop a repeat or an older state.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain.api_scope import ClientScope
from portal.models import ApiClient, DepartmentTask, WebhookSubscription
from portal.services import jobs, task_views
from portal.services.errors import Invalid, NotFound
from portal.services.events import Actor, record
from portal.services.task_feed import DELIVER_KIND

EVENT_TYPE = "cn.gov.wenzhou.shenhou.task.changed"
SIGNATURE_HEADER = "Shenhou-Signature"
MAX_PER_CLIENT = 5
TIMEOUT_SECONDS = 10.0


class DeliveryFailed(RuntimeError):
    """The receiver did not take the event (an HTTP status, or no answer): retried by the queue."""


# --- subscriptions --------------------------------------------------------------------------------

NOT_PUBLIC = "推送地址必须是以 https:// 开头的互联网地址，不能指向本机或内网"


def _check_url(url: str, *, public_only: bool) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500 or parts.username or parts.password:
        raise Invalid({"url": "请填写接收推送的完整网址，以 https:// 开头（不含用户名和密码），最多 500 个字符"})
    if public_only and (parts.scheme != "https" or not _public_name(parts.hostname)):
        raise Invalid({"url": NOT_PUBLIC})
    return url


def _public_name(host: str) -> bool:
    """False for this machine and for inside addresses written as such (an IP literal or localhost);
    a name is looked up again before every delivery (`private_target`)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True


def private_target(url: str) -> bool:
    """Whether the URL's host is, or resolves to, an address that is not on the internet (loopback,
    private, link-local, reserved): in production the portal must not be turned into a probe of its
    own network (server-side request forgery)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not _public_name(host):
        return True
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return False  # no answer: the delivery fails by itself and is retried
    return any(not ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_global for info in infos)


def subscribe(session: Session, vault: Vault, actor: Actor, client_record_id: int,
              url: str, *, public_only: bool = False) -> tuple[WebhookSubscription, str]:
    """A new subscription of the client: (row, secret). The secret is sealed at rest and shown once."""
    url = _check_url(url, public_only=public_only)
    active = subscriptions(session, client_record_id)
    if len(active) >= MAX_PER_CLIENT:
        raise Invalid({"url": f"每个客户端最多登记 {MAX_PER_CLIENT} 个推送地址，请先删除不用的"})
    secret = "whsec_" + secrets.token_urlsafe(32)
    sealed = vault.seal(secret)
    assert sealed is not None
    sub = WebhookSubscription(client_id=client_record_id, url=url, secret_enc=sealed, active=True, created_at=clock.now())
    session.add(sub)
    session.flush()
    record(session, actor, "api:webhook:add", f"登记推送地址 {url[:200]}", after={"subscription_id": sub.id, "url": url})
    return sub, secret


def subscriptions(session: Session, client_record_id: int | None = None) -> list[WebhookSubscription]:
    """The active subscriptions of one client (or of every client, for administrators)."""
    query = select(WebhookSubscription).where(WebhookSubscription.active.is_(True)).order_by(WebhookSubscription.id)
    if client_record_id is not None:
        query = query.where(WebhookSubscription.client_id == client_record_id)
    return list(session.scalars(query))


def unsubscribe(session: Session, actor: Actor, subscription_id: int, client_record_id: int | None = None) -> None:
    """End a subscription (of this client; None: an administrator, any client's)."""
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None or not sub.active or client_record_id not in (None, sub.client_id):
        raise NotFound()
    sub.active = False
    record(session, actor, "api:webhook:remove", f"删除推送地址 {sub.url[:200]}", after={"subscription_id": sub.id})


# --- delivery ---------------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (documented in docs/api.md): recompute, compare, refuse stale timestamps."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def _json_default(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def event_body(session: Session, task: DepartmentTask) -> bytes:
    data = task_views.views(session, [task])[0]
    event = {"specversion": "1.0", "id": f"task-{task.id}-{task.change_seq or 0}", "source": "/api/v1/tasks",
             "type": EVENT_TYPE, "subject": str(task.id), "time": clock.as_china(task.updated_at).isoformat(),
             "datacontenttype": "application/json", "data": data}
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


@jobs.handler(DELIVER_KIND, "推送事项变化")
def deliver(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    """POST the task's current state to one subscriber; raise (to retry) unless it answered 2xx."""
    sub = session.get(WebhookSubscription, int(payload["subscription_id"]))
    task = session.get(DepartmentTask, int(payload["task_id"]))
    client = session.get(ApiClient, sub.client_id) if sub is not None else None
    if sub is None or not sub.active or client is None or not client.active or task is None:
        return  # unsubscribed or revoked since: nothing to send
    scope = ClientScope(client.client_id, client.name, client.department, client.county_code, client.id)
    if not scope.may_work_task(task.department, task.county_code):
        return
    settings = ctx.extras.get("settings")
    if settings is not None and settings.production and private_target(sub.url):
        raise DeliveryFailed(NOT_PUBLIC + "，已拒绝发送")
    secret = ctx.extras["vault"].open(sub.secret_enc)
    body = event_body(session, task)
    headers = {"Content-Type": "application/cloudevents+json; charset=utf-8", "User-Agent": "shenhou-portal-webhooks/1",
               SIGNATURE_HEADER: signature(secret, int(time.time()), body), "Shenhou-Delivery": str(ctx.job_id)}
    try:
        answer = httpx.post(sub.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: 推送地址没有应答") from None
    if answer.status_code == 410:
        sub.active = False  # the receiver says the subscription is gone
        return
    if answer.status_code == 429 and answer.headers.get("retry-after", "").isdigit():
        raise jobs.RetryLater(int(answer.headers["retry-after"]))
    if not 200 <= answer.status_code < 300:
        raise DeliveryFailed(f"推送地址回答 HTTP {answer.status_code}")
