"""The re-ordered receipt font (pdf/fonts.py) and the render's garbage-collector pause.

The font is built here from the system's Noto with a handful of characters (under a second),
and checked the way it is used: glyphs the same as Noto's, common characters first, and
subset by WeasyPrint (HarfBuzz) into a real CFF font whose text extracts.
"""
from __future__ import annotations

import gc
import subprocess
import threading
from pathlib import Path

import pytest
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont

from pdf import fonts
from pdf.receipt import FONT_CHAIN, _CyclicGcPause, font_face_rules

SAMPLE = "王明中A1·喆堃𠮷（）"


@pytest.fixture(scope="module")
def ordered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fonts")
    return fonts.build_face(400, directory, coverage=tuple(ord(c) for c in SAMPLE))


def _glyph(font: TTFont, char: str) -> tuple[int, tuple[float, ...] | None, tuple[int, int]]:
    name = font.getBestCmap()[ord(char)]
    glyphs = font.getGlyphSet()
    pen = BoundsPen(glyphs)
    glyphs[name].draw(pen)
    return font.getGlyphID(name), pen.bounds, font["hmtx"][name]


def test_priority_order_starts_with_ascii_then_gb2312_without_rare_characters() -> None:
    order = fonts.priority_codepoints()
    assert order[0] == ord(" ") and ord("A") in order[:100]
    assert len(order) == len(set(order))
    assert ord("王") in order and ord("中") in order  # GB 2312
    assert ord("喆") not in order and ord("𠮷") not in order  # outside GB 2312: after it


def test_ordered_face_has_noto_glyphs_with_common_characters_first(ordered: Path) -> None:
    source = fonts.find_source(400)
    assert source is not None
    noto = TTFont(str(source.path), fontNumber=source.index, lazy=True)
    built = TTFont(str(ordered))
    for char in SAMPLE:
        _, bounds, advance = _glyph(built, char)
        _, noto_bounds, noto_advance = _glyph(noto, char)
        assert (bounds, advance) == (noto_bounds, noto_advance), char
    gid = {char: _glyph(built, char)[0] for char in SAMPLE}
    assert max(gid[c] for c in "王明中A1") < min(gid[c] for c in "喆堃𠮷")
    # CIDs equal glyph ids (HarfBuzz's CFF subsetter needs them in order)
    charset = built["CFF "].cff.topDictIndex[0].charset
    assert charset[1:] == [f"cid{i:05d}" for i in range(1, len(charset))]


def test_weasyprint_embeds_a_cff_subset_whose_text_extracts(ordered: Path, tmp_path: Path) -> None:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    config = FontConfiguration()
    css = CSS(string=f'@font-face {{ font-family: "T"; src: url("{ordered.as_uri()}"); }} '
                     'body { font-family: "T"; }', font_config=config)
    pdf = tmp_path / "t.pdf"
    HTML(string=f"<p>{SAMPLE}</p>").write_pdf(pdf, stylesheets=[css], font_config=config)
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CID Type 0C" in listing  # CFF, not a broken TrueType stand-in
    assert len(listing.strip().splitlines()) == 3  # two header lines, one font: no fallback face
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert SAMPLE in text.replace("\n", "")


def test_stylesheet_puts_the_ordered_face_first_only_when_both_weights_are_built(tmp_path: Path) -> None:
    assert font_face_rules({}) == ("", FONT_CHAIN)
    assert font_face_rules({400: tmp_path / "r.otf"}) == ("", FONT_CHAIN)
    rules, chain = font_face_rules({400: tmp_path / "r.otf", 700: tmp_path / "b.otf"})
    assert rules.count("@font-face") == 2 and (tmp_path / "b.otf").as_uri() in rules
    assert chain == f'"{fonts.FAMILY}", {FONT_CHAIN}'


def test_status_line_tells_an_operator_whether_the_faces_are_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "built_fonts", lambda font_dir=fonts.FONT_DIR: {})
    assert "python -m pdf.fonts" in fonts.status()
    monkeypatch.setattr(fonts, "built_fonts", lambda font_dir=fonts.FONT_DIR: {400: tmp_path, 700: tmp_path})
    assert "已就绪" in fonts.status()


def test_gc_pause_is_counted_across_overlapping_renders() -> None:
    pause = _CyclicGcPause()
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other_render() -> None:
        with pause():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=other_render)
    with pause():
        assert not gc.isenabled()
        worker.start()
        entered.wait(5)
    assert not gc.isenabled()  # the other render is still inside
    release.set()
    worker.join(5)
    assert gc.isenabled()


def test_gc_pause_leaves_a_disabled_collector_disabled() -> None:
    pause = _CyclicGcPause()
    gc.disable()
    try:
        with pause():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
