"""Chinese search over the policy knowledge base (政策咨询).

How it works, identically on SQLite and PostgreSQL (no DB-specific index, no schema change):

* ``sync_policy_articles`` (portal/services/policies.py) stores, for every article, a
  jieba-segmented ``search_text`` (words separated by spaces, search-engine mode so
  ``抚恤金`` also yields ``抚恤``) next to the title, summary, keywords and body.
* At the first search a worker reads the articles FROM THE DATABASE into an in-process
  :class:`Snapshot` (32 rows, a few hundred KB).  Every ``REFRESH_SECONDS`` it compares the
  ``(slug, content_hash)`` pairs with the database and rebuilds the snapshot when they
  differ, so several workers (or several processes) all follow the database.
* A query is normalised (NFKC, lower case), split on spaces/punctuation, and each part is
  segmented by the same jieba tokenizer.  The whole part is matched as a substring (robust
  for two-character queries such as 火化, 户口, 抚恤, 公积), the segmented words add
  recall for longer questions.  Ranking: title > keywords > summary > body, with small
  bonuses for an exact keyword, a title that starts with the term, and a short title.
* Results carry the title and a snippet with every match wrapped in ``<mark>``; all text
  is HTML-escaped first (``markupsafe``), so content can never inject markup.

jieba loads its dictionary (~1 s from its cache file) once per process, on first use; the
portal's own tokenizer instance gets the words of content/search_words.txt so that e.g.
丧葬补助金 or 户口注销 stay whole words.
"""
from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portal.domain.policy_content import DEPARTMENT_LABELS, MATTER_LABELS, SITUATION_LABELS
from portal.models import PolicyArticle

__all__ = [
    "DOMAIN_WORDS",
    "Doc",
    "Hit",
    "REFRESH_SECONDS",
    "SearchResult",
    "Snapshot",
    "highlight",
    "invalidate",
    "search",
    "segment",
    "snapshot",
    "tokenize_query",
]

log = logging.getLogger("portal.search")

#: Words jieba should keep whole (its general dictionary splits some of them); content/search_words.txt.
WORDS_PATH = Path(__file__).resolve().parents[2] / "content" / "search_words.txt"
DOMAIN_WORDS: tuple[str, ...] = tuple(
    line.strip() for line in WORDS_PATH.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.lstrip().startswith("#")
)

#: Words that carry no meaning in a question (怎么办, 什么...).
STOP_WORDS = frozenset(
    "的 了 吗 呢 吧 啊 是 在 有 和 与 或 及 要 我 您 你 他 她 们 怎么 怎么办 怎样 什么 如何 哪里 可以 能 能否 需要 办理 办 去 "
    "一下 多少 谁 哪些 一个 这个 那个 请问".split()
)

REFRESH_SECONDS = 2.0
MAX_QUERY_CHARS = 50
SNIPPET_BEFORE = 24
SNIPPET_AFTER = 66

_tok_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """The portal's jieba tokenizer, initialised once per process, quietly."""
    global _tokenizer
    if _tokenizer is None:
        with _tok_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                started = time.perf_counter()
                tok = jieba.Tokenizer()
                tok.initialize()
                for word in DOMAIN_WORDS:
                    tok.add_word(word, freq=200000)
                log.info("jieba dictionary loaded in %.2f s", time.perf_counter() - started)
                _tokenizer = tok
    return _tokenizer


_WORD_RE = re.compile(r"[\w]+", re.UNICODE)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower()


def _aligned(text: str) -> str:
    """Lower-case/NFKC form with the same length as ``text``, so positions map back to it."""
    low = normalise(text)
    return low if len(low) == len(text) else text.lower()


def segment(text: str) -> str:
    """Search-engine segmentation of ``text`` as space-separated words (stored in search_text)."""
    tok = _jieba()
    words: list[str] = []
    for run in _WORD_RE.findall(normalise(text)):
        words.extend(w for w in tok.lcut_for_search(run) if w.strip())
    return " ".join(words)


@dataclass(frozen=True)
class Term:
    text: str
    weight: float


def tokenize_query(q: str) -> list[Term]:
    """Query -> weighted terms: each part as typed (1.0), then its segmented words (0.5)."""
    q = normalise(q).strip()[:MAX_QUERY_CHARS]
    terms: dict[str, float] = {}
    tok = None
    for part in _WORD_RE.findall(q):
        if part in STOP_WORDS:
            continue
        terms[part] = max(terms.get(part, 0.0), 1.0)
        if len(part) > 2:
            tok = tok or _jieba()
            for word in tok.lcut_for_search(part):
                if len(word) >= 2 and word not in STOP_WORDS and word != part:
                    terms.setdefault(word, 0.5)
    return [Term(t, w) for t, w in terms.items()]


# ---------------------------------------------------------------------------------------------
# The in-process snapshot of the DB's articles
# ---------------------------------------------------------------------------------------------

_MD_NOISE = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images -> their text
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # headings
    (re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M), ""),  # list markers
    (re.compile(r"^\s*>\s?", re.M), ""),  # quotes
    (re.compile(r"^\s*\|?[-:| ]+\|[-:| ]*$", re.M), ""),  # table rules
    (re.compile(r"[*_`|]+"), ""),  # emphasis, code, table pipes
    (re.compile(r"\s*\n\s*"), " "),
    (re.compile(r"\s{2,}"), " "),
]


def plain_text(markdown: str) -> str:
    text = markdown
    for pattern, repl in _MD_NOISE:
        text = pattern.sub(repl, text)
    return text.strip()


@dataclass
class Doc:
    slug: str
    title: str
    summary: str
    body_md: str
    matters: list[str]
    departments: list[str]
    situations: list[str]
    legal_basis: list[str]
    materials: list[str]
    related: list[str]
    keywords: list[str]
    time_limit: str
    verify_locally: bool
    confidence: str
    reviewed: date | None
    content_hash: str
    # search fields (lower case)
    words: frozenset[str] = frozenset()
    body_plain: str = ""
    l_title: str = ""
    l_summary: str = ""
    l_keywords: tuple[str, ...] = ()
    l_body: str = ""
    l_other: str = ""
    _html: str | None = field(default=None, repr=False)

    @property
    def matter_labels(self) -> list[str]:
        return [MATTER_LABELS.get(m, m) for m in self.matters]

    @property
    def department_labels(self) -> list[str]:
        return [DEPARTMENT_LABELS.get(d, d) for d in self.departments]

    @property
    def situation_labels(self) -> list[str]:
        return [SITUATION_LABELS.get(s, s) for s in self.situations]

    @property
    def body_html(self) -> Markup:
        """The body as HTML (CommonMark + tables, raw HTML disabled), rendered once."""
        if self._html is None:
            from markdown_it import MarkdownIt

            md = MarkdownIt("commonmark", {"html": False}).enable("table")
            self._html = md.render(self.body_md)
        return Markup(self._html)

    @classmethod
    def from_row(cls, a: PolicyArticle) -> Doc:
        doc = cls(
            slug=a.slug,
            title=a.title,
            summary=a.summary,
            body_md=a.body_md,
            matters=list(a.matters or []),
            departments=list(a.departments or []),
            situations=list(a.situations or []),
            legal_basis=list(a.legal_basis or []),
            materials=list(a.materials or []),
            related=list(a.related or []),
            keywords=list(a.keywords or []),
            time_limit=a.time_limit or "",
            verify_locally=bool(a.verify_locally),
            confidence=a.confidence,
            reviewed=a.reviewed,
            content_hash=a.content_hash,
        )
        doc.words = frozenset((a.search_text or "").split())
        doc.body_plain = plain_text(a.body_md)
        doc.l_title = normalise(a.title)
        doc.l_summary = _aligned(a.summary)
        doc.l_keywords = tuple(normalise(k) for k in doc.keywords)
        doc.l_body = _aligned(doc.body_plain)
        doc.l_other = normalise(" ".join([*doc.materials, *doc.legal_basis, doc.time_limit, *doc.matter_labels,
                                          *doc.department_labels, *doc.situation_labels]))
        return doc


@dataclass
class Snapshot:
    fingerprint: tuple[tuple[str, str], ...]
    docs: dict[str, Doc]  # by slug, in slug order
    checked_at: float

    def get(self, slug: str) -> Doc | None:
        return self.docs.get(slug)

    def all(self) -> list[Doc]:
        return list(self.docs.values())


_snap_lock = threading.Lock()
_snapshots: dict[str, Snapshot] = {}


def _key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def _fingerprint(session: Session) -> tuple[tuple[str, str], ...]:
    rows = session.execute(select(PolicyArticle.slug, PolicyArticle.content_hash).order_by(PolicyArticle.slug))
    return tuple((slug, h) for slug, h in rows)


def snapshot(session: Session, *, max_age: float = REFRESH_SECONDS) -> Snapshot:
    """The articles as stored in the database, cached per database, checked every ``max_age`` s."""
    key = _key(session)
    now = time.monotonic()
    snap = _snapshots.get(key)
    if snap is not None and now - snap.checked_at < max_age:
        return snap
    fp = _fingerprint(session)
    if snap is not None and snap.fingerprint == fp:
        snap.checked_at = now
        return snap
    with _snap_lock:
        rows = session.scalars(select(PolicyArticle).order_by(PolicyArticle.slug)).all()
        docs = {a.slug: Doc.from_row(a) for a in rows}
        fp = tuple((d.slug, d.content_hash) for d in docs.values())
        snap = Snapshot(fp, docs, now)
        _snapshots[key] = snap
    return snap


def invalidate() -> None:
    """Forget every cached snapshot (after a sync in this process)."""
    with _snap_lock:
        _snapshots.clear()


# ---------------------------------------------------------------------------------------------
# Scoring, highlighting
# ---------------------------------------------------------------------------------------------


def _score(doc: Doc, terms: list[Term]) -> float:
    total = 0.0
    for term in terms:
        t = term.text
        s = 0.0
        pos = doc.l_title.find(t)
        if pos >= 0:
            s += 10.0 + (3.0 if pos == 0 else 0.0) + 4.0 * len(t) / max(len(doc.l_title), 1)
        if any(k == t for k in doc.l_keywords):
            s += 8.0
        elif any(t in k for k in doc.l_keywords):
            s += 5.0 + 0.5 * min(sum(1 for k in doc.l_keywords if t in k), 4)
        if t in doc.l_summary:
            s += 3.0
        n = doc.l_body.count(t)
        if n:
            s += 1.0 + 0.3 * min(n, 6)
        if t in doc.l_other:
            s += 0.5
        if t in doc.words:
            s += 0.5
        total += term.weight * s
    return total


def _pattern(terms: list[Term]) -> re.Pattern[str] | None:
    texts = sorted({t.text for t in terms if t.text}, key=len, reverse=True)
    if not texts:
        return None
    return re.compile("|".join(re.escape(t) for t in texts), re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str] | None) -> Markup:
    """Escape ``text`` and wrap every match of ``pattern`` in <mark>."""
    if pattern is None:
        return escape(text)
    out: list[str] = []
    last = 0
    for m in pattern.finditer(text):
        out.append(str(escape(text[last : m.start()])))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def _snippet(doc: Doc, terms: list[Term], pattern: re.Pattern[str] | None) -> Markup:
    """A short passage around the best match (summary first, then body), highlighted."""
    ordered = sorted(terms, key=lambda t: (-t.weight, -len(t.text)))
    for source, low in ((doc.summary, doc.l_summary), (doc.body_plain, doc.l_body)):
        for term in ordered:
            pos = low.find(term.text)
            if pos < 0:
                continue
            start = max(0, pos - SNIPPET_BEFORE)
            end = min(len(source), pos + len(term.text) + SNIPPET_AFTER)
            piece = source[start:end]
            return Markup(("…" if start else "") + highlight(piece, pattern) + ("…" if end < len(source) else ""))
    cut = doc.summary[: SNIPPET_BEFORE + SNIPPET_AFTER]
    return Markup(highlight(cut, pattern) + ("…" if len(cut) < len(doc.summary) else ""))


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    title_html: Markup
    snippet_html: Markup
    score: float
    matter_labels: list[str]


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: list[Hit]
    total: int

    @property
    def slugs(self) -> list[str]:
        return [h.slug for h in self.hits]


def search(session: Session, q: str, *, limit: int = 20) -> SearchResult:
    """Rank the knowledge base for ``q``; empty or meaningless queries give no hits."""
    query = (q or "").strip()[:MAX_QUERY_CHARS]
    terms = tokenize_query(query)
    if not terms:
        return SearchResult(query, [], 0)
    snap = snapshot(session)
    scored = [(score, doc) for doc in snap.docs.values() if (score := _score(doc, terms)) > 0]
    scored.sort(key=lambda sd: (-sd[0], len(sd[1].title), sd[1].slug))
    pattern = _pattern(terms)
    hits = [
        Hit(doc.slug, doc.title, highlight(doc.title, pattern), _snippet(doc, terms, pattern), round(score, 2), doc.matter_labels)
        for score, doc in scored[:limit]
    ]
    return SearchResult(query, hits, len(scored))
