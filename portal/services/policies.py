"""The policy knowledge base in the database: sync from content/policies, read for the pages.

``sync_policy_articles(engine)`` is called by ``python -m portal migrate`` (via
portal/services/content.py) and by the test session fixture.  It is idempotent: an
article is written only when its ``content_hash`` (the entry's fields + the search
segmentation version) changed, and articles whose file was removed are deleted.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal.config import ROOT
from portal.domain.policy_content import REQUIRED_SLUGS, PolicyEntry, load_entries
from portal.models import PolicyArticle
from portal.services import policy_search
from portal.services.policy_search import Doc, Snapshot

__all__ = ["CONTENT_DIR", "SEARCH_VERSION", "content_hash", "content_version", "get_article", "knowledge_base",
           "sync_policy_articles"]

log = logging.getLogger("portal.policies")

CONTENT_DIR = ROOT / "content" / "policies"
#: Bump when the segmentation (jieba, DOMAIN_WORDS) changes so every search_text is rebuilt.
SEARCH_VERSION = "jieba-1:" + hashlib.sha256("|".join(policy_search.DOMAIN_WORDS).encode()).hexdigest()[:8]


def content_hash(entry: PolicyEntry) -> str:
    data = asdict(entry)
    data["reviewed"] = entry.reviewed.isoformat()
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True) + SEARCH_VERSION
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _apply(article: PolicyArticle, entry: PolicyEntry, digest: str) -> None:
    article.slug = entry.slug
    article.title = entry.title
    article.summary = entry.summary
    article.body_md = entry.body_md
    article.matters = list(entry.matters)
    article.departments = list(entry.departments)
    article.situations = list(entry.situations)
    article.legal_basis = list(entry.legal_basis)
    article.materials = list(entry.materials)
    article.related = list(entry.related)
    article.keywords = list(entry.keywords)
    article.time_limit = entry.time_limit
    article.verify_locally = entry.verify_locally
    article.confidence = entry.confidence
    article.reviewed = entry.reviewed
    article.search_text = policy_search.segment(entry.search_text())
    article.content_hash = digest


def sync_policy_articles(engine: Engine, directory: str | Path = CONTENT_DIR, *,
                         require: frozenset[str] = REQUIRED_SLUGS) -> int:
    """Load ``directory`` into policy_article; returns how many rows were inserted, updated or deleted."""
    entries = load_entries(directory, require=require)
    changed = 0
    with Session(engine) as session, session.begin():
        existing = {a.slug: a for a in session.scalars(select(PolicyArticle))}
        for entry in entries:
            digest = content_hash(entry)
            article = existing.pop(entry.slug, None)
            if article is not None and article.content_hash == digest:
                continue
            if article is None:
                article = PolicyArticle()
                session.add(article)
            _apply(article, entry, digest)
            changed += 1
        for gone in existing.values():
            session.delete(gone)
            changed += 1
    if changed:
        policy_search.invalidate()
        log.info("policy articles synced: %d changed", changed)
    return changed


def knowledge_base(session: Session) -> Snapshot:
    """Every article (cached per process, following the database)."""
    return policy_search.snapshot(session)


def content_version(session: Session) -> str:
    """A short digest of every article's content hash: changes exactly when the knowledge base does
    (the public page cache in portal/web/page_cache.py tags its entries with it)."""
    fingerprint = knowledge_base(session).fingerprint
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:16]


def get_article(session: Session, slug: str) -> Doc | None:
    return knowledge_base(session).get(slug)
