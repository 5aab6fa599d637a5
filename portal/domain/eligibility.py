"""Eligibility guide (待遇与办理指引): what a family can apply for, and rough amounts.

No login, no database: the family answers a few questions (:class:`Situation`) and
:func:`guide` returns one :class:`MatterAdvice` per matter that applies, a list of
:class:`Estimate` (always labelled as estimates, with formula and legal basis) and
general :class:`GuideNote` items.

Yearly figures (the base for the enterprise survivor benefits, the resident-pension
multiplier, ...) live in ``content/policy_params.toml``; load them with
:func:`load_params`.  Rules follow DOMAIN.md §3 entries 10-14 and 16-22 and the
registration-form notes 注1-注5.

Pure Python (standard library only).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "BaseFigure",
    "Estimate",
    "GuideNote",
    "GuideResult",
    "MatterAdvice",
    "Params",
    "PlanSettings",
    "Situation",
    "contribution_months",
    "first_day_of_next_month",
    "format_cn_date",
    "format_yuan",
    "guide",
    "load_params",
    "parse_params",
    "survivor_months",
]

Place = Literal["home", "hospital", "unnatural"]
PensionType = Literal["enterprise_retired", "enterprise_working", "resident", "public_institution", "none"]

PLACES: dict[str, str] = {"home": "在家中或养老机构去世", "hospital": "在医院去世", "unnatural": "意外或非正常死亡"}
PENSION_TYPES: dict[str, str] = {
    "enterprise_retired": "企业职工养老保险·已退休",
    "enterprise_working": "企业职工养老保险·在职",
    "resident": "城乡居民养老保险",
    "public_institution": "机关事业单位",
    "none": "没有参加养老保险或不清楚",
}

CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _dec(value: Any, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{what}: 应为数字")
    try:
        result = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what}: “{value}”不是有效的数字") from exc
    if not result.is_finite():
        raise ValueError(f"{what}: “{value}”不是有效的数字")
    return result


def _num(d: Decimal) -> str:
    """Plain number text: 24 -> "24", 18.50 -> "18.5", 0.25 -> "0.25" (never exponent form)."""
    text = f"{d:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_yuan(amount: Decimal) -> str:
    """12000 -> "12,000.00"."""
    return f"{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def format_cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def first_day_of_next_month(d: date) -> date:
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def _money(d: Decimal) -> Decimal:
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
            value = _dec(sec[key], f"{where}.{key}")
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
        figures.append(BaseFigure(dy, sy, _money(monthly), placeholder, text_(row, "source", where, "")))

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
        resident_top_up=_money(dec(res, "county_top_up", "resident", defaults.resident_top_up)),
        resident_time_limit=text_(res, "claim_time_limit", "resident", defaults.resident_time_limit),
        public_institution_basis=text_(pub, "basis", "public_institution", defaults.public_institution_basis),
        public_institution_formula=text_(pub, "formula", "public_institution", defaults.public_institution_formula),
        plan=plan,
    )
    if problems:
        raise ValueError(f"{source}: " + "；".join(problems))
    return params


def load_params(path: str | Path) -> Params:
    path = Path(path)
    return parse_params(path.read_text(encoding="utf-8"), source=path.name)


# ---------------------------------------------------------------------------------------------
# Input and output types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    death_date: date
    place: Place = "home"
    pension_type: PensionType = "none"
    contribution_years: float | None = None  # 累计缴费年限（含视同缴费年限）
    years_drawing_pension: float | None = None  # 已领取养老金的年限（退休人员）
    local_basic_pension: Decimal | None = None  # 城乡居保：当地月基础养老金（元）
    veteran: bool = False
    disability: bool = False
    assistance: bool = False
    provident_fund: bool = False
    hukou_in_wenzhou: bool = True
    died_abroad: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.death_date, date):
            raise ValueError("death_date: 应为日期")
        if self.place not in PLACES:
            raise ValueError(f"place: 只能是 {', '.join(PLACES)}")
        if self.pension_type not in PENSION_TYPES:
            raise ValueError(f"pension_type: 只能是 {', '.join(PENSION_TYPES)}")
        for name in ("contribution_years", "years_drawing_pension", "local_basic_pension"):
            value = getattr(self, name)
            if value is not None and _dec(value, name) < 0:
                raise ValueError(f"{name}: 不能是负数")
        if self.contribution_years is not None and _dec(self.contribution_years, "contribution_years") > 80:
            raise ValueError("contribution_years: 不能超过80年")
        if self.years_drawing_pension is not None and _dec(self.years_drawing_pension, "years_drawing_pension") > 80:
            raise ValueError("years_drawing_pension: 不能超过80年")

    @property
    def insured(self) -> bool:
        return self.pension_type != "none"


@dataclass(frozen=True)
class MatterAdvice:
    matter: str  # matter code (policy_content.MATTER_LABELS)
    title: str
    department: str  # department code (policy_content.DEPARTMENT_LABELS)
    handled_by: str  # who handles it, in Chinese
    materials: tuple[str, ...]
    deadline_text: str
    deadline: date | None
    policy_slug: str
    note: str = ""
    requestable: bool = True  # can be ticked on the 身后“一件事” form
    automatic: bool = False  # the department acts on shared data; nothing to apply for


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


@dataclass
class GuideResult:
    situation: Situation
    matters: list[MatterAdvice]
    estimates: list[Estimate]
    notes: list[GuideNote]

    @property
    def matter_codes(self) -> list[str]:
        return [m.matter for m in self.matters]

    def matter(self, code: str) -> MatterAdvice | None:
        for m in self.matters:
            if m.matter == code:
                return m
        return None

    def estimate(self, label_prefix: str) -> Estimate | None:
        for e in self.estimates:
            if e.label.startswith(label_prefix):
                return e
        return None

    @property
    def requestable_matters(self) -> list[str]:
        """Codes to pre-tick on the application form."""
        return [m.matter for m in self.matters if m.requestable]


# ---------------------------------------------------------------------------------------------
# 抚恤金 months (人社部发〔2021〕18号 第四、五条)
# ---------------------------------------------------------------------------------------------


def contribution_months(contribution_years: float | Decimal, *, max_months: Decimal | int = 24) -> int:
    """Months of 抚恤金 from cumulative contribution years (actual + deemed).

    <5: 3; 5 to <10: 6; 10 to 15 inclusive: 9; >15: 9 + 1 per full year over 15;
    capped at ``max_months`` (24, reached at 30 years).
    """
    y = _dec(contribution_years, "contribution_years")
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
    drawn = _dec(years_drawing_pension, "years_drawing_pension")
    if drawn < 0:
        raise ValueError("years_drawing_pension: 不能是负数")
    return max(months - _drawing_deduction(drawn, p.retiree_part_year), p.retiree_min_months)


# ---------------------------------------------------------------------------------------------
# The guide
# ---------------------------------------------------------------------------------------------

_PART_YEAR_TEXT = {
    "prorate": "不满一年的按比例计算",
    "round_up": "不满一年的按一年计算",
    "floor": "只按整年计算",
}


def _certificate_advice(s: Situation) -> MatterAdvice:
    if s.died_abroad:
        return MatterAdvice(
            matter="certificate",
            title="准备境外死亡证明（中文译本和使领馆认证）",
            department="gongan",
            handled_by="去世所在国家（地区）的有关机构出具；经我国驻当地使领馆认证后，在户籍地派出所使用",
            materials=("境外出具的死亡证明", "死亡证明的中文译本", "我国驻当地使领馆的认证，或条约认可的公证认证"),
            deadline_text="请尽快办理，国内的手续都要用到它。",
            deadline=None,
            policy_slug="death-abroad",
            note="具体要求可以先问我国驻当地使领馆；浙江的材料清单以户籍地派出所的要求为准。",
            requestable=False,
        )
    if s.place == "home":
        return MatterAdvice(
            matter="certificate",
            title="报告死亡并开具死亡医学证明",
            department="weijian",
            handled_by="当地乡镇（街道）卫生院或社区卫生服务中心（医生上门）",
            materials=("逝者的身份证或户口簿", "申请人的身份证", "逝者生前的病历或就诊记录（如有）"),
            deadline_text="请尽快告诉村（居）委会或乡镇（街道）；不需要先开村（居）委会证明。",
            deadline=None,
            policy_slug="death-at-home",
            note="医生上门了解死因后开具《居民死亡医学证明（推断）书》（2026年7月1日起为新版《居民死亡医学证明》）。",
            requestable=False,
        )
    if s.place == "hospital":
        return MatterAdvice(
            matter="certificate",
            title="向医院领取死亡医学证明",
            department="weijian",
            handled_by="逝者去世的医院",
            materials=("逝者的身份证", "申请人的身份证"),
            deadline_text="医院出具；请向主管医生或医务科确认领取时间。",
            deadline=None,
            policy_slug="death-in-hospital",
            note="医院会通知殡仪馆接运遗体。",
            requestable=False,
        )
    return MatterAdvice(
        matter="certificate",
        title="等待公安机关出具《死亡证明书》",
        department="gongan",
        handled_by="负责调查的公安机关",
        materials=("逝者的身份证件", "申请人的身份证"),
        deadline_text="以公安机关调查、鉴定的进度为准。",
        deadline=None,
        policy_slug="unnatural-death",
        note="公安机关同时出具遗体处置意见书；经医院救治后去世的，由医院开具医学死亡证明。",
        requestable=False,
    )


def _cremation_advice(s: Situation) -> MatterAdvice:
    if s.place == "unnatural":
        cert = "公安机关出具的《死亡证明书》和遗体处置意见书"
    else:
        cert = "《居民死亡医学证明（推断）书》第四联（居民死亡殡葬证）"
    notes = ["符合条件的，遗体接运、存放、火化、骨灰寄存等基本殡葬服务免费。"]
    if not s.hukou_in_wenzhou:
        notes.append("非温州户籍的，签订劳动合同并参加养老保险满1年的外来务工人员也可享受免费基本服务，有的县对所有在当地去世的人免费。")
    if s.assistance:
        notes.append("低保、特困等对象在部分地区还有额外的殡葬帮助，请问当地民政部门。")
    return MatterAdvice(
        matter="cremation",
        title="火化前期手续和火化",
        department="binyiguan",
        handled_by="乡镇（街道）行政服务中心即时审核；当地殡仪馆办理殡仪服务和火化",
        materials=(cert, "逝者的身份证或户口簿", "经办人的身份证", "骨灰安置意向及具体名称"),
        deadline_text="火化前期手续即时办理；火化时间请与殡仪馆预约。",
        deadline=None,
        policy_slug="cremation-materials",
        note="".join(notes),
    )


def _hukou_advice(s: Situation, p: Params) -> MatterAdvice:
    due = s.death_date + timedelta(days=p.plan.hukou_days)
    when = f"请在{format_cn_date(due)}前办理（去世后{p.plan.hukou_days}日内，登记表注1）。"
    if s.died_abroad:
        return MatterAdvice(
            matter="hukou",
            title="户口注销（境外死亡）",
            department="gongan",
            handled_by="逝者户籍所在地的派出所",
            materials=("经认证的境外死亡证明及中文译本", "逝者的户口簿、身份证或护照", "申请人的身份证"),
            deadline_text=when,
            deadline=due,
            policy_slug="death-abroad",
            note="材料清单以户籍地派出所的要求为准，办理前最好先电话确认。",
        )
    if not s.hukou_in_wenzhou:
        return MatterAdvice(
            matter="hukou",
            title="户口注销（向户籍地办理）",
            department="gongan",
            handled_by="逝者户籍所在地（温州以外）的派出所",
            materials=("死亡证明", "逝者的户口簿和身份证", "申请人的身份证"),
            deadline_text=f"建议在{format_cn_date(due)}前办理（去世后{p.plan.hukou_days}日内，以户籍地规定为准）。",
            deadline=due,
            policy_slug="non-local-death",
            note="暂住地的户口登记机关会通知户籍地（户口登记条例第八条）；为稳妥，请家属直接联系户籍地派出所。",
            requestable=False,
        )
    cert = "公安机关出具的《死亡证明书》" if s.place == "unnatural" else "死亡证明（第二联）"
    return MatterAdvice(
        matter="hukou",
        title="户口注销",
        department="gongan",
        handled_by="逝者户籍所在地的派出所（联办时由公安根据共享的死亡、火化信息办理）",
        materials=(cert, "逝者的户口簿和居民身份证", "申请人的身份证"),
        deadline_text=when,
        deadline=due,
        policy_slug="hukou-cancellation",
        note="注销时交回逝者的居民身份证；户口簿上只有逝者一人的，户口簿也要交回。窗口一般当场办结。",
    )


_RECIPIENT_MATERIALS = (
    "领取人的身份证（领取人须为直系亲属）",
    "领取人本人的银行账号和开户行",
    "领取人与逝者的关系证明",
)


def _pension_advice(s: Situation, p: Params) -> MatterAdvice | None:
    stop = first_day_of_next_month(s.death_date)
    order = "请先办完没报销的医疗费用、完成医保清算，再领丧葬费和抚恤金（注2）；医保清算为负数的，从丧葬费、抚恤金中扣回（注4）。"
    if s.pension_type in ("enterprise_retired", "enterprise_working"):
        retired = s.pension_type == "enterprise_retired"
        stop_text = f"养老金从{format_cn_date(stop)}起停发。" if retired else ""
        return MatterAdvice(
            matter="pension",
            title="申领丧葬补助金和抚恤金（企业职工养老保险）",
            department="renshe",
            handled_by="人力社保部门（社会保险经办机构）",
            materials=_RECIPIENT_MATERIALS,
            deadline_text=stop_text + p.enterprise_time_limit,
            deadline=None,
            policy_slug="enterprise-retiree-benefits" if retired else "enterprise-employee-benefits",
            note=order + "养老保险个人账户余额可以依法继承，可一并办理。",
        )
    if s.pension_type == "resident":
        return MatterAdvice(
            matter="pension",
            title="申领丧葬补助费（城乡居民养老保险）",
            department="renshe",
            handled_by="人力社保部门（城乡居保一般经乡镇、街道经办）",
            materials=_RECIPIENT_MATERIALS,
            deadline_text=f"养老金从{format_cn_date(stop)}起停发。" + p.resident_time_limit,
            deadline=None,
            policy_slug="resident-pension-funeral-grant",
            note="个人账户余额可以依法继承；办完后养老保险关系终止。如有没报销的医疗费用，请先办完报销（注2）。",
        )
    return None


def _medical_advice(s: Situation) -> MatterAdvice:
    note = "请先报销没结清的医疗费用，再清算个人账户（注2）；清算为负数的，从丧葬费、抚恤金中直接扣回（注4）。"
    if s.pension_type == "resident":
        note += "不是所有医保都有个人账户，逝者有没有个人账户可以向医保部门确认。"
    return MatterAdvice(
        matter="medical",
        title="医保个人账户清算",
        department="yibao",
        handled_by="医疗保障部门",
        materials=("继承人的身份证", "继承人的银行账户", "继承人与逝者的关系证明"),
        deadline_text="没有固定期限；请在申领丧葬费、抚恤金之前办完。",
        deadline=None,
        policy_slug="medical-account",
        note=note,
    )


def _provident_advice() -> MatterAdvice:
    return MatterAdvice(
        matter="provident",
        title="提取住房公积金余额（继承人）",
        department="gongjijin",
        handled_by="温州市住房公积金管理中心",
        materials=(
            "死亡证明",
            "继承人（或受遗赠人）的身份证",
            "继承权证明（如公证书、法院判决书，或当地认可的承诺书）",
            "继承人的银行账户",
        ),
        deadline_text="没有查到公开的期限；以公积金中心为准。",
        deadline=None,
        policy_slug="provident-fund",
        note="继承人或受遗赠人可以提取全部余额（住房公积金管理条例第二十四条）。公积金中心是否已加入联办，请先问窗口。",
    )


def _automatic(matter: str, title: str, department: str, handled_by: str, slug: str, note: str, s: Situation, p: Params) -> MatterAdvice:
    nxt = first_day_of_next_month(s.death_date)
    check = date(nxt.year, nxt.month, p.plan.reconciliation_day)
    return MatterAdvice(
        matter=matter,
        title=title,
        department=department,
        handled_by=handled_by,
        materials=(),
        deadline_text=f"部门根据共享的死亡信息主动处理，不需要另外申请；一般在下一个月的发放周期内，可在{format_cn_date(check)}（每月对账日）以后核对。",
        deadline=None,
        policy_slug=slug,
        note=note,
        requestable=False,
        automatic=True,
    )


def guide(situation: Situation, params: Params | None = None) -> GuideResult:
    """Work out the matters, rough amounts and notes for one situation."""
    s = situation
    p = params or Params()
    matters: list[MatterAdvice] = [_certificate_advice(s)]
    estimates: list[Estimate] = []
    notes: list[GuideNote] = []

    if s.died_abroad:
        notes.append(
            GuideNote(
                "遗体或骨灰运回",
                "在境外火化的，不需要在温州办理火化手续。把遗体或骨灰运回国内涉及专门手续，请提前联系我国驻当地使领馆和国内的殡仪馆。",
                "death-abroad",
            )
        )
    else:
        matters.append(_cremation_advice(s))
    matters.append(_hukou_advice(s, p))

    pension = _pension_advice(s, p)
    if pension:
        matters.append(pension)
    if s.insured:
        matters.append(_medical_advice(s))
    if s.provident_fund:
        matters.append(_provident_advice())
    if s.veteran:
        matters.append(
            _automatic(
                "veteran",
                "优抚待遇结算（残疾军人、优抚对象等）",
                "tuiyi",
                "退役军人事务部门",
                "veteran-benefits",
                "残疾军人因病去世的加发12个月残疾抚恤金作丧葬补助费，领定期抚恤金的遗属去世的加发6个月（军人抚恤优待条例）；"
                "不属于优抚对象的普通退役军人，没有专门的一次性抚恤金。",
                s,
                p,
            )
        )
        notes.append(
            GuideNote(
                "普通退役军人",
                "不是残疾军人、在乡复员军人等优抚对象的，待遇按本人参加的社会保险办理；地方可能有悼念、光荣牌等褒扬措施。",
                "other-veterans",
            )
        )
    if s.disability:
        matters.append(
            _automatic(
                "disability",
                "停发残疾人两项补贴、注销残疾人证",
                "canlian",
                "残联、民政部门",
                "disability-subsidies",
                "困难残疾人生活补贴和重度残疾人护理补贴一般从去世次月起停发；去世后还发放的，请按要求退回。",
                s,
                p,
            )
        )
    if s.assistance:
        matters.append(
            _automatic(
                "assistance",
                "停发低保金或特困供养金",
                "minzheng",
                "民政部门",
                "subsistence-allowance",
                "家里其他人还在领低保的，家庭人口变化后可能需要重新核定。部分地区对特殊困难对象有免费骨灰盒、墓穴等帮助。",
                s,
                p,
            )
        )

    # ---- estimates and pension notes --------------------------------------------------------
    if s.pension_type in ("enterprise_retired", "enterprise_working"):
        _enterprise_estimates(s, p, estimates, notes)
    elif s.pension_type == "resident":
        _resident_estimates(s, p, estimates, notes)
    elif s.pension_type == "public_institution":
        notes.append(
            GuideNote(
                "机关事业单位人员的丧葬费和抚恤金",
                "不在身后“一件事”联办范围内，请按原流程通过逝者的工作单位（或原单位）和机关事业单位社保经办机构办理。"
                f"仅供了解：国家规定（{p.public_institution_basis}）病故人员{p.public_institution_formula}。"
                "2014年养老保险制度改革后如何衔接，以单位和经办机构答复为准，本页不做估算。",
                "public-institution",
            )
        )

    if pension is not None:
        notes.append(
            GuideNote(
                "谁可以领",
                "丧葬费、抚恤金的领取人必须是逝者的直系亲属：配偶、子女、父母、孙子女、外孙子女等（注3）。",
                "recipient-direct-relatives",
            )
        )
        notes.append(
            GuideNote(
                "先报销医疗费，再领丧葬费",
                "请先办完逝者没报销的医疗费用并完成医保个人账户清算，再申领丧葬费、抚恤金（注2）；清算为负数的，从丧葬费、抚恤金中直接扣回（注4）。",
                "medical-bills-first",
            )
        )
    if s.pension_type in ("enterprise_retired", "resident"):
        notes.append(
            GuideNote(
                "多领的养老金要退回",
                f"养老金从{format_cn_date(first_day_of_next_month(s.death_date))}起停发，之后打到卡上的养老金需要退回，具体以人力社保部门的通知为准。",
                "overpaid-pension",
            )
        )
    if s.pension_type in ("enterprise_retired", "enterprise_working", "resident"):
        notes.append(
            GuideNote(
                "养老保险个人账户",
                "逝者养老保险个人账户的余额可以依法继承（社会保险法第十四条；国发〔2014〕8号），金额由社保经办机构核算。",
                "pension-account-inheritance",
            )
        )
    if not s.hukou_in_wenzhou and not s.died_abroad:
        notes.append(
            GuideNote(
                "非温州户籍",
                "死亡证明和火化在温州办理；户口由户籍地公安机关注销；养老保险、医保、公积金由逝者参保（缴存）的地方办理，在外地参保的请向参保地咨询。",
                "non-local-death",
            )
        )
    return GuideResult(situation=s, matters=matters, estimates=estimates, notes=notes)


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
                f"没有配置“{p.base_label}”，无法估算。丧葬补助金 = 基数 × {_num(p.enterprise_funeral_months)}；抚恤金 = 基数 × 发放月数。",
                "enterprise-retiree-benefits" if retired else "enterprise-employee-benefits",
            )
        )
        return
    b = base.monthly
    base_text = f"{p.base_label}（{format_yuan(b)} {p.base_unit}）"
    note = _base_note(base, exact, s.death_date)
    grant = _money(b * p.enterprise_funeral_months)
    estimates.append(
        Estimate(
            label="丧葬补助金（估算）",
            amount=grant,
            formula=f"{base_text} × {_num(p.enterprise_funeral_months)} = {format_yuan(grant)} 元",
            basis=p.enterprise_basis,
            note=note,
        )
    )
    slug = "enterprise-retiree-benefits" if retired else "enterprise-employee-benefits"
    if s.contribution_years is None:
        notes.append(
            GuideNote(
                "抚恤金需要缴费年限才能估算",
                f"抚恤金 = 基数 × 发放月数，月数按累计缴费年限确定（3至{_num(p.enterprise_max_months)}个月）。填写缴费年限后可以估算。",
                slug,
            )
        )
        return
    by_contrib = contribution_months(s.contribution_years, max_months=p.enterprise_max_months)
    cy = _num(_dec(s.contribution_years, "contribution_years"))
    if not retired:
        months = Decimal(by_contrib)
        how = f"累计缴费{cy}年，对应{by_contrib}个月"
    elif s.years_drawing_pension is None:
        notes.append(
            GuideNote(
                "抚恤金需要领取养老金的年限才能估算",
                f"退休人员的抚恤金月数 = 缴费年限对应的月数（累计缴费{cy}年，对应{by_contrib}个月）减去领取养老金的年限，"
                f"最少{_num(p.retiree_min_months)}个月。填写领取养老金的年限后可以估算。",
                slug,
            )
        )
        return
    else:
        drawn = _dec(s.years_drawing_pension, "years_drawing_pension")
        months = survivor_months(s.contribution_years, s.years_drawing_pension, p)
        deduction = _drawing_deduction(drawn, p.retiree_part_year)
        how = (
            f"累计缴费{cy}年对应{by_contrib}个月，已领取养老金{_num(drawn)}年减{_num(deduction)}个月"
            f"（{_PART_YEAR_TEXT[p.retiree_part_year]}），最少{_num(p.retiree_min_months)}个月，"
            f"得{_num(months)}个月"
        )
    amount = _money(b * months)
    estimates.append(
        Estimate(
            label="抚恤金（估算）",
            amount=amount,
            formula=f"{base_text} × {_num(months)} 个月 = {format_yuan(amount)} 元（{how}）",
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
                f"丧葬补助费 = 去世当月当地基础养老金 × {_num(months)}。填写当地每月基础养老金后可以估算。",
                "resident-pension-funeral-grant",
            )
        )
        return
    pension = _money(_dec(s.local_basic_pension, "local_basic_pension"))
    amount = _money(pension * months + p.resident_top_up)
    top_up = f" + 县级加发 {format_yuan(p.resident_top_up)} 元" if p.resident_top_up else ""
    estimates.append(
        Estimate(
            label="丧葬补助费（估算）",
            amount=amount,
            formula=f"当地基础养老金 {format_yuan(pension)} 元/月 × {_num(months)}{top_up} = {format_yuan(amount)} 元",
            basis=p.resident_basis,
            note="基础养老金按去世当月的当地标准，各县（市、区）不同、每年可能调整；实际金额以人力社保部门核定的为准。",
        )
    )
