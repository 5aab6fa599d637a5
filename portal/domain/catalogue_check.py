"""Checks a county's catalogue file (content/catalogue.toml) and lists every problem at once.

The messages are for whoever edits the file: plain Chinese first, the technical words in
brackets. :mod:`portal.domain.catalogue` builds the catalogue from what passes.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from typing import Any

__all__ = ["AUTOMATIC_MATTERS", "check"]

# Matters the program adds by itself (注5 and the scenario rule); the
# catalogue must define them or tasks_for could silently drop work.
AUTOMATIC_MATTERS: tuple[str, ...] = ("certificate", "veteran", "disability", "assistance")

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_COUNTY_CODE = re.compile(r"^\d{6}$")

# field -> (python type, required, default); list fields hold strings.
_Spec = dict[str, tuple[type, bool, Any]]
_SPECS: dict[str, tuple[str, _Spec]] = {
    "department": ("部门", {"code": (str, True, None), "name": (str, True, None)}),
    "matter": (
        "事项",
        {
            "code": (str, True, None),
            "name": (str, True, None),
            "department": (str, True, None),
            "time_limit_days": (int, True, None),
            "depends_on": (list, False, []),
            "requestable": (bool, True, None),
            "summary": (str, True, None),
            "policy_slug": (str, True, None),
            "note": (str, False, ""),
            "proactive": (bool, False, False),
        },
    ),
    "county": (
        "县（市、区）",
        {
            "code": (str, True, None),
            "name": (str, True, None),
            "townships": (list, True, None),
            "funeral_homes": (list, True, None),
        },
    ),
}

_TYPE_WORDS = {str: "文字（加引号）", int: "整数", bool: "true 或 false", list: "列表 [...]"}


def _read_entries(data: dict[str, Any], section: str, problems: list[str]) -> list[dict[str, Any]]:
    """Check one ``[[section]]`` array against its spec; return cleaned dicts."""
    label, spec = _SPECS[section]
    raw = data.get(section)
    if raw is None:
        problems.append(f"没有任何{label}，请至少写一个 [[{section}]] 段 (missing section {section})")
        return []
    if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
        problems.append(f"{section} 必须写成 [[{section}]] 段落 (wrong structure)")
        return []

    entries: list[dict[str, Any]] = []
    for index, entry in enumerate(raw, 1):
        code = entry.get("code")
        who = f"{label} {code}" if isinstance(code, str) and code else f"第{index}个 [[{section}]]"
        clean: dict[str, Any] = {}
        ok = True
        for key in entry:
            if key not in spec:
                problems.append(f"{who}：不认识的字段 “{key}”，请检查拼写 (unknown field {section}.{key})")
        for key, (typ, required, default) in spec.items():
            if key not in entry:
                if required:
                    problems.append(f"{who}：缺少字段 “{key}” (missing field {section}.{key})")
                    ok = False
                else:
                    clean[key] = default
                continue
            value = entry[key]
            type_ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
            if typ is list and type_ok:
                type_ok = all(isinstance(v, str) for v in value)
            if not type_ok:
                problems.append(
                    f"{who}：字段 “{key}” 应为{_TYPE_WORDS[typ]} (wrong type {section}.{key})"
                )
                ok = False
                continue
            if typ is str:
                value = value.strip()
                if required and not value:
                    problems.append(f"{who}：字段 “{key}” 不能为空 (empty {section}.{key})")
                    ok = False
            if typ is list:
                value = [v.strip() for v in value]
            clean[key] = value
        if ok:
            entries.append(clean)
    return entries


def _check_duplicates(entries: list[dict[str, Any]], label: str, section: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for e in entries:
        if e["code"] in seen:
            problems.append(f"{label}代码 “{e['code']}” 重复出现 (duplicate code {section}.{e['code']})")
        seen.add(e["code"])


def _find_cycles(deps: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, as a path along ``depends_on`` that ends where it starts.

    ``graphlib`` reports one cycle at a time; cutting one of its edges and asking again finds
    the next, so a county sees every loop in one pass.
    """
    graph = {node: [d for d in targets if d in deps] for node, targets in deps.items()}
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    while True:
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            # graphlib lists each node before the one that depends on it: reverse to follow depends_on.
            cycle = list(reversed(exc.args[1]))
            if frozenset(cycle) not in seen:
                seen.add(frozenset(cycle))
                cycles.append(cycle)
            graph[cycle[0]] = [d for d in graph[cycle[0]] if d != cycle[1]]
        else:
            return cycles


def check(data: dict[str, Any]) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every problem of a parsed catalogue file, and its entries with defaults filled in."""
    problems: list[str] = []
    for key in data:
        if key not in _SPECS:
            problems.append(f"不认识的段落 “{key}”，只允许 department、matter、county (unknown section {key})")

    departments = _read_entries(data, "department", problems)
    matters = _read_entries(data, "matter", problems)
    counties = _read_entries(data, "county", problems)

    _check_duplicates(departments, "部门", "department", problems)
    _check_duplicates(matters, "事项", "matter", problems)
    _check_duplicates(counties, "县（市、区）", "county", problems)

    dept_codes = {d["code"] for d in departments}
    matter_codes = {m["code"] for m in matters}

    for d in departments:
        if not _CODE.match(d["code"]):
            problems.append(f"部门代码 “{d['code']}” 只能用小写字母、数字和下划线 (bad code department.{d['code']})")
    for m in matters:
        who = f"事项 {m['code']}"
        if not _CODE.match(m["code"]):
            problems.append(f"事项代码 “{m['code']}” 只能用小写字母、数字和下划线 (bad code matter.{m['code']})")
        if m["department"] not in dept_codes:
            problems.append(
                f"{who}：部门 “{m['department']}” 不存在，请先在 [[department]] 中定义 (unknown department {m['department']})"
            )
        for dep in m["depends_on"]:
            if dep not in matter_codes:
                problems.append(f"{who}：依赖的事项 “{dep}” 不存在 (unknown dependency {dep})")
        if m["time_limit_days"] < 0:
            problems.append(
                f"{who}：办理时限不能是负数（现在是 {m['time_limit_days']}），即办请填 0 (negative time_limit_days)"
            )
        if not _SLUG.match(m["policy_slug"]):
            problems.append(
                f"{who}：政策链接 “{m['policy_slug']}” 只能用小写字母、数字和短横线 (bad policy_slug)"
            )
    for code in AUTOMATIC_MATTERS:
        if matters and code not in matter_codes:
            problems.append(f"缺少系统自动办理的事项 “{code}”，请不要删除它 (missing required matter {code})")

    graph: dict[str, list[str]] = {}
    for m in matters:  # duplicates merged so no edge hides behind a repeat
        graph.setdefault(m["code"], []).extend(m["depends_on"])
    for cycle in _find_cycles(graph):
        problems.append(f"事项之间循环依赖：{' → '.join(cycle)} (dependency cycle)")

    for c in counties:
        who = f"县（市、区） {c['code']} {c['name']}"
        if not _COUNTY_CODE.match(c["code"]):
            problems.append(f"{who}：代码应为6位数字的行政区划代码 (county code not 6 digits)")
        if not any(c["funeral_homes"]):
            problems.append(f"{who}：至少要填一个殡仪馆 (no funeral_homes)")
        if not any(c["townships"]):
            problems.append(f"{who}：至少要填一个乡镇（街道） (no townships)")
        for kind, values in (("乡镇（街道）", c["townships"]), ("殡仪馆", c["funeral_homes"])):
            if any(not v for v in values):
                problems.append(f"{who}：{kind}名称不能为空 (empty name)")
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                problems.append(f"{who}：{kind} “{'、'.join(dupes)}” 重复 (duplicate name)")
    return {"department": departments, "matter": matters, "county": counties}, problems
