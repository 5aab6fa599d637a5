"""The policy knowledge base (content/policies/*.md) loads and validates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from portal.domain.policy_content import (
    DEPARTMENT_LABELS,
    MATTER_LABELS,
    REQUIRED_SLUGS,
    SITUATION_LABELS,
    PolicyContentError,
    PolicyEntry,
    entries_by_slug,
    load_entries,
    parse_entry,
)

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "content" / "policies"

# The slugs other code links to (kept literally here so a rename is noticed).
LINKED_SLUGS = """
cremation-materials hukou-cancellation medical-account enterprise-retiree-benefits
enterprise-employee-benefits resident-pension-funeral-grant public-institution provident-fund
death-at-home death-in-hospital unnatural-death veteran-benefits disability-subsidies
subsistence-allowance free-funeral-services ashes-placement lost-certificate
recipient-direct-relatives death-abroad non-local-death overpaid-pension
pension-account-inheritance how-long-it-takes declaration nobody-reports-hukou other-veterans
""".split()


@pytest.fixture(scope="module")
def entries() -> list[PolicyEntry]:
    return load_entries(POLICIES)


def test_at_least_28_entries_load(entries):
    assert len(entries) >= 28
    assert all(isinstance(e, PolicyEntry) for e in entries)
    assert [e.slug for e in entries] == sorted(e.slug for e in entries)


def test_every_linked_slug_exists(entries):
    slugs = {e.slug for e in entries}
    assert set(LINKED_SLUGS) == set(REQUIRED_SLUGS)
    assert set(LINKED_SLUGS) <= slugs


def test_related_slugs_resolve_and_codes_are_known(entries):
    by_slug = entries_by_slug(entries)
    for e in entries:
        for r in e.related:
            assert r in by_slug, (e.slug, r)
        assert set(e.matters) <= set(MATTER_LABELS)
        assert set(e.departments) <= set(DEPARTMENT_LABELS)
        assert e.situations and set(e.situations) <= set(SITUATION_LABELS)


def test_entries_are_complete_and_family_facing(entries):
    for e in entries:
        assert e.title and e.summary and e.body_md.strip(), e.slug
        assert e.legal_basis, e.slug
        assert e.confidence in {"high", "medium", "low"}
        assert isinstance(e.reviewed, date)
        assert e.keywords, e.slug
        # Developer markers never reach families.
        for text in (e.title, e.summary, e.body_md, e.time_limit, *e.materials):
            assert "VERIFY" not in text and "TODO" not in text, e.slug
        # A direct, short answer first.
        assert len(e.summary) <= 130, (e.slug, len(e.summary))
        assert not e.body_md.lstrip().startswith("#"), e.slug


def test_every_matter_and_situation_has_an_entry(entries):
    matters = {m for e in entries for m in e.matters}
    situations = {s for e in entries for s in e.situations}
    assert matters == set(MATTER_LABELS)
    assert situations == set(SITUATION_LABELS)


def test_search_text_includes_keywords_and_labels(entries):
    e = entries_by_slug(entries)["hukou-cancellation"]
    text = e.search_text()
    assert "销户" in text and "户口注销" in text and "公安局（派出所）" in text  # the catalogue's names


def test_key_facts_survive_rewriting(entries):
    by = entries_by_slug(entries)
    assert "30日内" in by["hukou-cancellation"].body_md
    assert any("57号" in b for b in by["lost-certificate"].legal_basis)
    assert "只能**补发一次**" in by["lost-certificate"].body_md
    assert any("人社部发〔2021〕18号" in b for b in by["enterprise-retiree-benefits"].legal_basis)
    assert "最少9个月" in by["enterprise-retiree-benefits"].body_md
    assert "× **20**" in by["resident-pension-funeral-grant"].body_md
    assert any("第二十四条" in b for b in by["provident-fund"].legal_basis)
    assert any("注3" in b for b in by["recipient-direct-relatives"].legal_basis)


# ---------------------------------------------------------------------------------------------
# parse_entry / load_entries errors
# ---------------------------------------------------------------------------------------------

GOOD = """+++
title = "标题"
summary = "简要回答"
matters = ["hukou"]
departments = ["gongan"]
situations = ["general"]
legal_basis = ["户口登记条例 第八条"]
materials = ["身份证"]
time_limit = ""
verify_locally = false
confidence = "high"
reviewed = 2026-11-22
related = []
keywords = ["销户"]
+++
正文。
"""


def test_parse_entry_reads_front_matter():
    e = parse_entry("sample", GOOD)
    assert e.title == "标题"
    assert e.matters == ("hukou",)
    assert e.reviewed == date(2026, 11, 22)
    assert e.body_md == "正文。\n"
    assert e.time_limit == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ("没有头信息\n", "+++"),
        (GOOD.replace('title = "标题"', 'title = "标题'), "TOML"),
        (GOOD.replace('matters = ["hukou"]', 'matters = ["hukuo"]'), "hukuo"),
        (GOOD.replace('confidence = "high"\n', ""), "confidence"),
        (GOOD.replace('confidence = "high"', 'confidence = "certain"'), "confidence"),
        (GOOD.replace("reviewed = 2026-11-22", 'reviewed = "2026-11-22"'), "reviewed"),
        (GOOD.replace("verify_locally = false", 'verify_locally = "no"'), "verify_locally"),
        (GOOD.replace("keywords", "keyword"), "keyword"),
        (GOOD.replace('legal_basis = ["户口登记条例 第八条"]', "legal_basis = []"), "legal_basis"),
        (GOOD.replace("正文。\n", ""), "正文"),
        (GOOD.replace("related = []", 'related = ["sample"]'), "related"),
    ],
)
def test_parse_entry_errors_name_file_and_problem(text, message):
    with pytest.raises(ValueError) as info:
        parse_entry("sample", text)
    assert "sample.md" in str(info.value)
    assert message in str(info.value)


def test_load_entries_lists_every_problem(tmp_path):
    (tmp_path / "one.md").write_text(GOOD.replace("related = []", 'related = ["missing-one"]'), encoding="utf-8")
    (tmp_path / "two.md").write_text(GOOD.replace('situations = ["general"]', 'situations = ["nowhere"]'), encoding="utf-8")
    (tmp_path / "three.md").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PolicyContentError) as info:
        load_entries(tmp_path, require=["three", "four"])
    problems = info.value.problems
    assert any("one.md" in p and "missing-one" in p for p in problems)
    assert any("two.md" in p and "nowhere" in p for p in problems)
    assert any("four" in p for p in problems)
    assert isinstance(info.value, ValueError)


def test_load_entries_rejects_bad_slug_and_duplicates(tmp_path):
    (tmp_path / "Bad_Slug.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad_slug.md").write_text(GOOD, encoding="utf-8")
    with pytest.raises(PolicyContentError) as info:
        load_entries(tmp_path, require=[])
    text = str(info.value)
    assert "Bad_Slug" in text or "bad_slug" in text


def test_load_entries_ok_on_small_set(tmp_path):
    (tmp_path / "a.md").write_text(GOOD.replace("related = []", 'related = ["b"]'), encoding="utf-8")
    (tmp_path / "b.md").write_text(GOOD, encoding="utf-8")
    assert [e.slug for e in load_entries(tmp_path, require=["a"])] == ["a", "b"]


def test_bodies_render_cleanly_as_markdown(entries):
    """CommonMark does not close ``**`` next to CJK punctuation in some positions; catch it."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    for e in entries:
        html = md.render(e.body_md)
        assert "**" not in html, e.slug
        assert "|---" not in html, e.slug  # tables need the table rule enabled
