"""/api/v1/webhooks: a department system registers where its task changes are pushed.

Deliveries, signature and retries: portal/services/webhooks.py and docs/api.md.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from portal.crypto import Vault
from portal.db import transaction
from portal.domain import clock
from portal.models import WebhookSubscription
from portal.services import webhooks
from portal.services.api_clients import client_actor
from portal.web.api import framework as api
from portal.web.api.base import ApiModel

TAG = "推送"


class WebhookIn(ApiModel):
    """登记一个推送地址。"""

    url: str = Field(min_length=10, max_length=500, pattern=r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$",
                     description="接收推送的网址，https://（或内网的 http://）开头")


class WebhookOut(ApiModel):
    id: int
    url: str
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="签名密钥，只在登记时返回这一次：用它验证 Shenhou-Signature")


class WebhookList(ApiModel):
    items: list[WebhookOut]


def _out(sub: WebhookSubscription) -> WebhookOut:
    return WebhookOut(id=sub.id, url=sub.url, created_at=clock.as_china(sub.created_at))


def _vault(call: api.ApiCall) -> Vault:
    return call.services.vault


@api.get("/api/v1/webhooks", summary="本客户端登记的推送地址", ok=(200, WebhookList), tag=TAG)
def list_webhooks(call: api.ApiCall) -> WebhookList:
    """列出本客户端现在有效的推送地址（不含密钥）。"""
    with call.services.db() as session:
        return WebhookList(items=[_out(s) for s in webhooks.subscriptions(session, call.client.record_id)])


@api.post("/api/v1/webhooks", summary="登记推送地址", body=WebhookIn, ok=(201, WebhookCreated), tag=TAG)
def create_webhook(call: api.ApiCall) -> api.Reply:
    """登记后，本部门、本县（市、区）的事项每有变化，门户就把事项的最新状态以 CloudEvents（JSON）POST 到这个地址，
    并用返回的密钥签名（Shenhou-Signature: t=…,v1=…，HMAC-SHA256，见 docs/api.md）。回答 2xx 表示收到；
    其他回答按退避间隔重试，多次失败后转入管理员可见的失败任务。回答 410 表示不再需要，登记随之失效。"""
    body = call.body_as(WebhookIn)
    with transaction(call.services.db) as session:
        sub, secret = webhooks.subscribe(session, _vault(call), client_actor(call.client, call.ip), call.client.record_id,
                                         body.url, public_only=call.services.settings.production)
        created = WebhookCreated(**_out(sub).model_dump(), secret=secret)
    return api.Reply(created, 201, {"Location": f"/api/v1/webhooks/{created.id}"})


@api.delete("/api/v1/webhooks/{webhook_id:int}", summary="删除推送地址", ok=(204, None), problems=(404,), tag=TAG)
def delete_webhook(call: api.ApiCall) -> api.Reply:
    """删除后不再向这个地址推送（已经排队的推送也不再发送）。"""
    with transaction(call.services.db) as session:
        webhooks.unsubscribe(session, client_actor(call.client, call.ip), call.path_int("webhook_id"), call.client.record_id)
    return api.Reply(None, 204)
