"""Pydantic's validation errors in Chinese, one per field (the `errors` of a 422 problem)."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from portal.web.api.problems import FieldError

_MESSAGES: dict[str, str] = {
    "missing": "必须填写这个字段",
    "extra_forbidden": "不认识这个字段（接口不接受说明以外的字段）",
    "string_type": "应当是文本（字符串）",
    "int_type": "应当是整数",
    "int_parsing": "应当是整数",
    "int_from_float": "应当是整数",
    "bool_type": "应当是 true 或 false",
    "bool_parsing": "应当是 true 或 false",
    "float_type": "应当是数字",
    "date_type": "应当是日期，格式 YYYY-MM-DD",
    "date_parsing": "应当是日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "应当是日期，格式 YYYY-MM-DD",
    "datetime_type": "应当是时间，格式如 2026-11-20T08:30:00+08:00",
    "datetime_parsing": "应当是时间，格式如 2026-11-20T08:30:00+08:00",
    "datetime_from_date_parsing": "应当是时间，格式如 2026-11-20T08:30:00+08:00",
    "timezone_aware": "时间必须带时区，例如 +08:00",
    "dict_type": "应当是 JSON 对象",
    "model_type": "应当是 JSON 对象",
    "model_attributes_type": "应当是 JSON 对象",
    "list_type": "应当是数组",
    "json_invalid": "请求体不是合法的 JSON",
    "json_type": "请求体不是合法的 JSON",
    "url_parsing": "应当是网址",
    "url_scheme": "网址必须以 https:// 或 http:// 开头",
    "uuid_parsing": "应当是 UUID",
    "union_tag_invalid": "类型不在可选范围内",
    "union_tag_not_found": "缺少区分类型的字段",
}


def _message(err: Any) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "value_error" and ctx.get("error"):  # a model's own check says why, in Chinese (e.g. the 身份证号)
        return str(ctx["error"])
    if kind == "string_too_short":
        return f"至少 {ctx.get('min_length')} 个字"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字"
    if kind == "string_pattern_mismatch":
        return "格式不对，请看接口说明"
    if kind in ("literal_error", "enum"):
        return f"只能是以下之一：{ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        limit = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        word = {"greater_than": "大于", "greater_than_equal": "不小于", "less_than": "小于",
                "less_than_equal": "不大于"}[kind]
        return f"应当{word} {limit}"
    if kind in ("too_short", "too_long"):
        return "数组的元素个数不对，请看接口说明"
    return "格式不对，请看接口说明"


def _field(err: Any, tagged_root: bool) -> str:
    loc = list(err.get("loc", ()))
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        return ".".join([*map(str, loc), str((err.get("ctx") or {}).get("discriminator", "")).strip("'")]).strip(".")
    if tagged_root and len(loc) > 1:
        loc = loc[1:]  # a tagged union at the root names the chosen member first ("complete.result.x"): not a field
    return ".".join(str(p) for p in loc)


def field_errors(exc: ValidationError, *, tagged_root: bool = False) -> list[FieldError]:
    return [FieldError(field=_field(err, tagged_root), message=_message(err))
            for err in exc.errors(include_url=False, include_input=False)]


def service_errors(errors: dict[str, str], prefix: str = "") -> list[FieldError]:
    """A use case's Invalid errors (field -> Chinese message) as problem fields."""
    return [FieldError(field=prefix + name, message=text) for name, text in errors.items()]
