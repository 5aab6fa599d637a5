"""Reference lists: shape and the rules other modules depend on."""

from __future__ import annotations

from datetime import date

import pytest

from portal.domain import reference as ref


def test_56_ethnicities_han_then_she_then_by_code() -> None:
    codes = [code for code, _ in ref.ETHNICITIES]
    assert len(ref.ETHNICITIES) == 56
    assert len(set(codes)) == 56
    assert ref.ETHNICITIES[0] == ("01", "汉族")
    assert ref.ETHNICITIES[1] == ("22", "畲族")
    assert codes[2:] == sorted(codes[2:])
    assert sorted(codes) == [f"{i:02d}" for i in range(1, 57)]


def test_ethnicity_name() -> None:
    assert ref.ethnicity_name("22") == "畲族"
    assert ref.ethnicity_name("1") == "汉族"
    assert ref.ethnicity_name("56") == "基诺族"
    with pytest.raises(KeyError):
        ref.ethnicity_name("97")


def test_scenarios() -> None:
    assert [s.code for s in ref.SCENARIOS] == ["home", "hospital", "unnatural"]
    assert ref.scenario("home").certificate_type == "medical"
    assert ref.scenario("unnatural").certificate_type == "police"
    assert ref.scenario("hospital").certificate_name == "《居民死亡医学证明（推断）书》"
    assert ref.scenario("unnatural").certificate_name == "《死亡证明书》（公安机关出具）"
    assert all(s.label and s.hint and s.issuer for s in ref.SCENARIOS)


def test_certificate_name_changes_on_2026_07_01() -> None:
    assert ref.certificate_name("medical", date(2026, 6, 30)) == "《居民死亡医学证明（推断）书》"
    assert ref.certificate_name("medical", ref.CERT_NEW_FORMAT_FROM) == "《居民死亡医学证明》"
    assert ref.certificate_name("police", date(2027, 1, 1)) == "《死亡证明书》（公安机关出具）"


def test_relations_and_direct_relatives() -> None:
    codes = [code for code, _ in ref.APPLICANT_RELATIONS]
    assert codes == ["spouse", "child", "parent", "sibling", "grandparent", "grandchild", "other_relative", "agent"]
    assert ref.DIRECT_RELATIVES == {"spouse", "child", "parent", "grandparent", "grandchild"}
    assert ref.DIRECT_RELATIVES <= set(codes)


@pytest.mark.parametrize(
    ("code", "review"),
    [("spouse", False), ("grandchild", False), ("sibling", True), ("other_relative", True), ("agent", True), ("nonsense", True)],
)
def test_recipient_needs_review(code: str, review: bool) -> None:
    assert ref.recipient_needs_review(code) is review


def test_pension_and_ashes_lists() -> None:
    assert [c for c, _ in ref.PENSION_TYPES] == [
        "enterprise_retired", "enterprise_working", "resident", "public_institution", "none"
    ]
    assert ref.label_for(ref.PENSION_TYPES, "public_institution") == "机关事业单位"
    ashes = [c for c, _ in ref.ASHES_CATEGORIES]
    assert ashes == ["funeral_home", "commercial_cemetery", "public_cemetery", "pre_reform_tomb"]
    assert set(ref.ASHES_NAME_PROMPTS) == set(ashes)
    with pytest.raises(KeyError):
        ref.label_for(ref.ASHES_CATEGORIES, "sea")


def test_cert_cutover_date() -> None:
    assert ref.CERT_NEW_FORMAT_FROM == date(2026, 7, 1)
