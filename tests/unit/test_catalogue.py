"""Catalogue file: the shipped data, error reporting, and case task selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.domain.catalogue import (
    Catalogue,
    CatalogueError,
    County,
    Department,
    Matter,
    default_catalogue,
    load_catalogue,
)
from portal.domain.reference import PENSION_TYPES, SCENARIOS
from portal.domain.validators import FieldError

WENZHOU = {
    "330302": "鹿城区", "330303": "龙湾区", "330304": "瓯海区", "330305": "洞头区",
    "330324": "永嘉县", "330326": "平阳县", "330327": "苍南县", "330328": "文成县",
    "330329": "泰顺县", "330381": "瑞安市", "330382": "乐清市", "330383": "龙港市",
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return default_catalogue()


def tasks(cat: Catalogue, requested: set[str], **kw: object) -> list[str]:
    args: dict[str, object] = dict(
        pension_type="enterprise_retired", scenario="home", veteran=False, disability=False, assistance=False
    )
    args.update(kw)
    return [m.code for m in cat.tasks_for(requested, **args)]  # type: ignore[arg-type]


# --- shipped data ----------------------------------------------------------


def test_default_catalogue_is_cached(cat: Catalogue) -> None:
    assert default_catalogue() is cat


def test_departments(cat: Catalogue) -> None:
    assert [d.code for d in cat.departments] == [
        "minzheng", "binyiguan", "gongan", "renshe", "yibao", "weijian", "tuiyi", "canlian", "gongjijin"
    ]
    assert cat.department("gongan") == Department("gongan", "公安局（派出所）")
    with pytest.raises(KeyError):
        cat.department("nope")


@pytest.mark.parametrize(
    ("code", "dept", "days", "requestable", "slug"),
    [
        ("cremation", "binyiguan", 0, True, "cremation-materials"),
        ("hukou", "gongan", 1, True, "hukou-cancellation"),
        ("medical", "yibao", 5, True, "medical-account"),
        ("pension", "renshe", 15, True, "enterprise-retiree-benefits"),
        ("provident", "gongjijin", 5, True, "provident-fund"),
        ("certificate", "weijian", 1, False, "death-at-home"),
        ("veteran", "tuiyi", 10, False, "veteran-benefits"),
        ("disability", "canlian", 10, False, "disability-subsidies"),
        ("assistance", "minzheng", 10, False, "subsistence-allowance"),
    ],
)
def test_matters(cat: Catalogue, code: str, dept: str, days: int, requestable: bool, slug: str) -> None:
    m = cat.matter(code)
    assert (m.department, m.time_limit_days, m.requestable, m.policy_slug) == (dept, days, requestable, slug)
    assert m.name and m.summary and "：" in m.summary
    assert cat.department(m.department)


def test_pension_depends_on_medical(cat: Catalogue) -> None:
    assert cat.matter("pension").depends_on == ("medical",)
    assert cat.matter("hukou").summary == "户口注销：注销逝者的户籍登记"


def test_requestable_matters(cat: Catalogue) -> None:
    assert [m.code for m in cat.requestable_matters()] == ["cremation", "hukou", "medical", "pension", "provident"]


def test_twelve_wenzhou_counties(cat: Catalogue) -> None:
    assert {c.code: c.name for c in cat.counties} == WENZHOU
    for county in cat.counties:
        assert len(county.townships) >= 5, county.name
        assert county.funeral_homes, county.name
        assert len(set(county.townships)) == len(county.townships)
    assert "温州市殡仪馆" in cat.county("330302").funeral_homes
    assert "温州市殡仪馆" in cat.county("330324").funeral_homes
    assert cat.county("330381").funeral_homes == ("瑞安市殡仪馆",)
    assert "五马街道" in cat.county("330302").townships
    assert isinstance(cat.county("330383"), County)


# --- tasks_for / dependencies_among ----------------------------------------


def test_home_death_adds_certificate(cat: Catalogue) -> None:
    assert tasks(cat, {"cremation", "hukou"}) == ["cremation", "hukou", "certificate"]
    assert tasks(cat, {"hukou"}, scenario="hospital") == ["hukou", "certificate"]


def test_unnatural_death_has_no_medical_certificate_task(cat: Catalogue) -> None:
    assert tasks(cat, {"hukou"}, scenario="unnatural") == ["hukou"]


def test_flags_add_automatic_followups(cat: Catalogue) -> None:
    got = tasks(cat, set(), scenario="unnatural", veteran=True, disability=True, assistance=True)
    assert got == ["veteran", "disability", "assistance"]


def test_all_requested_in_dependency_order(cat: Catalogue) -> None:
    got = tasks(cat, {"pension", "medical", "provident", "hukou", "cremation"})
    assert got.index("medical") < got.index("pension")
    assert set(got) == {"cremation", "hukou", "medical", "pension", "provident", "certificate"}


def test_pension_refused_for_public_institution(cat: Catalogue) -> None:
    with pytest.raises(FieldError) as exc:
        tasks(cat, {"pension", "hukou"}, pension_type="public_institution")
    assert "原渠道" in exc.value.message
    assert tasks(cat, {"hukou", "medical"}, pension_type="public_institution") == ["hukou", "medical", "certificate"]
    assert cat.blocked_reason("pension", pension_type="public_institution")
    assert cat.blocked_reason("pension", pension_type="resident") is None


@pytest.mark.parametrize("pension_type", [code for code, _ in PENSION_TYPES if code != "public_institution"])
def test_pension_allowed_for_other_types(cat: Catalogue, pension_type: str) -> None:
    assert "pension" in tasks(cat, {"pension"}, pension_type=pension_type)


def test_unknown_codes_are_programming_errors(cat: Catalogue) -> None:
    with pytest.raises(ValueError):
        tasks(cat, {"certificate"})  # not requestable
    with pytest.raises(ValueError):
        tasks(cat, {"lottery"})
    with pytest.raises(ValueError):
        tasks(cat, {"hukou"}, scenario="sea")
    with pytest.raises(ValueError):
        tasks(cat, {"hukou"}, pension_type="gold")
    assert {s.code for s in SCENARIOS} == {"home", "hospital", "unnatural"}


def test_dependencies_among_counts_only_present_matters(cat: Catalogue) -> None:
    both = cat.tasks_for({"pension", "medical"}, pension_type="resident", scenario="unnatural",
                         veteran=False, disability=False, assistance=False)
    assert cat.dependencies_among(both) == {"medical": (), "pension": ("medical",)}
    alone = [cat.matter("pension"), cat.matter("hukou")]
    assert cat.dependencies_among(alone) == {"pension": (), "hukou": ()}


# --- loading errors --------------------------------------------------------

GOOD_HEAD = """
[[department]]
code = "renshe"
name = "人社局"
"""

AUTO = "".join(
    f"""
[[matter]]
code = "{code}"
name = "{code}"
department = "renshe"
time_limit_days = 1
requestable = false
summary = "自动：{code}"
policy_slug = "{code}"
"""
    for code in ("certificate", "veteran", "disability", "assistance")
)

COUNTY = """
[[county]]
code = "330302"
name = "鹿城区"
townships = ["五马街道"]
funeral_homes = ["温州市殡仪馆"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_valid_file_loads(tmp_path: Path) -> None:
    cat = load_catalogue(write(tmp_path, GOOD_HEAD + AUTO + COUNTY))
    assert cat.matter("veteran") == Matter(
        code="veteran", name="veteran", department="renshe", time_limit_days=1, depends_on=(),
        requestable=False, summary="自动：veteran", policy_slug="veteran", note="",
    )
    assert cat.requestable_matters() == []


def test_every_problem_is_listed(tmp_path: Path) -> None:
    broken = GOOD_HEAD + AUTO + """
[[department]]
code = "renshe"
name = "又一个人社局"

[[matter]]
code = "a"
name = "甲"
department = "nowhere"
time_limit_days = -2
requestable = true
depends_on = ["b", "ghost"]
summary = "甲：甲"
policy_slug = "a"

[[matter]]
code = "b"
name = "乙"
department = "renshe"
time_limit_days = 1
requestable = true
depends_on = ["a"]
summary = "乙：乙"
policy_slug = "b"

[[matter]]
code = "b"
name = "乙二"
department = "renshe"
time_limit_days = 1
requestable = true
summary = "乙：乙"
policy_slug = "b"

[[county]]
code = "33030"
name = "少一位区"
townships = ["某街道"]
funeral_homes = []

[[county]]
code = "330303"
name = "龙湾区"
townships = ["永中街道"]
funeral_homes = ["温州市殡仪馆"]
"""
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(write(tmp_path, broken))
    text = str(exc.value)
    problems = exc.value.problems
    expected = [
        "部门代码 “renshe” 重复出现",
        "事项代码 “b” 重复出现",
        "部门 “nowhere” 不存在",
        "依赖的事项 “ghost” 不存在",
        "循环依赖：a → b → a",
        "办理时限不能是负数（现在是 -2）",
        "代码应为6位数字",
        "至少要填一个殡仪馆",
    ]
    for fragment in expected:
        assert any(fragment in p for p in problems), fragment
        assert fragment in text
    assert f"有 {len(problems)} 处问题" in text


def test_type_and_field_problems(tmp_path: Path) -> None:
    broken = GOOD_HEAD + AUTO + COUNTY + """
[[matter]]
code = "x"
name = "某事项"
department = "renshe"
time_limit_days = "5"
requestable = "yes"
summary = "某：某"
policy_slug = "Bad Slug"
time_limt_days = 5
"""
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(write(tmp_path, broken))
    text = str(exc.value)
    assert "“time_limit_days” 应为整数" in text
    assert "“requestable” 应为true 或 false" in text
    assert "不认识的字段 “time_limt_days”" in text


def test_missing_automatic_matter_and_sections(tmp_path: Path) -> None:
    only_dept = GOOD_HEAD + """
[[matter]]
code = "hukou"
name = "户口注销"
department = "renshe"
time_limit_days = 1
requestable = true
summary = "户口：户口"
policy_slug = "hukou"
"""
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(write(tmp_path, only_dept))
    text = str(exc.value)
    for code in ("certificate", "veteran", "disability", "assistance"):
        assert f"缺少系统自动办理的事项 “{code}”" in text
    assert "没有任何县（市、区）" in text


def test_self_dependency_is_a_cycle(tmp_path: Path) -> None:
    text = GOOD_HEAD + AUTO.replace('code = "veteran"', 'code = "veteran"\ndepends_on = ["veteran"]') + COUNTY
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(write(tmp_path, text))
    assert "veteran → veteran" in str(exc.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(write(tmp_path, "[[department]\ncode = "))
    assert "TOML" in str(exc.value)
    with pytest.raises(CatalogueError) as exc:
        load_catalogue(tmp_path / "missing.toml")
    assert "找不到文件" in str(exc.value)
