"""A small HTML reader for tests: ids, labels and field errors, each with the form it sits in.

Stdlib only (html.parser), enough to check that a page with several forms never repeats an id,
that every label points at a control of its own form, and that an error shows next to its field.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    ids: Counter[str] = field(default_factory=Counter)
    form_of_id: dict[str, str | None] = field(default_factory=dict)
    labels: list[tuple[str, str | None, str]] = field(default_factory=list)  # (for, form action, text)
    errors: list[tuple[str, str | None, str]] = field(default_factory=list)  # (id, form action, text)
    attrs_of_id: dict[str, dict[str, str]] = field(default_factory=dict)


class _Reader(HTMLParser):
    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.form: str | None = None
        self.open: list[tuple[str, str, dict[str, str]]] = []  # (tag, kind, attrs): label/error being read
        self.text: dict[int, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form = a.get("action", "")
        if "id" in a:
            self.page.ids[a["id"]] += 1
            self.page.form_of_id[a["id"]] = self.form
            self.page.attrs_of_id[a["id"]] = {"tag": tag, **a}
        if tag in self.VOID:
            return
        kind = "label" if tag == "label" else "error" if "field-error" in a.get("class", "").split() else ""
        self.open.append((tag, kind, a))
        self.text[len(self.open)] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        if not self.open or tag in self.VOID:
            return
        depth = len(self.open)
        name, kind, a = self.open.pop()
        text = "".join(self.text.pop(depth, [])).strip()
        if self.open:
            self.text[len(self.open)].append(text)
        if kind == "label":
            self.page.labels.append((a.get("for", ""), self.form, text))
        elif kind == "error":
            self.page.errors.append((a.get("id", ""), self.form, text))

    def handle_data(self, data: str) -> None:
        if self.open:
            self.text[len(self.open)].append(data)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    return reader.page


def duplicate_ids(page: Page) -> list[str]:
    return sorted(i for i, n in page.ids.items() if n > 1)
