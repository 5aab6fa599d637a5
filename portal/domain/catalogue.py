"""The matter catalogue: departments, matters (事项) and counties.

It lives in ``content/catalogue.toml`` so a county can adapt names, time
limits and township lists without touching code (注6: localities may adapt
the form). The file is checked once at start-up and every problem is
reported together, so whoever edits it can fix everything in one pass.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from portal.domain.reference import PENSION_TYPES, SCENARIOS
from portal.domain.validators import FieldError

__all__ = [
    "Department",
    "Matter",
    "County",
    "Catalogue",
    "CatalogueError",
    "load_catalogue",
    "default_catalogue",
    "DEFAULT_PATH",
    "AUTOMATIC_MATTERS",
]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "content" / "catalogue.toml"

# Matters the program adds by itself (注5 and the scenario rule); the
# catalogue must define them or tasks_for could silently drop work.
AUTOMATIC_MATTERS: tuple[str, ...] = ("certificate", "veteran", "disability", "assistance")

# Scenarios whose certificate is a medical one that 卫健 verifies.
_CERTIFICATE_SCENARIOS = frozenset({"home", "hospital"})

_PUBLIC_INSTITUTION_MESSAGE = (
    "逝者是机关事业单位人员的，丧葬费和抚恤金按原渠道办理："
    "请向逝者原工作单位或机关事业单位社保经办机构申请，并在这里取消勾选“养老保险停发、丧葬费和抚恤金申领”"
)


@dataclass(frozen=True)
class Department:
    """A department that handles matters."""

    code: str
    name: str


@dataclass(frozen=True)
class Matter:
    """One 事项 handled for the family; ``time_limit_days`` is in working days (0 = 即办)."""

    code: str
    name: str
    department: str  # Department.code
    time_limit_days: int
    depends_on: tuple[str, ...]
    requestable: bool
    summary: str
    policy_slug: str
    note: str


@dataclass(frozen=True)
class County:
    """A county-level unit (GB/T 2260 code) with its townships and funeral homes."""

    code: str
    name: str
    townships: tuple[str, ...]
    funeral_homes: tuple[str, ...]


class CatalogueError(ValueError):
    """The catalogue file has problems; ``problems`` lists each one in plain words."""

    def __init__(self, problems: list[str] | tuple[str, ...], path: Path | str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.path = path
        where = f"事项目录文件 {path} " if path else "事项目录"
        lines = [f"{where}有 {len(self.problems)} 处问题，请全部改正后再启动："]
        lines += [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Catalogue:
    """All departments, matters and counties, in file order, with lookups by code."""

    departments: tuple[Department, ...]
    matters: tuple[Matter, ...]
    counties: tuple[County, ...]
    _departments: dict[str, Department] = field(init=False, repr=False, compare=False)
    _matters: dict[str, Matter] = field(init=False, repr=False, compare=False)
    _counties: dict[str, County] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_departments", {d.code: d for d in self.departments})
        object.__setattr__(self, "_matters", {m.code: m for m in self.matters})
        object.__setattr__(self, "_counties", {c.code: c for c in self.counties})

    def department(self, code: str) -> Department:
        """Department by code; KeyError if unknown."""
        return self._departments[code]

    def matter(self, code: str) -> Matter:
        """Matter by code; KeyError if unknown."""
        return self._matters[code]

    def county(self, code: str) -> County:
        """County by code; KeyError if unknown."""
        return self._counties[code]

    def requestable_matters(self) -> list[Matter]:
        """Matters the family can tick on the form, in catalogue order."""
        return [m for m in self.matters if m.requestable]

    def blocked_reason(self, code: str, *, pension_type: str | None) -> str | None:
        """Why ``code`` cannot be requested for this deceased, or None if it can.

        Lets the form explain the rule before the family submits.
        """
        if code == "pension" and pension_type == "public_institution":
            return _PUBLIC_INSTITUTION_MESSAGE
        return None

    def tasks_for(
        self,
        requested: set[str] | frozenset[str],
        *,
        pension_type: str,
        scenario: str,
        veteran: bool,
        disability: bool,
        assistance: bool,
    ) -> list[Matter]:
        """Matters a case will create: what was ticked plus automatic follow-ups.

        Follow-ups: ``certificate`` for home/hospital deaths (a medical
        certificate to verify), and ``veteran`` / ``disability`` /
        ``assistance`` when flagged (注5). Requesting ``pension`` for a
        机关事业单位 deceased raises :class:`FieldError` (seed: original
        process). Unknown codes raise ValueError. The result is ordered so
        that every matter comes after the ones it depends on.
        """
        if scenario not in {s.code for s in SCENARIOS}:
            raise ValueError(f"unknown scenario: {scenario!r}")
        if pension_type not in {code for code, _ in PENSION_TYPES}:
            raise ValueError(f"unknown pension_type: {pension_type!r}")
        requestable = {m.code for m in self.requestable_matters()}
        unknown = set(requested) - requestable
        if unknown:
            raise ValueError(f"not requestable matter codes: {sorted(unknown)}")
        for code in requested:
            reason = self.blocked_reason(code, pension_type=pension_type)
            if reason:
                raise FieldError(reason)

        wanted = set(requested)
        if scenario in _CERTIFICATE_SCENARIOS:
            wanted.add("certificate")
        for code, flag in (("veteran", veteran), ("disability", disability), ("assistance", assistance)):
            if flag:
                wanted.add(code)
        chosen = [m for m in self.matters if m.code in wanted]
        return _dependency_order(chosen)

    def dependencies_among(self, matters: list[Matter] | tuple[Matter, ...]) -> dict[str, tuple[str, ...]]:
        """For each matter, the matters it waits for among ``matters`` only.

        A dependency on something not in the case does not block anything
        (e.g. pension without medical just starts).
        """
        present = {m.code for m in matters}
        return {m.code: tuple(d for d in m.depends_on if d in present) for m in matters}


def _dependency_order(matters: list[Matter]) -> list[Matter]:
    """Stable topological order: catalogue order, but dependencies first.

    ``graphlib`` does the ordering; among the matters ready at each step the one listed first
    in the catalogue goes first, so the order a family sees does not jump around.
    """
    present = {m.code for m in matters}
    position = {m.code: i for i, m in enumerate(matters)}
    by_code = {m.code: m for m in matters}
    sorter: TopologicalSorter[str] = TopologicalSorter(
        {m.code: [d for d in m.depends_on if d in present] for m in matters}
    )
    sorter.prepare()  # cycles are rejected at load time, so this does not raise
    ready: list[str] = []
    ordered: list[Matter] = []
    while sorter.is_active():
        ready.extend(sorter.get_ready())
        ready.sort(key=position.__getitem__)
        code = ready.pop(0)
        ordered.append(by_code[code])
        sorter.done(code)
    return ordered


# --- loading -----------------------------------------------------------------

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


def _validate(data: dict[str, Any]) -> tuple[Catalogue | None, list[str]]:
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

    if problems:
        return None, problems
    catalogue = Catalogue(
        departments=tuple(Department(code=d["code"], name=d["name"]) for d in departments),
        matters=tuple(
            Matter(
                code=m["code"],
                name=m["name"],
                department=m["department"],
                time_limit_days=m["time_limit_days"],
                depends_on=tuple(m["depends_on"]),
                requestable=m["requestable"],
                summary=m["summary"],
                policy_slug=m["policy_slug"],
                note=m["note"],
            )
            for m in matters
        ),
        counties=tuple(
            County(
                code=c["code"],
                name=c["name"],
                townships=tuple(c["townships"]),
                funeral_homes=tuple(c["funeral_homes"]),
            )
            for c in counties
        ),
    )
    return catalogue, []


def load_catalogue(path: Path | str) -> Catalogue:
    """Read and check a catalogue file; raise CatalogueError listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise CatalogueError(["找不到文件 (file not found)"], path) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError([f"文件格式（TOML 语法）有误：{exc} (TOML syntax error)"], path) from None
    catalogue, problems = _validate(data)
    if catalogue is None:
        raise CatalogueError(problems, path)
    return catalogue


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped in content/catalogue.toml, loaded once per process."""
    return load_catalogue(DEFAULT_PATH)
