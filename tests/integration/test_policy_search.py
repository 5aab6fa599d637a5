"""政策咨询 search and the knowledge-base sync, on SQLite and (in CI) PostgreSQL."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.models import PolicyArticle
from portal.services.policies import CONTENT_DIR, sync_policy_articles
from portal.services.policy_search import search

HIT_RE = re.compile(r'<h2 class="result-title"><a href="/policy/([a-z0-9-]+)">')


def _slugs(client: TestClient, q: str, htmx: bool = False) -> list[str]:
    r = client.get("/policy/search", params={"q": q}, headers={"hx-request": "true"} if htmx else {})
    assert r.status_code == 200
    return HIT_RE.findall(r.text)


@pytest.mark.parametrize(
    ("query", "expected", "within"),
    [
        ("火化", {"cremation-materials"}, 1),
        ("户口", {"hukou-cancellation"}, 1),
        ("抚恤", {"enterprise-retiree-benefits", "enterprise-employee-benefits"}, 3),
        ("公积", {"provident-fund"}, 1),
        ("公积金", {"provident-fund"}, 1),
        ("丧葬补助金", {"enterprise-retiree-benefits", "enterprise-employee-benefits"}, 3),
        ("医保", {"medical-account"}, 3),
        ("殡仪馆", {"cremation-materials"}, 3),
        ("户口注销怎么办", {"hukou-cancellation"}, 1),
        ("低保", {"subsistence-allowance"}, 1),
    ],
)
def test_two_character_queries_find_the_right_entry(client: TestClient, engine: Engine, query: str, expected: set[str],
                                                    within: int) -> None:
    top = _slugs(client, query)[:within]
    assert expected & set(top), f"{query}: expected one of {expected} in top {within}, got {top}"
    with Session(engine) as session:  # the service gives the same order as the page
        assert search(session, query).slugs[: len(top)] == top


def test_htmx_gets_only_the_results_block(client: TestClient) -> None:
    r = client.get("/policy/search", params={"q": "火化"}, headers={"hx-request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and "<h1" not in r.text
    assert "<mark>火化</mark>" in r.text
    assert HIT_RE.findall(r.text)[0] == "cremation-materials"


def test_results_page_without_js(client: TestClient) -> None:
    r = client.get("/policy/search?q=%E5%85%AC%E7%A7%AF")  # 公积
    assert r.status_code == 200
    assert "<title>搜索：公积" in r.text
    assert 'action="/policy/search"' in r.text and 'method="get"' in r.text
    assert "<mark>公积</mark>" in r.text
    assert "找到" in r.text


def test_snippets_are_escaped(client: TestClient) -> None:
    r = client.get("/policy/search", params={"q": "<script>火化</script>"})
    assert r.status_code == 200
    assert "<script>火化" not in r.text
    assert "&lt;script&gt;" in r.text  # the query is shown back escaped
    for snippet in re.findall(r'<p class="result-snippet">(.*?)</p>', r.text, re.S):
        assert re.sub(r"</?mark>", "", snippet).count("<") == 0


def test_no_results_is_kind(client: TestClient) -> None:
    r = client.get("/policy/search", params={"q": "天气预报"})
    assert r.status_code == 200
    assert "没有找到" in r.text and "12345" in r.text
    assert client.get("/policy/search").status_code == 200  # empty query: just the form


def test_sync_is_idempotent(engine: Engine) -> None:
    assert sync_policy_articles(engine) == 0
    assert sync_policy_articles(engine) == 0
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(PolicyArticle))
        article = session.scalar(select(PolicyArticle).where(PolicyArticle.slug == "cremation-materials"))
    assert count == len(list(CONTENT_DIR.glob("*.md")))
    assert article is not None and article.legal_basis and len(article.content_hash) == 64
    assert "火化" in article.search_text.split()


def test_sync_inserts_updates_and_deletes(engine: Engine, tmp_path: Path) -> None:
    copy = tmp_path / "policies"
    shutil.copytree(CONTENT_DIR, copy)
    shutil.copy(copy / "who-can-apply.md", copy / "zz-test-extra.md")  # a new entry
    path = copy / "provident-fund.md"  # a changed entry
    path.write_text(path.read_text(encoding="utf-8").replace('title = "', 'title = "测试改名：', 1), encoding="utf-8")
    try:
        assert sync_policy_articles(engine, copy) == 2
        assert sync_policy_articles(engine, copy) == 0
        with Session(engine) as session:
            assert session.scalar(select(PolicyArticle).where(PolicyArticle.slug == "zz-test-extra")) is not None
            assert search(session, "测试改名").slugs[0] == "provident-fund"
    finally:
        assert sync_policy_articles(engine) == 2  # back to the real content: one update, one delete
    with Session(engine) as session:
        assert session.scalar(select(PolicyArticle).where(PolicyArticle.slug == "zz-test-extra")) is None
        assert search(session, "公积").slugs[0] == "provident-fund"
        assert "provident-fund" not in search(session, "测试改名").slugs[:1]
