"""The 回执 / 登记表 PDF: a pure view-model in, PDF bytes out.

`render_receipt(view, copy=...)` knows nothing about the database, the vault or the web:
the service layer (portal/services/receipts.py) builds a `ReceiptView` whose values are
ready to print, and this module lays them out like 附件1 登记表 with WeasyPrint.

Personal numbers arrive as `Sensitive(full, masked)` pairs; the family copy prints the masked
form and the archive copy (for the 乡镇（街道）, 注7) the full one, so masking cannot be forgotten
by a template edit.

WeasyPrint is imported lazily (first render), so importing this module — and starting the web
app — stays fast.
"""
from __future__ import annotations

import base64
import gc
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Copy = Literal["family", "archive"]
COPIES: tuple[str, ...] = ("family", "archive")
COPY_LABELS: dict[str, str] = {"family": "丧属保存联", "archive": "乡镇（街道）存档联"}

TITLE = "温州市身后“一件事”联办登记表（回执）"
ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = ROOT / "templates" / "pdf"
CSS_PATH = Path(__file__).resolve().parent / "receipt.css"

# Rare characters (喆 堃 are outside GB2312, 𠮷 is CJK Extension B): Noto Sans CJK SC covers
# them; the other Noto CJK faces and the serif family follow in case a county installs a
# different font set. fontconfig resolves the names. The re-ordered copy of Noto Sans CJK SC
# (pdf/fonts.py), when built, is put in front of this chain with @font-face.
FONT_CHAIN = (
    '"Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", '
    '"Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", sans-serif'
)


@dataclass(frozen=True)
class Sensitive:
    """A personal number: the full value (archive copy) and its masked form (family copy).

    `key` names the number as the reveal rules do (portal.services.pii.FIELDS), so the service
    can mask in a staff member's archive copy what they may not reveal.
    """

    full: str
    masked: str
    key: str = ""

    def for_copy(self, copy: str) -> str:
        return self.full if copy == "archive" else self.masked


@dataclass(frozen=True)
class MatterLine:
    name: str
    department: str
    deadline: str  # a date (2026-11-29) or words (受理后5个工作日内)
    automatic: bool = False  # 注5 follow-up, not ticked by the family


@dataclass(frozen=True)
class Recipient:
    name: str
    relation: str
    id_card: Sensitive
    bank_name: str
    bank_account: Sensitive
    needs_review: bool = False


@dataclass(frozen=True)
class ReceiptView:
    """Everything printed on the receipt, as display strings (no codes, no DB objects)."""

    number: str
    submitted_at: str  # 2026年11月22日 14:05
    status: str  # overall status in words at the time of printing
    county: str
    township: str
    verify_url: str
    # 申请人
    applicant_name: str
    applicant_phone: Sensitive
    applicant_id: Sensitive
    applicant_address: str
    applicant_relation: str
    # 丧葬抚恤金领取人 (None when the pension matter was not requested)
    recipient: Recipient | None
    public_institution: bool  # 机关事业单位人员: 丧葬抚恤金按原流程办理
    # 亡故人
    deceased_name: str
    gender: str
    age: str
    ethnicity: str
    deceased_id: Sensitive
    hukou: str
    temp_township: str
    death_time: str
    death_cause: str
    certificate_name: str
    certificate_no: Sensitive
    pension_type: str
    special_groups: str  # 优抚对象 / 持残疾人证 / 低保特困 or 无
    # 遗体
    body_at_funeral_home: bool
    funeral_home: str
    pickup_address: str
    pickup_time: str
    # 骨灰、出殡、承诺
    ashes_category: str
    ashes_place: str
    procession_route: str
    civil_pledge: str
    matters: tuple[MatterLine, ...]
    declaration: str
    signed: str  # how the applicant signed (实名认证 + time)
    applied_on: str  # 申请时间, 2026年11月22日
    notes: tuple[tuple[str, str], ...] = ()  # (注1, text) — only the notes that apply
    channel: str = ""
    generated_at: str = ""
    # the simple fields declared in portal/domain/form_steps/declared.py: section → (label, value)
    extra: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


# --- rendering ------------------------------------------------------------------------

_lock = threading.Lock()
_state: dict[str, Any] = {}
#: One WeasyPrint layout at a time per process. Pango, fontconfig and the shared
#: FontConfiguration are not thread-safe: two renders in two handler threads corrupted the heap
#: (glib "corrupted double-linked list", SIGSEGV) in the load test (bench/load.py, 30 families
#: downloading receipts at once). Renders are CPU-bound under the GIL, so little is lost.
RENDER_LOCK = threading.Lock()


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def font_face_rules(fonts: dict[int, Path]) -> tuple[str, str]:
    """@font-face rules for the re-ordered faces and the font chain that puts them first."""
    from pdf.fonts import FAMILY, WEIGHTS

    if set(fonts) != set(WEIGHTS):
        return "", FONT_CHAIN  # not built (yet): the system Noto, same look, slower to write
    rules = "".join(f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; '
                    f'src: url("{path.as_uri()}"); }}\n' for weight, path in sorted(fonts.items()))
    return rules, f'"{FAMILY}", {FONT_CHAIN}'


def _setup() -> dict[str, Any]:
    """Import WeasyPrint and parse the stylesheet once per process."""
    with _lock:
        if not _state:
            from weasyprint import CSS
            from weasyprint.text.fonts import FontConfiguration

            from pdf.fonts import built_fonts

            font_config = FontConfiguration()
            rules, chain = font_face_rules(built_fonts())
            css_text = rules + CSS_PATH.read_text(encoding="utf-8").replace("FONT_CHAIN", chain)
            _state["font_config"] = font_config
            _state["css"] = CSS(string=css_text, font_config=font_config, base_url=str(CSS_PATH.parent))
            _state["template"] = _env().get_template("receipt.html")
            _state["variant"] = "pdf/ua-1"
    return _state


def qr_svg_data_uri(url: str) -> str:
    """The verification URL as an SVG QR code, embedded as a data: URI (no file, no network)."""
    import segno

    qr = segno.make(url, error="m", micro=False)
    svg = qr.svg_inline(scale=4, border=0, dark="#000", omitsize=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


_BETWEEN_TAGS = re.compile(r">\s+<")


def render_html(view: ReceiptView, *, copy: Copy) -> str:
    """The receipt as HTML, without the template's indentation between tags.

    The indentation is not only bytes: inside tables every whitespace run between tags becomes
    a box WeasyPrint must build and then discard.
    """
    if copy not in COPIES:
        raise ValueError(f"copy must be one of {COPIES}: {copy!r}")
    state = _setup()
    html = state["template"].render(
        v=view, copy=copy, copy_label=COPY_LABELS[copy], title=TITLE,
        show=lambda s: s.for_copy(copy), qr=qr_svg_data_uri(view.verify_url),
    )
    return _BETWEEN_TAGS.sub("><", html)


class _CyclicGcPause:
    """Hold off Python's cyclic garbage collector while a receipt is laid out and written.

    A render allocates a few hundred thousand short-lived objects, which triggers hundreds of
    collections that each walk the young objects (and now and then the whole heap) looking for
    cycles that are not there: about a tenth of the render time. The collector is
    process-wide, so overlapping renders count themselves in and out, and the collector is
    switched back on (if it was on) when the last one leaves. Reference counting still frees
    memory as usual meanwhile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = True

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


_cyclic_gc_paused = _CyclicGcPause()


def render_receipt(view: ReceiptView, *, copy: Copy) -> bytes:
    """Render one copy of the receipt to PDF bytes (A4, tagged, lang zh-CN, 1-2 pages).

    CPU-bound (≈0.2-0.3 s): call it from a worker thread, never on the event loop.
    """
    from weasyprint import HTML

    state = _setup()
    html = HTML(string=render_html(view, copy=copy), base_url=str(TEMPLATE_DIR))
    with RENDER_LOCK, _cyclic_gc_paused():
        document = html.render(stylesheets=[state["css"]], font_config=state["font_config"])
        options: dict[str, Any] = {"pdf_tags": True}
        if state["variant"]:
            try:
                return document.write_pdf(pdf_variant=state["variant"], **options)
            except Exception:  # noqa: BLE001 - the PDF/UA variant is best effort; plain tagged PDF is fine
                state["variant"] = None
        return document.write_pdf(**options)


def page_count_hint(pdf: bytes) -> int:
    """Number of pages (cheap: counts page objects); for tests and the bench."""
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)
