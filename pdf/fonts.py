"""Receipt fonts: Noto Sans CJK SC with its glyphs re-ordered so the common characters come first.

Why: WeasyPrint subsets every embedded font with HarfBuzz and keeps the glyph ids
(RETAIN_GIDS), so the subset carries an empty slot for every glyph id below the highest one
used. Noto Sans CJK has 65,535 glyphs and scatters everyday hanzi across that whole range, so
every receipt paid for ~60,000 slots per face: about half of the PDF-writing time and
~100 KB per face of file. This module builds a copy of the face (regular and bold) that keeps
every character Noto Sans CJK SC maps (~44,800, so nothing falls back to another font) but
puts ASCII, punctuation and the GB 2312 characters (~7,500 glyphs) first. A typical receipt's
subset then stops around glyph 7,500; a rare character in a name (喆, 堃, 𠮷) only extends it to
that one glyph. Outlines, advances and the layout features Chinese text uses are unchanged.

Built once from the system's Noto (Debian's fonts-noto-cjk) by `python -m pdf.fonts`, which
`scripts/setup.sh` runs (about a minute per face; the two faces build in parallel), into
FONT_DIR under a name keyed on the source file and this recipe. When the built files are
missing the receipt simply uses the system Noto: the same look, only slower to render.
"""
from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fontTools is imported lazily: only the font build needs it
    from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
FONT_DIR = Path(os.environ.get("RECEIPT_FONT_DIR") or ROOT / "var" / "fonts")
FAMILY = "Noto Sans CJK SC Ordered"  # the CSS family name the receipt stylesheet asks for
SOURCE_FAMILY = "Noto Sans CJK SC"
SOURCE_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts"))
WEIGHTS: dict[int, str] = {400: "Regular", 700: "Bold"}
RECIPE = "2"  # bump when the build below changes, so old files are not reused
# GSUB/GPOS features horizontal Chinese text needs; vertical forms and the JP/KR/TC 'locl'
# variants are left out (they would pull thousands of glyphs into the front of the order).
LAYOUT_FEATURES = ["ccmp", "kern", "liga", "palt", "tnum"]


@dataclass(frozen=True)
class Source:
    path: Path
    index: int  # the face's number inside the .ttc collection


def priority_codepoints() -> list[int]:
    """ASCII, Latin-1, common punctuation and symbols, then GB 2312, in that order."""
    first: list[int] = list(range(0x20, 0x7F)) + list(range(0xA0, 0x180))
    for block in ((0x2000, 0x2070), (0x2100, 0x2200), (0x2460, 0x2500), (0x25A0, 0x2600),
                  (0x3000, 0x3040), (0xFF00, 0xFFF0)):
        first.extend(range(*block))
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                first.append(ord(bytes((hi, lo)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return list(dict.fromkeys(first))  # in order, without repeats


def find_source(weight: int, dirs: Iterable[Path] = SOURCE_DIRS) -> Source | None:
    """The Noto Sans CJK SC face of the given weight in the system's font collections."""
    from fontTools.ttLib import TTCollection

    name = f"NotoSansCJK-{WEIGHTS[weight]}.ttc"
    for directory in dirs:
        for path in sorted(directory.rglob(name)) if directory.is_dir() else ():
            collection = TTCollection(str(path), lazy=True)
            for index, font in enumerate(collection.fonts):
                if font["name"].getDebugName(1) == SOURCE_FAMILY:
                    return Source(path, index)
    return None


def output_path(weight: int, source: Source, font_dir: Path = FONT_DIR,
                coverage: tuple[int, ...] | None = None) -> Path:
    stat = source.path.stat()
    key = f"{RECIPE}|{source.path}|{source.index}|{stat.st_size}|{stat.st_mtime_ns}|{coverage}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return font_dir / f"NotoSansCJKSC-Ordered-{WEIGHTS[weight]}-{digest}.otf"


def built_fonts(font_dir: Path = FONT_DIR) -> dict[int, Path]:
    """The ordered faces already built for the current system fonts (weight -> file)."""
    found: dict[int, Path] = {}
    for weight in WEIGHTS:
        source = find_source(weight)
        if source is not None:
            path = output_path(weight, source, font_dir)
            if path.is_file():
                found[weight] = path
    return found


def _reorder_cid_font(font: TTFont, new_order: list[str]) -> TTFont:
    """fontTools' reorderGlyphs, plus what it leaves undone for a CID-keyed CFF font.

    reorderGlyphs permutes the CharStrings but not FDSelect (which font dict, hence which
    hinting and local subroutines, each glyph uses), and leaves the CIDs out of order, which
    HarfBuzz's CFF subsetter rejects. So: pin each glyph's font dict on the glyph before the
    permutation, rebuild FDSelect from them, and renumber the CIDs to equal the glyph ids.
    """
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.reorderGlyphs import reorderGlyphs

    top = font["CFF "].cff.topDictIndex[0]
    charstrings = top.CharStrings
    pinned = {}
    for name in font.getGlyphOrder():
        charstring, selector = charstrings.getItemAndSelector(name)
        charstring.private = top.FDArray[selector].Private
        charstring.fdSelectIndex = selector
        pinned[name] = charstring
    charstrings.charStringsAreIndexed = 0
    charstrings.charStrings = pinned
    reorderGlyphs(font, new_order)
    top.FDSelect.gidArray = []  # rebuilt from each glyph's fdSelectIndex when compiled

    buffer = io.BytesIO()
    font.save(buffer)
    buffer.seek(0)
    renumbered = TTFont(buffer, lazy=True)
    renumbered.reader.file.name = ""  # an in-memory file: nothing to compare a save path with
    top = renumbered["CFF "].cff.topDictIndex[0]
    old = list(top.charset)
    new = [".notdef"] + [f"cid{gid:05d}" for gid in range(1, len(old))]
    top.CharStrings.charStrings = {n: top.CharStrings.charStrings[o] for o, n in zip(old, new, strict=True)}
    top.charset = new
    top.CIDCount = len(new)
    renumbered.setGlyphOrder(new)  # the other tables stay compiled: they address glyphs by id
    return renumbered


def build_face(weight: int, font_dir: Path = FONT_DIR, coverage: tuple[int, ...] | None = None) -> Path:
    """Build one ordered face (idempotent). `coverage` limits the characters (tests)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    source = find_source(weight)
    if source is None:
        raise FileNotFoundError(f"{SOURCE_FAMILY} {WEIGHTS[weight]} not found: install fonts-noto-cjk")
    target = output_path(weight, source, font_dir, coverage)
    if target.is_file():
        return target
    font = TTFont(str(source.path), fontNumber=source.index)
    mapped = set(font.getBestCmap())
    wanted = mapped & set(coverage) if coverage is not None else mapped
    options = subset.Options()
    options.layout_features = list(LAYOUT_FEATURES)
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=wanted)
    subsetter.subset(font)

    cmap = font.getBestCmap()
    order, seen = [".notdef"], {".notdef"}
    priority = priority_codepoints()
    rest = sorted(set(cmap) - set(priority))
    for codepoint in [*priority, *rest]:
        glyph = cmap.get(codepoint)
        if glyph and glyph not in seen:
            order.append(glyph)
            seen.add(glyph)
    order += [g for g in font.getGlyphOrder() if g not in seen]  # glyphs reached only by features
    font = _reorder_cid_font(font, order)

    font_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    font.save(str(partial))
    os.replace(partial, target)  # atomic: a concurrent reader sees no half-written file
    if coverage is None:  # a full build replaces the files built from an older source or recipe
        for stale in font_dir.glob(f"NotoSansCJKSC-Ordered-{WEIGHTS[weight]}-*.otf"):
            if stale != target:
                stale.unlink(missing_ok=True)
    return target


def build_all(font_dir: Path = FONT_DIR) -> dict[int, Path]:
    """Build both faces, in parallel processes (each is CPU-bound for about a minute)."""
    with ProcessPoolExecutor(max_workers=len(WEIGHTS)) as pool:
        futures = {weight: pool.submit(build_face, weight, font_dir) for weight in WEIGHTS}
        return {weight: future.result() for weight, future in futures.items()}


def status() -> str:
    """One line for `python -m portal check`: are receipts using the re-ordered faces?"""
    if len(built_fonts()) == len(WEIGHTS):
        return "回执字体：已就绪（重排的 Noto Sans CJK SC）。"
    return "回执字体：尚未生成，回执会使用系统字体，生成较慢。请运行 .venv/bin/python -m pdf.fonts"


def main() -> int:
    if len(built_fonts()) == len(WEIGHTS):
        return 0
    print("正在准备回执字体（仅首次，约需一两分钟）……", flush=True)
    for weight, path in build_all().items():
        print(f"  {WEIGHTS[weight]}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
