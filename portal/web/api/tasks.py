"""Department tasks for department systems: the change feed, one task, and the officer's actions.

The actions call the same use cases as the back office (portal/services/tasks.py): the same
checks of who may, the same dependencies (注2, 注4), the same events and texts to the family.
Optimistic locking is HTTP's: each task answers with `ETag: "<version>"`, and an action must send
it back in `If-Match` (428 without, 412 when the task changed meanwhile).
"""
from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, RootModel, create_model
from sqlalchemy.orm import Session

from portal.db import transaction
from portal.domain import status as st
from portal.models import DepartmentTask
from portal.services import task_views, tasks
from portal.services.casework import matter_name
from portal.services.errors import Conflict, Invalid
from portal.web.api import framework as api
from portal.web.api.base import ApiModel, QueryModel
from portal.web.api.problems import ApiProblem
from portal.web.api.validation import service_errors

TAG = "部门事项"
CURSOR_PREFIX = "c1:"
TaskStatus = Literal["waiting", "pending", "in_progress", "returned", "done", "refused"]
ETAG_HEADER = {"ETag": "事项的版本，改变事项时放进 If-Match"}
IF_MATCH = api.Header("If-Match", "读取事项时得到的 ETag，例如 \"3\"；版本不对回答 412，缺少回答 428", required=True)


class TaskOut(ApiModel):
    """一个部门事项，部门系统看到的样子（不含任何证件号码）。"""

    id: int
    version: int = Field(description="乐观锁版本，与 ETag 相同")
    application_number: str | None = Field(description="申请编号，例如 330302-20261123-0002")
    deceased_name: str | None = Field(description="逝者姓名")
    matter: str = Field(description="事项代码（content/catalogue.toml）")
    matter_name: str
    department: str
    county_code: str
    status: TaskStatus = Field(description="waiting 等待前置事项 · pending 未开始 · in_progress 办理中 · "
                                           "returned 退回补正 · done 已办结 · refused 不予办理")
    status_label: str
    deadline: date | None = Field(description="承诺办结日期")
    waiting_for: list[str] = Field(description="还没办结的前置事项名称（status 为 waiting 时）")
    result: dict[str, Any] | None = Field(description="办理结果（办结时按事项填写的字段，或不予办理、退回补正的原因）")
    amount: str | None = Field(description="金额（元），例如医保个人账户清算金额，可为负数")
    message: str | None = Field(description="给家属的说明")
    started_at: datetime | None
    finished_at: datetime | None
    changed_at: datetime
    change_seq: int = Field(description="在变更流里的位置")


class TaskPage(ApiModel):
    """变更流的一页。"""

    items: list[TaskOut]
    next_cursor: str = Field(description="下一次请求带上的 cursor（没有新变化时与本次相同）")
    has_more: bool = Field(description="是否还有下一页（true 时马上再取）")


class TaskQuery(QueryModel):
    cursor: str | None = Field(default=None, max_length=40,
                               description="上一页的 next_cursor；第一次不带，从头开始")
    limit: int = Field(default=50, ge=1, le=200, description="每页条数，1 到 200")


def _result_model() -> type[ApiModel]:
    """The result fields of every matter, from portal/domain/status.py RESULT_FIELDS (declared there once)."""
    kinds: dict[str, tuple[Any, str | None]] = {
        "money": (str, r"^[0-9]{1,9}(\.[0-9]{1,2})?$"), "money_signed": (str, r"^-?[0-9]{1,9}(\.[0-9]{1,2})?$"),
        "date": (date, None)}
    fields: dict[str, Any] = {}
    for matter, specs in st.RESULT_FIELDS.items():
        for spec in specs:
            kind, pattern = kinds[spec.kind]
            about = f"{matter_name(matter)}：{spec.label}" + (f"。{spec.hint}" if spec.hint else "")
            fields[spec.name] = (kind | None, Field(default=None, description=about, pattern=pattern))
    model: type[ApiModel] = create_model("TaskResult", __base__=ApiModel, __doc__="办结时填写的结果：按事项填写对应字段",
                                         **fields)
    return model


TaskResult = _result_model()
RESULT_NAMES = frozenset(TaskResult.model_fields)


class TakeAction(ApiModel):
    """接办：事项从“未开始”变为“办理中”。"""

    action: Literal["take"]


class CompleteAction(ApiModel):
    """办结：带上事项的结果字段。"""

    action: Literal["complete"]
    result: TaskResult = Field(default_factory=TaskResult)  # type: ignore[valid-type]
    message: str | None = Field(default=None, max_length=200, description="给家属的说明（可选）")


class RefuseAction(ApiModel):
    """不予办理：写明原因，家属会看到。"""

    action: Literal["refuse"]
    reason: str = Field(min_length=2, max_length=200)


class ReturnAction(ApiModel):
    """退回补正：家属只修改 step 指出的部分，只有这个事项暂停。"""

    action: Literal["return"]
    step: str = Field(pattern="^(" + "|".join(st.CORRECTION_STEPS) + ")$",
                      description="需要家属修改的部分：" + "、".join(f"{k} {v}" for k, v in st.CORRECTION_STEPS.items()))
    reason: str = Field(min_length=2, max_length=200)


class TaskAction(RootModel[Annotated[TakeAction | CompleteAction | RefuseAction | ReturnAction,
                                     Field(discriminator="action")]]):
    """事项操作：按 action 区分的四种之一。"""


# --- presenting ----------------------------------------------------------------------------------

def _one(session: Session, task: DepartmentTask) -> api.Reply:
    return api.Reply(TaskOut(**task_views.views(session, [task])[0]), 200, {"ETag": api.etag(task.version)})


def _cursor(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    digits = text[len(CURSOR_PREFIX):]
    if not text.startswith(CURSOR_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 18:  # BIGINT
        raise ApiProblem("validation", "cursor 不是本接口给出的游标。",
                         errors=service_errors({"cursor": "请使用上一页的 next_cursor"}))
    return int(text[len(CURSOR_PREFIX):])


def make_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


# --- the operations --------------------------------------------------------------------------------

@api.get("/api/v1/tasks", summary="拉取本部门、本县（市、区）有变化的事项", query=TaskQuery, ok=(200, TaskPage), tag=TAG)
def list_task_changes(call: api.ApiCall) -> TaskPage:
    """按变更顺序返回 cursor 之后有变化的事项（每个事项只出现在它最新一次变化的位置）。
    保存 next_cursor，下次带上它；has_more 为 true 时马上再取下一页。顺序稳定，并发写入时也不漏、不重。"""
    query = call.query_as(TaskQuery)
    after = _cursor(query.cursor)
    with call.services.db() as session:
        found = task_views.changes(session, call.client, after, query.limit + 1)
        items = [TaskOut(**v) for v in task_views.views(session, found[: query.limit])]
    position = items[-1].change_seq if items else after
    return TaskPage(items=items, next_cursor=make_cursor(position), has_more=len(found) > query.limit)


@api.get("/api/v1/tasks/{task_id:int}", summary="读取一个事项", ok=(200, TaskOut), problems=(404,), tag=TAG,
         response_headers=ETAG_HEADER)
def get_task(call: api.ApiCall) -> api.Reply:
    """本部门、本县（市、区）的一个事项，带 ETag（版本）。其他部门或其他县区的事项回答 404。"""
    with call.services.db() as session:
        task = tasks.workable_task(session, call.path_int("task_id"), call.client)
        return _one(session, task)


@api.post("/api/v1/tasks/{task_id:int}/actions", summary="接办、办结、不予办理或退回补正", body=TaskAction,
          ok=(200, TaskOut), problems=(404, 409, 412, 428), headers=(IF_MATCH,), tag=TAG, response_headers=ETAG_HEADER)
def act_on_task(call: api.ApiCall) -> api.Reply:
    """与后台“本部门待办”完全相同的规则：前置事项没办结不能办结（注2、注4），每一步记入事项记录并短信告知家属。
    必须带 If-Match。成功后返回事项的最新状态和新的 ETag。"""
    action = call.body_as(TaskAction).root
    task_id = call.path_int("task_id")
    try:
        with transaction(call.services.db) as session:
            task = tasks.workable_task(session, task_id, call.client)
            seen = call.if_match()
            if seen != task.version:
                raise ApiProblem("precondition-failed", f"事项现在的版本是 {task.version}，不是 If-Match 里的 {seen}："
                                 "它刚刚被改过，这次操作没有保存。请重新读取后再决定。")
            _apply(session, task_id, seen, action, call)
    except Conflict as exc:  # changed between our read and our write
        raise ApiProblem("precondition-failed", exc.message) from None
    except Invalid as exc:
        fields = {("result." + k if k in RESULT_NAMES else k): v for k, v in exc.errors.items()}
        raise ApiProblem("validation", "办理结果没有通过校验，请按 errors 修改。", errors=service_errors(fields)) from None
    with call.services.db() as session:  # the committed state, with its place in the feed
        return _one(session, tasks.workable_task(session, task_id, call.client))


def _apply(session: Session, task_id: int, version: int, action: Any, call: api.ApiCall) -> DepartmentTask:
    client, ip = call.client, call.ip
    if isinstance(action, TakeAction):
        return tasks.take_task(session, task_id, version, client, ip=ip)
    if isinstance(action, CompleteAction):
        result: ApiModel = action.result
        fields = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in result.model_dump(exclude_none=True).items()}
        return tasks.complete_task(session, task_id, version, client, {**fields, "message": action.message}, ip=ip)
    if isinstance(action, RefuseAction):
        return tasks.refuse_task(session, task_id, version, client, action.reason, ip=ip)
    assert isinstance(action, ReturnAction)
    return tasks.return_task(session, task_id, version, client, action.reason, action.step, ip=ip)
