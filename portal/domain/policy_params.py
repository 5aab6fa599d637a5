"""The county's figures for the eligibility guide and the personal plan (content/policy_params.toml).

A county edits the TOML file, not the code; :func:`parse_params` checks it and lists every
problem at once. :func:`default_params` is the shipped file, read once, so the plan, the guide
and the family's progress page count the same days (户口 30 days, the pension claim, ...).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_PATH",
    "BaseFigure",
    "Params",
    "PlanSettings",
    "default_params",
    "format_yuan",
    "money",
    "plain_number",
    "load_params",
    "parse_params",
    "to_decimal",
]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "content" / "policy_params.toml"

CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def to_decimal(value: Any, what: str) -> Decimal:
    """A number typed by a person or a county (commas allowed); ValueError names ``what``."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: 应为数字")
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what}: “{value}”不是有效的数字") from exc
    if not result.is_finite():
        raise ValueError(f"{what}: “{value}”不是有效的数字")
    return result


def plain_number(d: Decimal) -> str:
    """Plain number text: 24 -> "24", 18.50 -> "18.5", 0.25 -> "0.25" (never exponent form)."""
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_yuan(amount: Decimal) -> str:
    """12000 -> "12,000.00"."""
    return f"{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def money(d: Decimal) -> Decimal:
    """Round to fen (two decimals), half up."""
    return d.quantize(CENT, ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Parameters (content/policy_params.toml)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseFigure:
    """上一年度全省城镇居民月人均可支配收入, for deaths in ``death_year``."""

    death_year: int
    statistics_year: int
    monthly: Decimal
    placeholder: bool
    source: str


@dataclass(frozen=True)
class PlanSettings:
    application_days: int = 1
    cremation_days: int = 3
    medical_reimbursement_days: int = 30
    pension_claim_days: int = 90
    reconciliation_day: int = 10
    hukou_days: int = 30


@dataclass(frozen=True)
class Params:
    base_label: str = "上一年度全省城镇居民月人均可支配收入"
    base_unit: str = "元/月"
    base_figures: tuple[BaseFigure, ...] = ()
    enterprise_basis: str = "中华人民共和国社会保险法 第十七条；人社部发〔2021〕18号《企业职工基本养老保险遗属待遇暂行办法》"
    enterprise_funeral_months: Decimal = Decimal(2)
    enterprise_max_months: Decimal = Decimal(24)
    retiree_min_months: Decimal = Decimal(9)
    retiree_part_year: str = "prorate"
    enterprise_time_limit: str = "办结时限以当地公布的承诺为准。"
    resident_basis: str = "浙江省城乡居民基本养老保险相关规定（丧葬补助费为死亡当月基础养老金的20个月）"
    resident_funeral_months: Decimal = Decimal(20)
    resident_top_up: Decimal = Decimal("0.00")
    resident_time_limit: str = "办结时限以当地公布的承诺为准。"
    public_institution_basis: str = "民发〔2011〕192号"
    public_institution_formula: str = (
        "一次性抚恤金 = 上一年度全国城镇居民人均可支配收入 × 2 + 本人生前40个月基本工资或基本退休费"
    )
    plan: PlanSettings = field(default_factory=PlanSettings)

    def base_for(self, death_date: date) -> tuple[BaseFigure | None, bool]:
        """The base figure for a death on ``death_date`` and whether it is an exact year match.

        Uses the row for that year; otherwise the latest earlier row; otherwise the earliest row.
        """
        if not self.base_figures:
            return None, False
        rows = sorted(self.base_figures, key=lambda b: b.death_year)
        for row in rows:
            if row.death_year == death_date.year:
                return row, True
        earlier = [r for r in rows if r.death_year < death_date.year]
        return (earlier[-1] if earlier else rows[0]), False


_PART_YEAR_RULES = {"prorate", "round_up", "floor"}


def parse_params(text: str, *, source: str = "policy_params.toml") -> Params:
    """Parse the TOML text of the parameters file; ValueError lists every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: 不是有效的 TOML：{exc}") from exc
    problems: list[str] = []

    def section(name: str) -> dict[str, Any]:
        value = data.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"[{name}] 应为表（table）")
            return {}
        return value

    def dec(sec: dict[str, Any], key: str, where: str, default: Decimal, *, minimum: Decimal = Decimal(0)) -> Decimal:
        if key not in sec:
            return default
        try:
            value = to_decimal(sec[key], f"{where}.{key}")
        except ValueError as exc:
            problems.append(str(exc))
            return default
        if value < minimum:
            problems.append(f"{where}.{key}: 不能小于 {minimum}")
        return value

    def text_(sec: dict[str, Any], key: str, where: str, default: str) -> str:
        value = sec.get(key, default)
        if not isinstance(value, str):
            problems.append(f"{where}.{key}: 应为字符串")
            return default
        return value

    def int_(sec: dict[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
        value = sec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            problems.append(f"{where}.{key}: 应为 {lo} 到 {hi} 之间的整数")
            return default
        return value

    defaults = Params()
    base_sec = section("survivor_base")
    figures: list[BaseFigure] = []
    rows = base_sec.get("years", [])
    if not isinstance(rows, list):
        problems.append("[[survivor_base.years]] 应为表的数组")
        rows = []
    seen_years: set[int] = set()
    for i, row in enumerate(rows, 1):
        where = f"survivor_base.years[{i}]"
        if not isinstance(row, dict):
            problems.append(f"{where}: 应为表")
            continue
        dy = int_(row, "death_year", where, 0, 1990, 2200)
        sy = int_(row, "statistics_year", where, dy - 1 if dy else 0, 1990, 2200)
        if "monthly" not in row:
            problems.append(f"{where}.monthly: 缺少")
            continue
        monthly = dec(row, "monthly", where, Decimal(0), minimum=Decimal("0.01"))
        placeholder = row.get("placeholder", False)
        if not isinstance(placeholder, bool):
            problems.append(f"{where}.placeholder: 应为 true 或 false")
            placeholder = True
        if dy in seen_years:
            problems.append(f"{where}.death_year: {dy} 重复")
        seen_years.add(dy)
        figures.append(BaseFigure(dy, sy, money(monthly), placeholder, text_(row, "source", where, "")))

    ent = section("enterprise")
    part_year = text_(ent, "retiree_part_year", "enterprise", defaults.retiree_part_year)
    if part_year not in _PART_YEAR_RULES:
        problems.append(f"enterprise.retiree_part_year: 只能是 {', '.join(sorted(_PART_YEAR_RULES))}")
        part_year = defaults.retiree_part_year
    res = section("resident")
    pub = section("public_institution")
    dl = section("deadlines")
    pl = section("plan")
    plan = PlanSettings(
        application_days=int_(pl, "application_days", "plan", 1, 0, 30),
        cremation_days=int_(pl, "cremation_days", "plan", 3, 0, 60),
        medical_reimbursement_days=int_(pl, "medical_reimbursement_days", "plan", 30, 0, 365),
        pension_claim_days=int_(pl, "pension_claim_days", "plan", 90, 0, 730),
        reconciliation_day=int_(pl, "reconciliation_day", "plan", 10, 1, 28),
        hukou_days=int_(dl, "hukou_days", "deadlines", 30, 1, 365),
    )
    params = Params(
        base_label=text_(base_sec, "label", "survivor_base", defaults.base_label),
        base_unit=text_(base_sec, "unit", "survivor_base", defaults.base_unit),
        base_figures=tuple(figures),
        enterprise_basis=text_(ent, "basis", "enterprise", defaults.enterprise_basis),
        enterprise_funeral_months=dec(ent, "funeral_grant_months", "enterprise", defaults.enterprise_funeral_months),
        enterprise_max_months=dec(ent, "max_survivor_months", "enterprise", defaults.enterprise_max_months),
        retiree_min_months=dec(ent, "retiree_min_months", "enterprise", defaults.retiree_min_months),
        retiree_part_year=part_year,
        enterprise_time_limit=text_(ent, "claim_time_limit", "enterprise", defaults.enterprise_time_limit),
        resident_basis=text_(res, "basis", "resident", defaults.resident_basis),
        resident_funeral_months=dec(res, "funeral_grant_months", "resident", defaults.resident_funeral_months),
        resident_top_up=money(dec(res, "county_top_up", "resident", defaults.resident_top_up)),
        resident_time_limit=text_(res, "claim_time_limit", "resident", defaults.resident_time_limit),
        public_institution_basis=text_(pub, "basis", "public_institution", defaults.public_institution_basis),
        public_institution_formula=text_(pub, "formula", "public_institution", defaults.public_institution_formula),
        plan=plan,
    )
    if problems:
        raise ValueError(f"{source}: " + "；".join(problems))
    return params


def load_params(path: str | Path) -> Params:
    """Read and check a parameters file."""
    path = Path(path)
    return parse_params(path.read_text(encoding="utf-8"), source=path.name)


@functools.cache
def default_params() -> Params:
    """The parameters shipped in content/policy_params.toml, read once per process."""
    return load_params(DEFAULT_PATH)
