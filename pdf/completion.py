"""The completion notice (办结告知) as a PDF: each matter's result, and what is left for the family.

It renders what it is given (`CompletionView`); the service decides the words and figures.
Same fonts as the receipt (the re-ordered Noto when built), no QR code, A4, tagged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pdf.receipt import FONT_CHAIN, RENDER_LOCK, TEMPLATE_DIR, font_face_rules

TITLE = "身后“一件事”办结告知"


@dataclass(frozen=True)
class ResultLine:
    matter: str
    department: str
    outcome: str  # 已办结 | 不予办理
    finished_on: str
    detail: str


@dataclass(frozen=True)
class TodoItem:
    title: str
    text: str
    where: str


@dataclass(frozen=True)
class CompletionView:
    number: str
    deceased_name: str
    applicant_name: str
    completed_on: str
    results: tuple[ResultLine, ...]
    intro: str
    todo: tuple[TodoItem, ...]
    issued_on: str


def render_html(view: CompletionView) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from pdf.fonts import built_fonts

    rules, chain = font_face_rules(built_fonts())
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("completion.html").render(v=view, title=TITLE, font_rules=rules,
                                                      font_chain=chain or FONT_CHAIN)


def render_completion(view: CompletionView) -> bytes:
    """PDF bytes of the notice. CPU-bound: call it from a worker thread."""
    from weasyprint import HTML

    options: dict[str, Any] = {"pdf_tags": True}
    html = HTML(string=render_html(view), base_url=str(TEMPLATE_DIR))
    with RENDER_LOCK:  # one WeasyPrint layout at a time (pdf/receipt.py)
        return html.write_pdf(**options)
