"""The renderer alone: a pure view-model in, a tagged A4 PDF with embedded CJK fonts out."""
from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from pdf.receipt import MatterLine, ReceiptView, Recipient, Sensitive, qr_svg_data_uri, render_receipt


def view(**overrides) -> ReceiptView:  # noqa: ANN003
    base = ReceiptView(
        number="330302-20261122-0007", submitted_at="2026年11月22日 14:05", status="已提交，等待乡镇（街道）受理",
        county="鹿城区", township="五马街道", verify_url="http://testserver/verify/tok_123",
        applicant_name="买买提·艾力", applicant_phone=Sensitive("19900000001", "199****0001"),
        applicant_id=Sensitive("33030219620315031X", "3303**********031X"),
        applicant_address="鹿城区𠮷祥路18号堃园3幢", applicant_relation="子女",
        recipient=Recipient("吉𠮷祥", "配偶", Sensitive("330302196203150320", "3303**********0320"), "中国银行",
                            Sensitive("6222021234567890123", "6222 **** **** 0123")),
        public_institution=False, deceased_name="郑喆堃", gender="男", age="88岁", ethnicity="维吾尔族",
        deceased_id=Sensitive("330302193801020013", "3303**********0013"), hukou="鹿城区 五马街道",
        temp_township="无", death_time="2026年11月20日 03:10", death_cause="疾病", certificate_name="《居民死亡医学证明（推断）书》",
        certificate_no=Sensitive("A1234567", "A1234567"), pension_type="企业职工（已退休）", special_groups="无",
        body_at_funeral_home=True, funeral_home="温州市殡仪馆", pickup_address="", pickup_time="",
        ashes_category="经营性公墓", ashes_place="仰义陵园", procession_route="无", civil_pledge="已签署",
        matters=(MatterLine("火化前期手续办理", "殡仪馆", "即办"),), declaration="申请人承诺……",
        signed="买买提·艾力", applied_on="2026年11月22日", notes=(("注1", "请亲属30日内……"),),
    )
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    v = view()
    return {copy: render_receipt(v, copy=copy) for copy in ("family", "archive")}


def _text(pdf: bytes, tmp_path: Path) -> str:
    (tmp_path / "x.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, check=True).stdout.decode()


def test_rare_characters_and_dot_extract(pdfs, tmp_path: Path) -> None:
    text = _text(pdfs["family"], tmp_path)
    for value in ("郑喆堃", "吉𠮷祥", "买买提·艾力", "𠮷祥路18号堃园3幢", "维吾尔族"):
        assert value in text, value


def test_masking_depends_on_copy(pdfs, tmp_path: Path) -> None:
    fam, arc = _text(pdfs["family"], tmp_path), _text(pdfs["archive"], tmp_path)
    for full, masked in (("33030219620315031X", "3303**********031X"), ("330302193801020013", "3303**********0013"),
                         ("6222021234567890123", "6222 **** **** 0123")):
        assert full not in fam and masked in fam
        assert full in arc


def test_tagged_a4_with_lang_title_and_embedded_fonts(pdfs, tmp_path: Path) -> None:
    reader = PdfReader(io.BytesIO(pdfs["family"]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "zh-CN"
    assert bool(root["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in root
    assert "温州市身后“一件事”联办登记表（回执）" in reader.metadata.title
    assert 1 <= len(reader.pages) <= 2
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    (tmp_path / "f.pdf").write_bytes(pdfs["family"])
    fonts = subprocess.run(["pdffonts", str(tmp_path / "f.pdf")], capture_output=True, text=True, check=True).stdout
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(re.search(r"\byes\s+yes\s+yes\b", row) for row in rows), fonts
    assert "Noto-Sans-CJK-SC" in fonts


def test_qr_is_embedded_svg() -> None:
    uri = qr_svg_data_uri("http://testserver/verify/tok_123")
    assert uri.startswith("data:image/svg+xml;base64,")


def test_bad_copy_is_refused() -> None:
    with pytest.raises(ValueError):
        render_receipt(view(), copy="public")  # type: ignore[arg-type]


def test_importing_pdf_does_not_import_weasyprint() -> None:
    code = "import pdf, pdf.receipt, sys; print('weasyprint' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_receipts_use_the_reordered_noto_built_at_setup(pdfs, tmp_path: Path) -> None:
    """`make test` and `make run` build it (scripts/setup.sh); without it receipts are slower."""
    from pdf.fonts import WEIGHTS, built_fonts

    assert set(built_fonts()) == set(WEIGHTS), "run: .venv/bin/python -m pdf.fonts (scripts/setup.sh does)"
    (tmp_path / "f.pdf").write_bytes(pdfs["family"])
    fonts = subprocess.run(["pdffonts", str(tmp_path / "f.pdf")], capture_output=True, text=True, check=True).stdout
    rows = [line.split()[0] for line in fonts.splitlines()[2:] if line.strip()]
    # regular and bold, each one face: even 喆, 堃 and 𠮷 need no fallback font
    assert sorted(re.sub(r"^[A-Z]{6}\+", "", name) for name in rows) == [
        "Noto-Sans-CJK-SC-Ordered", "Noto-Sans-CJK-SC-Ordered-Bold"], fonts
