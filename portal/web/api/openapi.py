"""The OpenAPI 3.1 document of /api/v1, derived from the declared operations and their models.

Nothing here is written by hand about an endpoint: paths, parameters, bodies, responses and
problems come from `framework.OPERATIONS`; the schemas come from the pydantic models
(`models_json_schema`, one component per model, referenced with $ref).
"""
from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from portal.web.api.framework import OPERATIONS, Operation
from portal.web.api.problems import BY_STATUS, PROBLEM_MEDIA, Problem

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
INTRO = ("温州“身后一件事”门户的部门系统接口。部门（殡仪馆、公安、人社、医保、民政等）的业务系统用客户端凭据换取"
         "访问令牌，拉取本部门、本县（市、区）的待办事项并报送办理结果，或者接收事项变化的推送。"
         "所有错误都是 RFC 9457 `application/problem+json`。说明见 /api/v1/docs。")


def _pairs(ops: list[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    pairs: set[tuple[type[BaseModel], JsonSchemaMode]] = {(Problem, "serialization")}
    for op in ops:
        if op.body is not None:
            pairs.add((op.body, "validation"))
        if op.ok[1] is not None:
            pairs.add((op.ok[1], "serialization"))
        for _media, model, _why in op.extra_responses.values():
            pairs.add((model, "serialization"))
    return sorted(pairs, key=lambda p: (p[0].__name__, p[1]))


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    params = []
    for name, kind in op.path_params:
        schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 999_999_999} if kind == "int" \
            else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(op: Operation) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    schema = op.query.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        entry: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            entry["description"] = description
        out.append(entry)
    return out


def _problem(status: int, ref: dict[str, Any]) -> dict[str, Any]:
    kind = BY_STATUS[status]
    headers = {}
    if status == 429:
        headers["Retry-After"] = {"description": "多少秒后可以再试", "schema": {"type": "integer"}}
    if status == 401:
        headers["WWW-Authenticate"] = {"description": "Bearer 质询（RFC 6750）", "schema": {"type": "string"}}
    answer: dict[str, Any] = {"description": f"{kind.title}（/api/v1/problems/{kind.slug}）",
                              "content": {PROBLEM_MEDIA: {"schema": ref}}}
    if headers:
        answer["headers"] = headers
    return answer


def _operation(op: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = _path_parameters(op) + _query_parameters(op)
    params += [{"name": h.name, "in": "header", "required": h.required, "description": h.description,
                "schema": {"type": "string"}} for h in op.headers]
    if params:
        out["parameters"] = params
    if op.body is not None:
        media = "application/x-www-form-urlencoded" if op.form else "application/json"
        out["requestBody"] = {"required": True, "content": {media: {"schema": refs[(op.body, "validation")]}}}
    status, model = op.ok
    ok: dict[str, Any] = {"description": "成功"}
    if model is not None:
        ok["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
    if op.response_headers:
        ok["headers"] = {name: {"description": why, "schema": {"type": "string"}} for name, why in op.response_headers.items()}
    responses: dict[str, Any] = {str(status): ok}
    for code, (media, extra, why) in op.extra_responses.items():
        responses[str(code)] = {"description": why, "content": {media: {"schema": refs[(extra, "serialization")]}}}
    problem_ref = refs[(Problem, "serialization")]
    for code in op.all_problems:
        responses[str(code)] = _problem(code, problem_ref)
    out["responses"] = dict(sorted(responses.items()))
    out["security"] = [{"bearer": []}] if op.auth else []
    return out


def build(ops: list[Operation] | None = None) -> dict[str, Any]:
    ops = list(OPERATIONS if ops is None else ops)
    pairs = _pairs(ops)
    refs, defs = models_json_schema(pairs, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "身后一件事 · 部门系统接口", "version": VERSION, "description": INTRO},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "POST /api/v1/token 换取的访问令牌（10 分钟有效）"},
                "client_basic": {"type": "http", "scheme": "basic",
                                 "description": "客户端凭据：client_id 和 client_secret（只用于 /api/v1/token）"},
            },
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    """The document served at /api/v1/openapi.json (built once; the operations do not change at run time)."""
    return build()
