"""The reference page for integrators (/api/v1/docs): the OpenAPI document rendered as HTML, in
Chinese, on the server (no script at all), with the problem types and the webhook signature."""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from portal.web.api.problems import PROBLEMS

TYPE_WORDS = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "true/false", "object": "对象",
              "array": "数组", "null": "null"}
FORMAT_WORDS = {"date": "日期 YYYY-MM-DD", "date-time": "时间（ISO 8601，带时区）", "uri": "网址", "decimal": "金额（文本）"}


def type_text(schema: dict[str, Any]) -> str:
    """A short Chinese description of a JSON schema's type, e.g. '文本 或 null', '数组：TaskOut'."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return f"固定为 {schema['const']!r}"
    if "enum" in schema:
        return "之一：" + "、".join(str(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " 或 ".join(type_text(s) for s in schema[key])
    kind = schema.get("type")
    if kind == "array":
        return "数组：" + type_text(schema.get("items", {}))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "对象：值为 " + type_text(schema["additionalProperties"])
    words = TYPE_WORDS.get(str(kind), str(kind or "任意"))
    if "format" in schema:
        words = FORMAT_WORDS.get(schema["format"], f"{words}（{schema['format']}）")
    limits = []
    if "pattern" in schema:
        limits.append(f"格式 {schema['pattern']}")
    if "maxLength" in schema:
        limits.append(f"最多 {schema['maxLength']} 字")
    return words + (f"（{'，'.join(limits)}）" if limits else "")


def spans(text: str) -> Markup:
    """Markdown-style `code` in a description as <code>, everything else escaped."""
    parts = str(text).split("`")
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def _fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", ()))
    return [{"name": name, "type": type_text(prop), "required": name in required,
             "description": spans(prop.get("description", ""))} for name, prop in schema.get("properties", {}).items()]


def _ref_name(content: dict[str, Any] | None) -> tuple[str, str] | None:
    if not content:
        return None
    media, spec = next(iter(content.items()))
    return media, type_text(spec.get("schema", {}))


def view(document: dict[str, Any]) -> dict[str, Any]:
    operations = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            operations.append({
                "id": op["operationId"], "method": method.upper(), "path": path, "summary": op["summary"],
                "description": spans(op.get("description", "")), "tag": op["tags"][0],
                "auth": bool(op.get("security")),
                "parameters": [{"name": p["name"], "in": {"path": "路径", "query": "查询", "header": "请求头"}[p["in"]],
                                "required": p.get("required", False), "type": type_text(p.get("schema", {})),
                                "description": spans(p.get("description", ""))} for p in op.get("parameters", [])],
                "body": _ref_name(body["content"]) if body else None,
                "responses": [{"status": code, "description": r["description"], "body": _ref_name(r.get("content"))}
                              for code, r in op["responses"].items()],
            })
    schemas = [{"name": name, "description": s.get("description", ""), "fields": _fields(s),
                "type": "" if s.get("properties") else type_text(s)}
               for name, s in sorted(document["components"]["schemas"].items())]
    return {"info": document["info"], "operations": operations, "schemas": schemas,
            "problems": [{"slug": p.slug, "status": p.status, "title": p.title, "explains": spans(p.explains)}
                         for p in sorted(PROBLEMS.values(), key=lambda p: p.status)]}
