"""Rough amounts of the survivor benefits (丧葬补助金, 抚恤金, 丧葬补助费), always labelled as estimates.

Months of 抚恤金 follow 人社部发〔2021〕18号 第四、五条; the yearly figures come from
content/policy_params.toml (:class:`Params`). :func:`estimates_for` adds an :class:`Estimate`
per amount it can work out, or a :class:`GuideNote` saying what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from portal.domain.policy_params import BaseFigure, Params, format_yuan, money, plain_number, to_decimal

if TYPE_CHECKING:
    from portal.domain.eligibility import Situation

__all__ = ["Estimate", "GuideNote", "contribution_months", "estimates_for", "survivor_months"]


@dataclass(frozen=True)
class Estimate:
    label: str
    amount: Decimal
    formula: str
    basis: str
    is_estimate: bool = True
    matter: str = "pension"
    note: str = ""


@dataclass(frozen=True)
class GuideNote:
    title: str
    text: str
    policy_slug: str | None = None


def contribution_months(contribution_years: float | Decimal, *, max_months: Decimal | int = 24) -> int:
    """Months of 抚恤金 from cumulative contribution years (actual + deemed).

    <5: 3; 5 to <10: 6; 10 to 15 inclusive: 9; >15: 9 + 1 per full year over 15;
    capped at ``max_months`` (24, reached at 30 years).
    """
    y = to_decimal(contribution_years, "contribution_years")
    if y < 0:
        raise ValueError("contribution_years: 不能是负数")
    if y < 5:
        months = 3
    elif y < 10:
        months = 6
    elif y <= 15:
        months = 9
    else:
        months = 9 + int((y - 15).to_integral_value(ROUND_FLOOR))
    return min(months, int(Decimal(max_months)))


def _drawing_deduction(years_drawing: Decimal, rule: str) -> Decimal:
    if rule == "round_up":
        return years_drawing.to_integral_value(ROUND_CEILING)
    if rule == "floor":
        return years_drawing.to_integral_value(ROUND_FLOOR)
    return years_drawing  # prorate


def survivor_months(
    contribution_years: float | Decimal,
    years_drawing_pension: float | Decimal | None = None,
    params: Params | None = None,
) -> Decimal:
    """Months of 抚恤金; for retirees (``years_drawing_pension`` given) minus one month per
    year of pension drawn (part-years per ``params.retiree_part_year``), never below
    ``params.retiree_min_months`` (9)."""
    p = params or Params()
    months = Decimal(contribution_months(contribution_years, max_months=p.enterprise_max_months))
    if years_drawing_pension is None:
        return months
    drawn = to_decimal(years_drawing_pension, "years_drawing_pension")
    if drawn < 0:
        raise ValueError("years_drawing_pension: 不能是负数")
    return max(months - _drawing_deduction(drawn, p.retiree_part_year), p.retiree_min_months)


_PART_YEAR_TEXT = {
    "prorate": "不满一年的按比例计算",
    "round_up": "不满一年的按一年计算",
    "floor": "只按整年计算",
}


def _base_note(base: BaseFigure, exact: bool, death_date: date) -> str:
    parts = [f"基数采用{base.statistics_year}年数值（每年公布、每年调整）。"]
    if not exact:
        parts.append(f"参数中没有{death_date.year}年去世适用的基数，暂按{base.death_year}年适用的数值估算。")
    if base.placeholder:
        parts.append("注意：当前基数是占位数值，不是官方公布数，请以人力社保部门核定的金额为准。")
    return "".join(parts)


def _enterprise_estimates(s: Situation, p: Params, estimates: list[Estimate], notes: list[GuideNote]) -> None:
    base, exact = p.base_for(s.death_date)
    retired = s.pension_type == "enterprise_retired"
    if base is None:
        notes.append(
            GuideNote(
                "暂时无法估算金额",
                f"没有配置“{p.base_label}”，无法估算。"
                f"丧葬补助金 = 基数 × {plain_number(p.enterprise_funeral_months)}；抚恤金 = 基数 × 发放月数。",
                "enterprise-retiree-benefits" if retired else "enterprise-employee-benefits",
            )
        )
        return
    b = base.monthly
    base_text = f"{p.base_label}（{format_yuan(b)} {p.base_unit}）"
    note = _base_note(base, exact, s.death_date)
    grant = money(b * p.enterprise_funeral_months)
    estimates.append(
        Estimate(
            label="丧葬补助金（估算）",
            amount=grant,
            formula=f"{base_text} × {plain_number(p.enterprise_funeral_months)} = {format_yuan(grant)} 元",
            basis=p.enterprise_basis,
            note=note,
        )
    )
    slug = "enterprise-retiree-benefits" if retired else "enterprise-employee-benefits"
    if s.contribution_years is None:
        notes.append(
            GuideNote(
                "抚恤金需要缴费年限才能估算",
                f"抚恤金 = 基数 × 发放月数，月数按累计缴费年限确定（3至{plain_number(p.enterprise_max_months)}个月）。"
                "填写缴费年限后可以估算。",
                slug,
            )
        )
        return
    by_contrib = contribution_months(s.contribution_years, max_months=p.enterprise_max_months)
    cy = plain_number(to_decimal(s.contribution_years, "contribution_years"))
    if not retired:
        months = Decimal(by_contrib)
        how = f"累计缴费{cy}年，对应{by_contrib}个月"
    elif s.years_drawing_pension is None:
        notes.append(
            GuideNote(
                "抚恤金需要领取养老金的年限才能估算",
                f"退休人员的抚恤金月数 = 缴费年限对应的月数（累计缴费{cy}年，对应{by_contrib}个月）减去领取养老金的年限，"
                f"最少{plain_number(p.retiree_min_months)}个月。填写领取养老金的年限后可以估算。",
                slug,
            )
        )
        return
    else:
        drawn = to_decimal(s.years_drawing_pension, "years_drawing_pension")
        months = survivor_months(s.contribution_years, s.years_drawing_pension, p)
        deduction = _drawing_deduction(drawn, p.retiree_part_year)
        how = (
            f"累计缴费{cy}年对应{by_contrib}个月，已领取养老金{plain_number(drawn)}年减{plain_number(deduction)}个月"
            f"（{_PART_YEAR_TEXT[p.retiree_part_year]}），最少{plain_number(p.retiree_min_months)}个月，"
            f"得{plain_number(months)}个月"
        )
    amount = money(b * months)
    estimates.append(
        Estimate(
            label="抚恤金（估算）",
            amount=amount,
            formula=f"{base_text} × {plain_number(months)} 个月 = {format_yuan(amount)} 元（{how}）",
            basis=p.enterprise_basis,
            note=note,
        )
    )


def _resident_estimates(s: Situation, p: Params, estimates: list[Estimate], notes: list[GuideNote]) -> None:
    months = p.resident_funeral_months
    if s.local_basic_pension is None:
        notes.append(
            GuideNote(
                "丧葬补助费的算法",
                f"丧葬补助费 = 去世当月当地基础养老金 × {plain_number(months)}。填写当地每月基础养老金后可以估算。",
                "resident-pension-funeral-grant",
            )
        )
        return
    pension = money(to_decimal(s.local_basic_pension, "local_basic_pension"))
    amount = money(pension * months + p.resident_top_up)
    top_up = f" + 县级加发 {format_yuan(p.resident_top_up)} 元" if p.resident_top_up else ""
    estimates.append(
        Estimate(
            label="丧葬补助费（估算）",
            amount=amount,
            formula=f"当地基础养老金 {format_yuan(pension)} 元/月 × {plain_number(months)}{top_up} = {format_yuan(amount)} 元",
            basis=p.resident_basis,
            note="基础养老金按去世当月的当地标准，各县（市、区）不同、每年可能调整；实际金额以人力社保部门核定的为准。",
        )
    )


def estimates_for(s: Situation, p: Params) -> tuple[list[Estimate], list[GuideNote]]:
    """The estimates for the deceased's pension scheme, and notes on what could not be estimated."""
    estimates: list[Estimate] = []
    notes: list[GuideNote] = []
    if s.pension_type in ("enterprise_retired", "enterprise_working"):
        _enterprise_estimates(s, p, estimates, notes)
    elif s.pension_type == "resident":
        _resident_estimates(s, p, estimates, notes)
    return estimates, notes
