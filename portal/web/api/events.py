"""POST /api/v1/events: a department system reports a fact (CloudEvents 1.0, structured JSON).

The body is one CloudEvent; `type` picks the model of `data` (portal/domain/exchange.py). The
fact is taken by portal/services/exchange.py: idempotent by (source, id), scoped to the client's
department (a 医保 client cannot report a cremation: 403) and county.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from portal.domain.exchange import IncomingEvent
from portal.services import exchange
from portal.web.api import framework as api
from portal.web.api.base import ApiModel
from portal.web.api.problems import ApiProblem


class EventAnswer(ApiModel):
    """What became of the fact; the same (source, id) sent again gets the same answer."""

    outcome: Literal["applied", "already_done", "not_ready", "informed", "exception", "proactive_case", "no_case"] = Field(
        description="applied：已办结对应事项；already_done：事项早已办结，未改动；not_ready：事项还不能办结，已记录；"
                    "informed：已记入办理记录；exception：与申请内容不一致，未改动，转窗口核实；"
                    "proactive_case：没有申请，已主动启动办理；no_case：没有申请，已记录供核对")
    detail: str = Field(description="中文说明")
    number: str | None = Field(description="申请编号；没有对应申请时为 null")
    task_id: int | None = Field(description="办结或涉及的事项 id")
    duplicate: bool = Field(description="true：这个 (source, id) 之前已报送过，返回的是第一次的答复")


@api.post("/api/v1/events", summary="报送事实（CloudEvents）", body=IncomingEvent, ok=(200, EventAnswer),
          problems=(403, 409), tag="事件")
def post_event(call: api.ApiCall) -> EventAnswer:
    """报送一条事实：死亡证明已出具、遗体已接收、火化已完成、户口已注销、待遇已停发或发放、医保个人账户已清算、
    住房公积金已结算。请求体是一条 CloudEvents 1.0 结构化 JSON（`Content-Type: application/cloudevents+json`
    或 `application/json`），`type` 决定 `data` 的字段。同一 `source` 和 `id` 重复报送不会重复办理，返回第一次的答复。
    只能报送本部门的事实（例如医保客户端不能报送火化），有县（市、区）的客户端只能报送本县的逝者。"""
    svc = call.services
    event = call.body_as(IncomingEvent).root
    try:
        answer = exchange.receive_once(svc.db, svc.vault, call.client, event, base_url=svc.settings.base_url)
    except exchange.NotAllowed as exc:
        raise ApiProblem("forbidden", str(exc)) from None
    return EventAnswer(outcome=answer.outcome, detail=answer.detail, number=answer.number,  # type: ignore[arg-type]
                       task_id=answer.task_id, duplicate=answer.duplicate)
