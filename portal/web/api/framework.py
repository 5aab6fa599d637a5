"""The machine interface's plumbing: one declaration per endpoint, everything else derived.

    @api.post("/api/v1/things/{thing_id:int}/actions", summary="…", body=ThingAction,
              ok=(200, ThingOut), problems=(404, 409))
    def act_on_thing(call: ApiCall) -> ThingOut:
        action = call.body_as(ThingAction)
        ...

From that declaration the endpoint gets: the bearer token checked into a `ClientScope`
(401 otherwise), the per-client rate limit (429), the body read as strict JSON into the model
(415, 422 with the fields), the handler run in the thread pool (again when the database was
only busy), the use cases' refusals turned into problems (NotFound 404, Conflict and
WorkflowError 409, Invalid 422), the call written to the audit log with the client's name,
and its place in the OpenAPI document (portal/web/api/openapi.py) and the reference page.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, RootModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from portal.db import is_conflict, is_storage_failure, run_with_retries, transaction
from portal.domain.api_scope import ClientScope
from portal.pages import Services, services
from portal.services import api_clients
from portal.services.errors import Conflict, Invalid, NotFound, WorkflowError
from portal.services.events import record
from portal.web.api.problems import ApiProblem, for_status, from_exception, problem_response
from portal.web.api.validation import field_errors, service_errors
from portal.web.throttling import throttle

log = logging.getLogger("portal.api")
M = TypeVar("M", bound=BaseModel)
CLIENT_LIMIT = "api_client"  # portal/throttle.py
STANDARD_PROBLEMS = (400, 401, 429)  # every authenticated endpoint may answer these (400: a NUL in the URL)
BODY_PROBLEMS = (413, 415, 422)  # and these when it reads a body


@dataclass(frozen=True)
class Reply:
    """A handler's answer when it is not simply `ok` with the model: another status, headers."""

    model: BaseModel | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiCall:
    """What a handler gets: the request, who calls, and the parsed input."""

    request: Request
    scope: ClientScope | None
    body: BaseModel | None
    query: BaseModel | None
    form: FormData | None = None

    @property
    def services(self) -> Services:
        return services(self.request)

    @property
    def client(self) -> ClientScope:
        assert self.scope is not None, "only for endpoints declared with auth=True"
        return self.scope

    @property
    def ip(self) -> str | None:
        return self.request.client.host if self.request.client else None

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model)
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model)
        return self.query

    def path_int(self, name: str) -> int:
        return int(self.request.path_params[name])

    def if_match(self) -> int:
        """The version named by `If-Match` (an ETag `"<version>"` this API gave out): 428 without one."""
        raw = self.request.headers.get("if-match")
        if raw is None or not raw.strip() or raw.strip() == "*":
            raise ApiProblem("precondition-required", "请带上 If-Match 头，值为读取事项时得到的 ETag，例如 If-Match: \"3\"。")
        tag = raw.split(",")[0].strip().removeprefix("W/").strip('"')
        if not tag.isascii() or not tag.isdigit() or len(tag) > 9:
            raise ApiProblem("precondition-failed", "If-Match 的值不是本接口给出的 ETag，请重新读取事项。")
        return int(tag)


def etag(version: int) -> str:
    return f'"{version}"'


Handler = Callable[[ApiCall], Any]


@dataclass(frozen=True)
class Header:
    """A request header an operation reads (documented as an OpenAPI header parameter)."""

    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # Starlette notation, e.g. /api/v1/tasks/{task_id:int}
    summary: str
    handler: Handler
    ok: tuple[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    problems: tuple[int, ...] = ()
    auth: bool = True
    tag: str = "接口"
    headers: tuple[Header, ...] = ()
    response_headers: dict[str, str] = field(default_factory=dict)  # name -> description, on `ok`
    form: bool = False  # the body is application/x-www-form-urlencoded, read by the handler
    raw: bool = False  # the handler answers with its own Response (the OAuth token endpoint)
    extra_responses: dict[int, tuple[str, type[BaseModel], str]] = field(default_factory=dict)  # status -> (media, model, why)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def description(self) -> str:
        return (self.handler.__doc__ or "").strip()

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", self.path)

    @property
    def path_params(self) -> list[tuple[str, str]]:
        """(name, convertor) of each path parameter, e.g. ("task_id", "int")."""
        return [(m.group(1), (m.group(2) or ":str")[1:]) for m in re.finditer(r"\{([^}:]+)(:[^}]+)?\}", self.path)]

    @property
    def all_problems(self) -> tuple[int, ...]:
        found = set(self.problems) | ({*STANDARD_PROBLEMS} if self.auth else {400, 429})
        if self.body is not None and not self.form:
            found |= set(BODY_PROBLEMS)
        if self.query is not None:
            found.add(422)
        return tuple(sorted(found - set(self.extra_responses)))


#: Every operation of /api/v1, in declaration order (modules listed in portal/web/api/__init__.py).
OPERATIONS: list[Operation] = []


def _declare(method: str) -> Callable[..., Callable[[Handler], Handler]]:
    def declare(path: str, *, summary: str, ok: tuple[int, type[BaseModel] | None],
                **options: Any) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if any(o.path == path and o.method == method for o in OPERATIONS):
                raise ValueError(f"{method} {path} declared twice")
            OPERATIONS.append(Operation(method, path, summary, fn, ok, **options))
            return fn

        return register

    return declare


get = _declare("GET")
post = _declare("POST")
put = _declare("PUT")
delete = _declare("DELETE")


# --- one request -------------------------------------------------------------------------------------

def _bearer(request: Request) -> ClientScope:
    """The caller's scope from `Authorization: Bearer …`, and one unit of its rate limit."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = 'Bearer realm="shenhou-api"'
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem("unauthorized", "请在 Authorization 头里带上访问令牌：Bearer <access_token>。",
                         headers={"WWW-Authenticate": challenge})
    svc = services(request)
    with svc.db() as session:
        scope = api_clients.scope_for_token(session, svc.settings.secret_key, token.strip())
    if scope is None:
        raise ApiProblem("unauthorized", "访问令牌无效或已过期（客户端停用或更换密钥后，旧令牌立即失效），请重新申请令牌。",
                         headers={"WWW-Authenticate": challenge + ', error="invalid_token"'})
    verdict = throttle(request).hit(CLIENT_LIMIT, "client:" + scope.client_id)
    if not verdict.allowed:
        raise ApiProblem("rate-limited", f"本客户端的调用太频繁了，请 {verdict.retry_after} 秒后再试。",
                         headers={"Retry-After": str(verdict.retry_after)})
    return scope


def _json_body(request: Request, raw: bytes, model: type[BaseModel]) -> BaseModel:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiProblem("unsupported-media-type", "请求体必须是 JSON，并带 Content-Type: application/json。")
    try:
        parsed = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = field_errors(exc, tagged_root=issubclass(model, RootModel))
        raise ApiProblem("validation", "请求体没有通过校验，请按 errors 修改。", errors=errors) from None
    if b"\\u0000" in raw and _has_nul(parsed.model_dump()):  # PostgreSQL stores no NUL in text
        raise ApiProblem("validation", "文本里不能有 NUL 字符（\\u0000）。",
                         errors=service_errors({"": "文本里不能有 NUL 字符（\\u0000）"}))
    return parsed


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def _query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise ApiProblem("validation", "查询参数没有通过校验，请按 errors 修改。", errors=field_errors(exc)) from None


def _render(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result, op.ok[0])
    if reply.model is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.model.model_dump(mode="json"), status_code=reply.status, headers=reply.headers)


def _refusal(request: Request, exc: Exception) -> Response:
    """The use cases' refusals and the database's failures as problems."""
    if isinstance(exc, ApiProblem):
        return from_exception(request, exc)
    if isinstance(exc, HTTPException):  # e.g. a form body Starlette could not parse
        return for_status(request, exc.status_code)
    if isinstance(exc, NotFound):
        return problem_response(request, "not-found", "找不到这条记录，或者它不属于本客户端的部门和县（市、区）。")
    if isinstance(exc, Invalid):
        return problem_response(request, "validation", exc.message, errors=service_errors(exc.errors))
    if isinstance(exc, (Conflict, WorkflowError)):
        return problem_response(request, "conflict", exc.message)
    if isinstance(exc, SQLAlchemyError) and is_conflict(exc):
        return problem_response(request, "conflict", "这条记录刚刚被修改过，这次操作没有保存。请读取最新状态后再试。")
    if isinstance(exc, SQLAlchemyError) and is_storage_failure(exc):
        log.error("storage failure on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, "unavailable", headers={"Retry-After": "30"})
    log.error("API error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(request, "server-error")


def _audit(request: Request, scope: ClientScope, status: int) -> None:
    """Every call of a client in the audit log (its own transaction: a refused call is logged too)."""
    try:
        with transaction(services(request).db) as session:
            record(session, api_clients.client_actor(scope, request.client.host if request.client else None),
                   "client:api:call", f"接口调用 {request.method} {request.url.path} → {status}",
                   after={"method": request.method, "path": request.url.path, "status": status,
                          "query": str(request.url.query)[:200] or None})
    except SQLAlchemyError:
        log.warning("API call of %s not logged", scope.client_id, exc_info=True)


def endpoint(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        scope: ClientScope | None = None
        try:
            if op.auth:
                scope = await run_in_threadpool(_bearer, request)
            form = await request.form() if op.form else None
            body = None
            if op.body is not None and not op.form:
                body = _json_body(request, await request.body(), op.body)
            query = _query(request, op.query) if op.query is not None else None
            call = ApiCall(request, scope, body, query, form)
            response = _render(op, await run_in_threadpool(run_with_retries, op.handler, call))
        except Exception as exc:  # noqa: BLE001 - every failure is answered as a problem, never an HTML page
            response = _refusal(request, exc)
        if scope is not None:
            await run_in_threadpool(_audit, request, scope, response.status_code)
        return response

    handle.__name__ = op.operation_id
    handle.__doc__ = op.description
    return handle


def routes() -> list[Route]:
    return [Route(op.path, endpoint(op), methods=[op.method], name=op.operation_id) for op in OPERATIONS]
