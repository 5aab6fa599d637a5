"""The matter catalogue: departments, matters (事项) and counties.

It lives in ``content/catalogue.toml`` so a county can adapt names, time
limits and township lists without touching code (注6: localities may adapt
the form). The file is checked once at start-up and every problem is
reported together, so whoever edits it can fix everything in one pass.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from portal.domain.catalogue_check import AUTOMATIC_MATTERS, check
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

# Scenarios whose certificate is a medical one that 卫健 verifies.
_CERTIFICATE_SCENARIOS = frozenset({"home", "hospital"})

_PUBLIC_INSTITUTION_MESSAGE = (
    "逝者是机关事业单位人员的，丧葬费和抚恤金按原渠道办理："
    "请向逝者原工作单位或机关事业单位社保经办机构申请，并在这里取消勾选“{matter}”"
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
    proactive: bool = False  # 主动办: started as soon as a department reports the death, family or not


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
            return _PUBLIC_INSTITUTION_MESSAGE.format(matter=self.matter("pension").name)
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

    def proactive_matters(self) -> list[Matter]:
        """Matters that must happen whether or not a family applies (户口注销, benefit stops), in order."""
        return _dependency_order([m for m in self.matters if m.proactive])

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


def _build(data: dict[str, Any]) -> tuple[Catalogue | None, list[str]]:
    entries, problems = check(data)
    if problems:
        return None, problems
    departments, matters, counties = entries["department"], entries["matter"], entries["county"]
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
                proactive=m["proactive"],
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
    catalogue, problems = _build(data)
    if catalogue is None:
        raise CatalogueError(problems, path)
    return catalogue


@functools.cache
def default_catalogue() -> Catalogue:
    """The catalogue shipped in content/catalogue.toml, loaded once per process."""
    return load_catalogue(DEFAULT_PATH)
