"""RFC 9457 problem details: every error of /api/v1 as `application/problem+json`.

Each kind of problem has a stable `type` (`/api/v1/problems/<slug>`, relative to the portal's
address, explained on the reference page /api/v1/docs), a Chinese `title` that never changes for
the type, and a Chinese `detail` for this occurrence. Validation problems list the fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

PROBLEM_MEDIA = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    explains: str  # for the reference page: when it happens, what to do


PROBLEMS: dict[str, ProblemType] = {p.slug: p for p in (
    ProblemType("bad-request", 400, "请求有误", "请求无法解析，例如路径或参数格式不对。检查请求后再发。"),
    ProblemType("unauthorized", 401, "需要有效的访问令牌",
                "没有带 `Authorization: Bearer …`，或者令牌已过期、被篡改，或客户端已被停用、密钥已更换。"
                "用客户端凭据重新申请令牌（POST /api/v1/token）。"),
    ProblemType("forbidden", 403, "没有权限", "客户端所属部门不能做这件事。"),
    ProblemType("not-found", 404, "找不到",
                "没有这条记录，或者它不属于本客户端的部门和县（市、区）：两种情况的回答相同，不透露记录是否存在。"),
    ProblemType("method-not-allowed", 405, "不支持这种请求方法", "这个地址不支持这种 HTTP 方法，请看接口说明。"),
    ProblemType("conflict", 409, "与当前状态冲突",
                "按现在的状态不能这样办理（例如前置事项还没办结，或事项已经办结）。先读取最新状态再决定。"),
    ProblemType("precondition-failed", 412, "版本已变化",
                "`If-Match` 里的版本不是事项现在的版本：别人（或本系统另一处）刚刚改过它，这次操作没有保存。"
                "重新读取事项（GET），按新的 `ETag` 再决定。"),
    ProblemType("payload-too-large", 413, "内容太大", "请求体超过了上限。"),
    ProblemType("unsupported-media-type", 415, "不支持的内容类型",
                "请求体必须是 JSON，并带 `Content-Type: application/json`。"),
    ProblemType("validation", 422, "内容没有通过校验",
                "请求体或参数不符合接口说明：`errors` 逐个列出字段（`field`，用点号表示层级）和原因。"
                "未知字段一律拒绝。"),
    ProblemType("precondition-required", 428, "缺少 If-Match",
                "改变事项的请求必须带 `If-Match`，值为读取事项时得到的 `ETag`，以免覆盖别人的办理结果。"),
    ProblemType("rate-limited", 429, "请求太频繁", "超过了每个客户端的调用频率上限。按 `Retry-After`（秒）等待后再试。"),
    ProblemType("server-error", 500, "系统暂时出了问题",
                "服务端出了问题，这次操作可能没有完成。稍后重试；持续出现请联系门户运维。"),
    ProblemType("unavailable", 503, "暂时无法保存", "数据库暂时不能写入，这次操作没有保存。按 `Retry-After` 等待后重试。"),
)}
BY_STATUS: dict[int, ProblemType] = {p.status: p for p in PROBLEMS.values()}


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)
    field: str = Field(description="出错的字段，层级用点号连接，例如 `result.settlement_amount`；请求体整体出错时为空")
    message: str = Field(description="中文原因")


class Problem(BaseModel):
    """错误说明（RFC 9457 application/problem+json）。"""

    model_config = ConfigDict(extra="forbid", title="Problem")  # optional members stay optional
    type: str = Field(description="问题类型的稳定标识，例如 `/api/v1/problems/validation`")
    title: str = Field(description="问题类型的中文标题（同一类型不变）")
    status: int = Field(description="HTTP 状态码")
    detail: str = Field(description="这一次的中文说明")
    instance: str | None = Field(default=None, description="出问题的请求路径")
    errors: list[FieldError] | None = Field(default=None, description="校验问题：逐个字段的原因")


class ApiProblem(Exception):
    """Raised anywhere in an API handler: answered as problem+json."""

    def __init__(self, slug: str, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.kind = PROBLEMS[slug]
        super().__init__(detail or self.kind.title)
        self.detail = detail or self.kind.title
        self.errors = errors
        self.headers = headers or {}


def problem_response(request: Request | None, slug: str, detail: str | None = None, *,
                     errors: list[FieldError] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = PROBLEMS[slug]
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": kind.title, "status": kind.status,
                            "detail": detail or kind.title}
    if request is not None:
        body["instance"] = request.url.path
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM_MEDIA,
                        headers={"Cache-Control": "no-store", **(headers or {})})


def from_exception(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(request, exc.kind.slug, exc.detail, errors=exc.errors, headers=exc.headers)


def for_status(request: Request, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem for a bare HTTP status (unknown route, wrong method, …)."""
    kind = BY_STATUS.get(status) or (BY_STATUS[400] if 400 <= status < 500 else BY_STATUS[500])
    return problem_response(request, kind.slug, headers=headers)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")
