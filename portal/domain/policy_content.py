"""Policy knowledge base (政策咨询): parse and validate ``content/policies/*.md``.

Each entry is a Markdown file whose name (without ``.md``) is its slug.  The file
starts with TOML front matter between two ``+++`` lines, followed by the body::

    +++
    title = "家中去世，第一步做什么"
    summary = "..."
    matters = ["certificate"]
    ...
    +++
    正文（Markdown）

Pure Python (the standard library and the catalogue), so the web layer, the services
layer and command-line checks can all load the same content.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.domain.catalogue import default_catalogue

__all__ = [
    "CONFIDENCE_LABELS",
    "DEPARTMENT_LABELS",
    "MATTER_LABELS",
    "PolicyContentError",
    "PolicyEntry",
    "REQUIRED_SLUGS",
    "SITUATION_LABELS",
    "entries_by_slug",
    "load_entries",
    "parse_entry",
]

# --------------------------------------------------------------------------
# Code lists (code -> label shown to families)
# --------------------------------------------------------------------------

#: 申请事项 / matters, in the order the index pages show them; the names are the catalogue's
#: (content/catalogue.toml), so a county renames a matter or a department in one place.
MATTER_ORDER: tuple[str, ...] = (
    "certificate", "cremation", "hukou", "pension_stop", "pension", "medical", "provident", "veteran", "disability",
    "assistance",
)
MATTER_LABELS: dict[str, str] = {code: default_catalogue().matter(code).name for code in MATTER_ORDER}

#: Departments, in catalogue order.
DEPARTMENT_LABELS: dict[str, str] = {d.code: d.name for d in default_catalogue().departments}

#: Situations a family can recognise themselves in ("我家的情况").
SITUATION_LABELS: dict[str, str] = {
    "general": "所有家庭都适用",
    "home": "在家中或养老机构去世",
    "hospital": "在医院去世",
    "unnatural": "意外或非正常死亡",
    "retiree": "企业退休人员",
    "employee": "企业在职职工",
    "resident": "城乡居民养老保险参保人",
    "public_institution": "机关事业单位人员",
    "veteran": "退役军人、优抚对象",
    "disability": "残疾人",
    "assistance": "低保、特困对象",
    "away": "在外地去世或非本地户籍",
    "abroad": "在境外去世",
}

CONFIDENCE_LABELS: dict[str, str] = {
    "high": "依据明确",
    "medium": "依据基本明确，细节请向当地核实",
    "low": "仅供参考，请以当地答复为准",
}

#: Slugs that other parts of the portal link to; they must always exist.
REQUIRED_SLUGS: frozenset[str] = frozenset(
    {
        "cremation-materials",
        "hukou-cancellation",
        "medical-account",
        "enterprise-retiree-benefits",
        "enterprise-employee-benefits",
        "resident-pension-funeral-grant",
        "public-institution",
        "provident-fund",
        "death-at-home",
        "death-in-hospital",
        "unnatural-death",
        "veteran-benefits",
        "disability-subsidies",
        "subsistence-allowance",
        "free-funeral-services",
        "ashes-placement",
        "lost-certificate",
        "recipient-direct-relatives",
        "death-abroad",
        "non-local-death",
        "overpaid-pension",
        "pension-account-inheritance",
        "how-long-it-takes",
        "declaration",
        "nobody-reports-hukou",
        "other-veterans",
    }
)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_DELIMITER = "+++"


class PolicyContentError(ValueError):
    """Raised by :func:`load_entries` with every problem found (``.problems``)."""

    def __init__(self, problems: Iterable[str]):
        self.problems: list[str] = list(problems)
        count = len(self.problems)
        listed = "\n- ".join(self.problems)
        super().__init__(f"政策内容有 {count} 处问题 / {count} problem(s) in policy content:\n- {listed}")


@dataclass(frozen=True)
class PolicyEntry:
    slug: str
    title: str
    summary: str
    body_md: str
    matters: tuple[str, ...]
    departments: tuple[str, ...]
    situations: tuple[str, ...]
    legal_basis: tuple[str, ...]
    materials: tuple[str, ...]
    time_limit: str
    verify_locally: bool
    confidence: str
    reviewed: date
    related: tuple[str, ...]
    keywords: tuple[str, ...]

    @property
    def matter_labels(self) -> list[str]:
        return [MATTER_LABELS[m] for m in self.matters]

    @property
    def department_labels(self) -> list[str]:
        return [DEPARTMENT_LABELS[d] for d in self.departments]

    @property
    def situation_labels(self) -> list[str]:
        return [SITUATION_LABELS[s] for s in self.situations]

    def search_text(self) -> str:
        """All text worth indexing for search, in one string."""
        parts = [
            self.title,
            self.summary,
            " ".join(self.keywords),
            " ".join(self.matter_labels),
            " ".join(self.department_labels),
            " ".join(self.situation_labels),
            " ".join(self.materials),
            " ".join(self.legal_basis),
            self.time_limit,
            self.body_md,
        ]
        return "\n".join(p for p in parts if p)


# --------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------

# key -> (kind, required)
_FIELDS: dict[str, tuple[str, bool]] = {
    "title": ("str", True),
    "summary": ("str", True),
    "matters": ("list", True),
    "departments": ("list", True),
    "situations": ("list", True),
    "legal_basis": ("list", True),
    "materials": ("list", False),
    "time_limit": ("str_empty", False),
    "verify_locally": ("bool", True),
    "confidence": ("str", True),
    "reviewed": ("date", True),
    "related": ("list", False),
    "keywords": ("list", False),
}

# Lists that may not be empty (matters/departments may be, for general entries).
_NON_EMPTY_LISTS = frozenset({"situations", "legal_basis"})

_CODE_LISTS: dict[str, dict[str, str]] = {
    "matters": MATTER_LABELS,
    "departments": DEPARTMENT_LABELS,
    "situations": SITUATION_LABELS,
}


def _split_front_matter(text: str) -> tuple[str, str] | None:
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    # Allow blank lines before the opening delimiter, nothing else.
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != _DELIMITER:
        return None
    for j in range(i + 1, len(lines)):
        if lines[j].strip() == _DELIMITER:
            return "".join(lines[i + 1 : j]), "".join(lines[j + 1 :])
    return None


def _entry_problems(slug: str, data: dict[str, Any], body: str) -> list[str]:
    problems: list[str] = []
    if not SLUG_RE.match(slug):
        problems.append(f"文件名（slug）“{slug}”只能用小写字母、数字和连字符")
    for key in sorted(set(data) - set(_FIELDS)):
        problems.append(f"未知的字段 “{key}”（是否拼写错误？）")
    for key, (kind, required) in _FIELDS.items():
        if key not in data:
            if required:
                problems.append(f"缺少字段 “{key}”")
            continue
        value = data[key]
        if kind in ("str", "str_empty"):
            if not isinstance(value, str):
                problems.append(f"字段 “{key}” 应为字符串")
            elif kind == "str" and not value.strip():
                problems.append(f"字段 “{key}” 不能为空")
        elif kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                problems.append(f"字段 “{key}” 应为非空字符串的列表")
            elif len(set(value)) != len(value):
                problems.append(f"字段 “{key}” 有重复的值")
            elif key in _NON_EMPTY_LISTS and not value:
                problems.append(f"字段 “{key}” 至少要有一项")
        elif kind == "bool":
            if not isinstance(value, bool):
                problems.append(f"字段 “{key}” 应为 true 或 false")
        elif kind == "date":
            # tomllib returns datetime for values with a time; only a plain date is allowed.
            if not isinstance(value, date) or hasattr(value, "hour"):
                problems.append(f"字段 “{key}” 应为日期，例如 2026-11-22（不加引号）")

    for key, labels in _CODE_LISTS.items():
        value = data.get(key)
        if isinstance(value, list):
            unknown = [v for v in value if isinstance(v, str) and v not in labels]
            if unknown:
                problems.append(
                    f"字段 “{key}” 有未知代码 {', '.join(unknown)}；可用代码：{', '.join(labels)}"
                )
    conf = data.get("confidence")
    if isinstance(conf, str) and conf.strip() and conf not in CONFIDENCE_LABELS:
        problems.append("字段 “confidence” 只能是 high、medium 或 low")
    related = data.get("related")
    if isinstance(related, list):
        if slug in related:
            problems.append("字段 “related” 不能包含条目自身")
        bad = [r for r in related if isinstance(r, str) and not SLUG_RE.match(r)]
        if bad:
            problems.append(f"字段 “related” 有格式不对的 slug：{', '.join(bad)}")
    if not body.strip():
        problems.append("正文为空")
    return problems


def parse_entry(slug: str, text: str, *, source: str | None = None) -> PolicyEntry:
    """Parse one knowledge-base file.

    ``source`` names the file in error messages (default ``<slug>.md``).
    Raises :class:`ValueError` naming the file and every problem in it.
    """
    where = source or f"{slug}.md"
    split = _split_front_matter(text)
    if split is None:
        raise ValueError(f"{where}: 文件开头必须是用两行 “+++” 包围的 TOML 头信息")
    front, body = split
    try:
        data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: 头信息不是有效的 TOML：{exc}") from exc
    problems = _entry_problems(slug, data, body)
    if problems:
        raise ValueError(f"{where}: " + "；".join(problems))

    def tup(key: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in data.get(key, []))

    return PolicyEntry(
        slug=slug,
        title=data["title"].strip(),
        summary=data["summary"].strip(),
        body_md=body.strip() + "\n",
        matters=tup("matters"),
        departments=tup("departments"),
        situations=tup("situations"),
        legal_basis=tup("legal_basis"),
        materials=tup("materials"),
        time_limit=data.get("time_limit", "").strip(),
        verify_locally=data["verify_locally"],
        confidence=data["confidence"],
        reviewed=data["reviewed"],
        related=tup("related"),
        keywords=tup("keywords"),
    )


def load_entries(directory: str | Path, *, require: Iterable[str] = REQUIRED_SLUGS) -> list[PolicyEntry]:
    """Load every ``*.md`` entry in ``directory`` (sorted by slug) and validate the set.

    Checks each file, unique slugs, that every ``related`` slug exists and that the
    ``require``-d slugs are present.  Raises :class:`PolicyContentError` (a
    ``ValueError``) listing every problem at once.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyContentError([f"{directory}: 目录不存在"])
    problems: list[str] = []
    entries: list[PolicyEntry] = []
    seen: dict[str, Path] = {}
    for path in sorted(directory.glob("*.md")):
        slug = path.stem
        key = slug.lower()
        if key in seen:
            problems.append(f"{path.name}: slug 与 {seen[key].name} 重复")
            continue
        seen[key] = path
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: 无法以 UTF-8 读取：{exc}")
            continue
        try:
            entries.append(parse_entry(slug, text, source=path.name))
        except ValueError as exc:
            problems.append(str(exc))
    known = set(seen)
    for entry in entries:
        missing = [r for r in entry.related if r not in known]
        if missing:
            problems.append(f"{entry.slug}.md: related 指向不存在的条目 {', '.join(missing)}")
    absent = sorted(set(require) - known)
    if absent:
        problems.append("缺少必需的条目：" + ", ".join(absent))
    if problems:
        raise PolicyContentError(problems)
    return entries


def entries_by_slug(entries: Iterable[PolicyEntry]) -> dict[str, PolicyEntry]:
    return {e.slug: e for e in entries}
