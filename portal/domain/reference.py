"""Fixed option lists used by the form, the PDF and the back office.

Lists are ``(code, label)`` tuples so templates can loop over them directly;
codes are what gets stored. Sources are DOMAIN.md §1.3, §1.6, §2.5-2.8.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "CERT_NEW_FORMAT_FROM",
    "ETHNICITIES",
    "ethnicity_name",
    "Scenario",
    "SCENARIOS",
    "scenario",
    "CERTIFICATE_NAMES",
    "certificate_name",
    "APPLICANT_RELATIONS",
    "DIRECT_RELATIVES",
    "recipient_needs_review",
    "PENSION_TYPES",
    "PENSION_HINTS",
    "CHANNELS",
    "ORIGIN_CHANNELS",
    "ROLES",
    "ASHES_CATEGORIES",
    "ASHES_NAME_PROMPTS",
    "label_for",
]

# 国卫规划发〔2026〕5号: the new 《居民死亡医学证明》 is numbered by the ID number.
CERT_NEW_FORMAT_FROM = date(2026, 7, 1)


def label_for(options: tuple[tuple[str, str], ...], code: str) -> str:
    """Label for ``code`` in a ``(code, label)`` list; KeyError if unknown."""
    for option_code, label in options:
        if option_code == code:
            return label
    raise KeyError(code)


# --- 民族, GB/T 3304-1991 ----------------------------------------------------

_GB3304: tuple[tuple[str, str], ...] = (
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"),
    ("05", "维吾尔族"), ("06", "苗族"), ("07", "彝族"), ("08", "壮族"),
    ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
    ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"),
    ("17", "哈萨克族"), ("18", "傣族"), ("19", "黎族"), ("20", "傈僳族"),
    ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"),
    ("25", "水族"), ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"),
    ("29", "柯尔克孜族"), ("30", "土族"), ("31", "达斡尔族"), ("32", "仫佬族"),
    ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"), ("36", "毛南族"),
    ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"),
    ("41", "塔吉克族"), ("42", "怒族"), ("43", "乌孜别克族"), ("44", "俄罗斯族"),
    ("45", "鄂温克族"), ("46", "德昂族"), ("47", "保安族"), ("48", "裕固族"),
    ("49", "京族"), ("50", "塔塔尔族"), ("51", "独龙族"), ("52", "鄂伦春族"),
    ("53", "赫哲族"), ("54", "门巴族"), ("55", "珞巴族"), ("56", "基诺族"),
)

# 汉族 first, then 畲族 (the main minority in southern Zhejiang), then by code.
_FIRST = ("01", "22")
ETHNICITIES: tuple[tuple[str, str], ...] = tuple(
    item for code in _FIRST for item in _GB3304 if item[0] == code
) + tuple(item for item in _GB3304 if item[0] not in _FIRST)

_ETHNICITY_BY_CODE = dict(_GB3304)


def ethnicity_name(code: str) -> str:
    """Name for a 2-digit GB 3304 code (as 浙里办 sends it); KeyError if unknown."""
    return _ETHNICITY_BY_CODE[code.zfill(2)]


# --- death scenarios (DOMAIN §1.6) ------------------------------------------

CERTIFICATE_NAMES: dict[str, str] = {
    "medical": "《居民死亡医学证明（推断）书》",
    "police": "《死亡证明书》（公安机关出具）",
}


@dataclass(frozen=True)
class Scenario:
    """How the person died decides which certificate exists and who issued it."""

    code: str
    label: str
    hint: str
    certificate_type: str  # "medical" | "police"
    issuer: str

    @property
    def certificate_name(self) -> str:
        return CERTIFICATE_NAMES[self.certificate_type]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        code="home",
        label="在家中、养老机构等未经救治的正常死亡",
        hint="由乡镇卫生院或社区卫生服务中心的医生上门调查后出具死亡证明，不需要村（居）委会先开证明",
        certificate_type="medical",
        issuer="乡镇卫生院或社区卫生服务中心",
    ),
    Scenario(
        code="hospital",
        label="在医疗机构死亡",
        hint="由救治的医院出具死亡证明，并通知殡仪馆接运遗体",
        certificate_type="medical",
        issuer="救治的医疗机构",
    ),
    Scenario(
        code="unnatural",
        label="非正常死亡（公安机关处理）",
        hint="由公安机关根据调查和鉴定结果出具《死亡证明书》和遗体处置意见书；经医院救治的，由医院出具死亡证明",
        certificate_type="police",
        issuer="公安机关办案单位或派出所",
    ),
)

_SCENARIO_BY_CODE = {s.code: s for s in SCENARIOS}


def scenario(code: str) -> Scenario:
    """Scenario for ``code``; KeyError if unknown."""
    return _SCENARIO_BY_CODE[code]


def certificate_name(certificate_type: str, death_date: date | None = None) -> str:
    """Certificate title as the family will see it on paper.

    From 2026-07-01 the medical certificate drops the “（推断）书” suffix.
    """
    if certificate_type == "medical" and death_date is not None and death_date >= CERT_NEW_FORMAT_FROM:
        return "《居民死亡医学证明》"
    return CERTIFICATE_NAMES[certificate_type]


# --- relations (DOMAIN §1.3 #5, §2.8) ---------------------------------------

APPLICANT_RELATIONS: tuple[tuple[str, str], ...] = (
    ("spouse", "配偶"),
    ("child", "子女"),
    ("parent", "父母"),
    ("sibling", "兄弟姐妹"),
    ("grandparent", "祖父母/外祖父母"),
    ("grandchild", "孙子女/外孙子女"),
    ("other_relative", "其他亲属"),
    ("agent", "受委托人"),
)

# 注3: the 抚恤金 recipient must be a 直系亲属; anyone else goes to manual review.
DIRECT_RELATIVES: frozenset[str] = frozenset(
    {"spouse", "child", "parent", "grandparent", "grandchild"}
)


def recipient_needs_review(relation_code: str) -> bool:
    """True when staff must check the recipient by hand (not a 直系亲属, or unknown code)."""
    return relation_code not in DIRECT_RELATIVES


# --- pension category (drives the 机关事业单位 “original process” rule) -------

PENSION_TYPES: tuple[tuple[str, str], ...] = (
    ("enterprise_retired", "企业职工（已退休）"),
    ("enterprise_working", "企业职工（在职缴费）"),
    ("resident", "城乡居民养老保险"),
    ("public_institution", "机关事业单位"),
    ("none", "未参保/不清楚"),
)

# One plain-words hint per pension type, for families who do not know the official names.
PENSION_HINTS: dict[str, str] = {
    "enterprise_retired": "已经退休，每月领养老金",
    "enterprise_working": "还在上班，单位或个人在交养老保险",
    "resident": "农村和城镇居民自己交的养老保险，领的是“基础养老金”",
    "public_institution": "公务员、教师、医生等，由原单位办理",
    "none": "没有参加养老保险，或者不清楚",
}


# --- ashes placement (seed: “以上必须填写具体名称”) ---------------------------

ASHES_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("funeral_home", "殡仪馆"),
    ("commercial_cemetery", "经营性公墓"),
    ("public_cemetery", "乡村公益性墓地或骨灰堂"),
    ("pre_reform_tomb", "殡改前已建寿坟"),
)

# Every category needs a specific name; these are the field labels for it.
ASHES_NAME_PROMPTS: dict[str, str] = {
    "funeral_home": "请填写寄存骨灰的殡仪馆名称",
    "commercial_cemetery": "请填写公墓名称",
    "public_cemetery": "请填写公益性墓地或骨灰堂的名称（含所在村）",
    "pre_reform_tomb": "请填写寿坟所在地点（乡镇、村和具体位置）",
}


# --- how an application reached the portal, and who works in the back office ------------------

CHANNELS: tuple[tuple[str, str], ...] = (
    ("online", "网上申请"),
    ("walk_in", "窗口代办（家属到场）"),
    ("phone", "电话代办"),
)
# How a case may have started besides the channels staff record: a department's fact (主动办).
ORIGIN_CHANNELS: tuple[tuple[str, str], ...] = CHANNELS + (("proactive", "主动办（部门数据发起）"),)

ROLES: tuple[tuple[str, str], ...] = (
    ("window_clerk", "乡镇（街道）窗口人员"),
    ("officer", "部门经办人"),
    ("admin", "管理员"),
)
