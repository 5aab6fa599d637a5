"""Receipt PDFs from real rows: every value printed, masked in the family copy, ≤ 2 pages, fonts embedded;
the cache; access rules; the public verification page."""
from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from portal.db import transaction
from portal.domain.idcard import mask_id
from portal.domain.validators import mask_account, mask_phone
from portal.models import Application, Event, Receipt
from portal.services import receipts
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.receipt_factory import LONG, Spec, long_text, make_application


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def _fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


CASES = {
    "plain": {},
    "rare_chars": dict(number="330302-20261122-0008", deceased_name="郑喆堃", applicant_name="吉𠮷祥",
                       recipient_name="吉𠮷祥", applicant_address="鹿城区𠮷祥路18号堃园3幢", ashes_place="堃山公墓喆园",
                       deceased_id="330302194005060027", gender="女"),
    "minority_dot": dict(number="330381-20261122-0001", county_code="330381", township="安阳街道",
                         deceased_name="阿依古丽·买买提", ethnicity="05", applicant_name="买买提·艾力",
                         recipient_name="买买提·艾力", recipient_relation="spouse", hukou_county="330381",
                         hukou_township="安阳街道"),
    "longest": dict(number="330302-20261122-0009", applicant_address=long_text("申请人地址"),
                    hukou_address=long_text("户籍地址"), death_cause=long_text("亡故原因"),
                    procession_route=long_text("出殡路线"), body_at_funeral_home=False, funeral_home=None,
                    pickup_address=long_text("接运地址"), pickup_time=datetime(2026, 11, 21, 9, 30),
                    temp_township="瓯海区娄桥街道", ashes_place=long_text("寿坟地点", 100),
                    ashes_category="pre_reform_tomb", recipient_relation="sibling", is_veteran=True,
                    has_disability_cert=True, receives_assistance=True,
                    matters=("cremation", "hukou", "medical", "pension", "provident"),
                    automatic=("certificate", "veteran", "disability", "assistance"), with_tasks=True),
    "public_institution_police": dict(number="330302-20261122-0010", recipient=False, pension_type="public_institution",
                                      certificate_type="police", certificate_no="WZGA-2026-0456",
                                      matters=("cremation", "hukou"), automatic=()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_receipt_prints_every_value_masked_in_family_copy(app, case: str, tmp_path: Path) -> None:
    svc = app.state.services
    spec = Spec(**CASES[case])
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault, spec)
        family = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="family")
        archive = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="archive")
        token = receipts.receipt_for(session, svc.vault, application, svc.settings).token

    fam, arc = _flat(_text(family, tmp_path)), _flat(_text(archive, tmp_path))
    common = [spec.number, "温州市身后“一件事”联办登记表（回执）", spec.applicant_name,
              spec.applicant_address, spec.deceased_name, spec.death_cause, spec.ashes_place, "申请人承诺遵守国家和地方",
              "2026年11月22日14:05", "2026年11月20日03:10", f"/verify/{token}"]
    if spec.recipient:
        common += [spec.recipient_name, spec.bank_name]
    if spec.hukou_address:
        common.append(spec.hukou_address)
    if spec.procession_route:
        common.append(spec.procession_route)
    if spec.pickup_address:
        common += [spec.pickup_address, "2026年11月21日09:30"]
    if spec.funeral_home:
        common.append(spec.funeral_home)
    if spec.temp_township:
        common.append(spec.temp_township)
    for value in common:
        assert _flat(value) in fam, (case, "family", value)
        assert _flat(value) in arc, (case, "archive", value)

    secrets = [spec.deceased_id, spec.applicant_id, spec.applicant_phone] + (
        [spec.recipient_id, spec.bank_account] if spec.recipient else [])
    for value in secrets:
        assert value not in fam, (case, "family copy shows a full number", value)
        assert value in arc, (case, "archive copy misses", value)
    assert mask_id(spec.deceased_id) in fam and mask_id(spec.applicant_id) in fam
    assert mask_phone(spec.applicant_phone) in fam
    if spec.recipient:
        assert _flat(mask_account(spec.bank_account)) in fam
    assert "丧属保存联" in fam and "乡镇（街道）存档联" in arc

    for pdf in (family, archive):
        assert _pages(pdf, tmp_path) <= 2, case
        assert len(pdf) <= 400 * 1024, (case, len(pdf))
        fonts = _fonts(pdf, tmp_path)
        assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # emb column
        assert any("Noto-Sans-CJK" in row[0] for row in fonts)


def test_notes_follow_the_application(app, tmp_path: Path) -> None:
    svc = app.state.services
    with transaction(svc.db) as session:
        full = make_application(session, svc.vault, Spec(**CASES["longest"]))
        small = make_application(session, svc.vault, Spec(**CASES["public_institution_police"]))
        t_full = _flat(_text(receipts.get_pdf(session, svc.vault, full, svc.settings, copy="family"), tmp_path))
        t_small = _flat(_text(receipts.get_pdf(session, svc.vault, small, svc.settings, copy="family"), tmp_path))
    for note in ("注1", "注2", "注3", "注4", "注5", "注7"):
        assert note + "．" in t_full
    assert "注1．" in t_small and "注7．" in t_small
    assert "注2．" not in t_small and "注4．" not in t_small and "注5．" not in t_small
    assert "本申请的亡故人为机关事业单位人员" in t_small
    assert "《死亡证明书》（公安机关出具）" in t_small
    assert "需人工审" in t_full  # sibling as recipient (注3)
    assert "优抚对象待遇处理" in t_full and "退役军人事务局" in t_full and "2026年11月23日" in t_full
    assert len(LONG * "x") == 200


def test_cache_reuses_pdf_and_new_version_supersedes_token(app, monkeypatch) -> None:
    svc = app.state.services
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault)
        first = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="family")
        token1 = receipts.receipt_for(session, svc.vault, application, svc.settings).token
    cached = list((Path(svc.settings.var_dir) / "receipts" / str(application.id)).glob("*-family-*"))
    assert len(cached) == 1 and b"%PDF" not in cached[0].read_bytes()  # sealed on disk

    import pdf.receipt

    def boom(*a, **k):  # noqa: ANN002, ANN003
        raise AssertionError("rendered again")

    monkeypatch.setattr(pdf.receipt, "render_receipt", boom)
    with transaction(svc.db) as session:
        application = session.get(Application, application.id)
        assert receipts.get_pdf(session, svc.vault, application, svc.settings, copy="family") == first
    monkeypatch.undo()

    with transaction(svc.db) as session:  # a correction: new version
        application = session.get(Application, application.id)
        application.deceased.death_cause = "意外（跌倒）"
        application.status = "resubmitted"
        session.flush()
        second = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="family")
        token2 = receipts.receipt_for(session, svc.vault, application, svc.settings).token
    assert token2 != token1 and second != first
    with svc.db() as session:
        rows = {r.token: r for r in session.scalars(select(Receipt))}
        assert rows[token1].superseded_at is not None and rows[token2].superseded_at is None
        assert len(token2) >= 32


def test_concurrent_requests_render_once(app, monkeypatch) -> None:
    import threading

    import pdf.receipt

    svc = app.state.services
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault)
        receipts.receipt_for(session, svc.vault, application, svc.settings)
    calls = []
    real = pdf.receipt.render_receipt

    def counting(*a, **k):  # noqa: ANN002, ANN003
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(pdf.receipt, "render_receipt", counting)
    results = []

    def worker() -> None:
        with transaction(svc.db) as session:
            row = session.get(Application, application.id)
            results.append(receipts.get_pdf(session, svc.vault, row, svc.settings, copy="family"))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len(set(results)) == 1 and len(calls) == 1


# --- access rules -----------------------------------------------------------------------------


def _owned_application(app, **overrides):  # noqa: ANN001, ANN003
    svc = app.state.services
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault, **overrides)
        return application.id


def test_owner_downloads_family_copy(app, client) -> None:
    app_id = _owned_application(app)
    login(client, "chenjianguo")
    response = client.get(f"/my/{app_id}/receipt.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "身后一件事回执-330302-20261122-0007.pdf" == unquote(disposition.split("filename*=UTF-8''")[1])
    assert response.content.startswith(b"%PDF")
    assert "no-store" in response.headers["cache-control"]


def test_anonymous_and_other_citizen_get_404(app, client) -> None:
    app_id = _owned_application(app)
    assert client.get(f"/my/{app_id}/receipt.pdf").status_code == 404
    assert client.get("/my/999999/receipt.pdf").status_code == 404
    login(client, "linxiaoyan")
    assert client.get(f"/my/{app_id}/receipt.pdf").status_code == 404
    assert client.get(f"/admin/applications/{app_id}/archive.pdf").status_code in (403, 404)


def test_anonymous_archive_goes_to_login(app, client) -> None:
    app_id = _owned_application(app)
    response = client.get(f"/admin/applications/{app_id}/archive.pdf")
    assert response.status_code in (302, 303, 404) and "pdf" not in response.headers.get("content-type", "")


@pytest.mark.parametrize(("username", "allowed"), [
    ("clerk", True), ("admin", True), ("officer-gongan", True),
    ("officer-gongjijin", False), ("clerk-ruian", False), ("officer-gongan-ruian", False),
])
def test_staff_archive_copy(app, client, demo_staff, username: str, allowed: bool) -> None:
    app_id = _owned_application(app, with_tasks=True)
    login(client, username)
    url = f"/admin/applications/{app_id}/archive.pdf"
    response = client.post(url, data={"csrf_token": csrf_from(client.get("/").text), "archive_reason": "乡镇存档"})
    if not allowed:
        assert response.status_code in (403, 404) and client.get(url).status_code in (403, 404)
        return
    assert client.get(url).headers["location"] == f"/admin/applications/{app_id}#archive"  # the form is there
    assert response.status_code == 200
    assert "登记表存档联-330302-20261122-0007.pdf" in unquote(response.headers["content-disposition"])
    with app.state.services.db() as session:
        events = session.scalars(select(Event).where(Event.tag == "staff:receipt:print")).all()
    assert len(events) == 1 and events[0].application_id == app_id and events[0].actor_kind == "staff"


def test_staff_cannot_use_family_link(app, client, demo_staff) -> None:
    app_id = _owned_application(app)
    login(client, "clerk")
    assert client.get(f"/my/{app_id}/receipt.pdf").status_code == 404


# --- verification -------------------------------------------------------------------------------


def test_verify_current_superseded_unknown(app, client) -> None:
    svc = app.state.services
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault, deceased_name="王小明")
        token = receipts.receipt_for(session, svc.vault, application, svc.settings).token
    page = client.get(f"/verify/{token}")
    assert page.status_code == 200
    assert "真实有效，且是最新版本" in page.text
    assert "330302-20261122-0007" in page.text and "2026年11月22日" in page.text
    assert "王*明" in page.text and "王小明" not in page.text
    assert "已提交，等待乡镇（街道）受理" in page.text
    for private in ("陈建国", "19900000001", "**********", "五马街道", "仰义陵园"):
        assert private not in page.text.split("<main")[1].split("</main>")[0], private

    with transaction(svc.db) as session:  # department progress does not outdate the receipt
        row = session.get(Application, application.id)
        row.status = "accepted"
        session.flush()
        assert receipts.receipt_for(session, svc.vault, row, svc.settings).token == token
    still = client.get(f"/verify/{token}")
    assert "真实有效，且是最新版本" in still.text and "已受理" in still.text

    with transaction(svc.db) as session:  # a correction of the answers does
        row = session.get(Application, application.id)
        row.deceased.death_cause = "意外（跌倒）"
        session.flush()
    old = client.get(f"/verify/{token}")
    assert old.status_code == 200 and "已不是最新版本" in old.text and "已受理" in old.text
    with transaction(svc.db) as session:
        row = session.get(Application, application.id)
        new_token = receipts.receipt_for(session, svc.vault, row, svc.settings).token
    assert "真实有效，且是最新版本" in client.get(f"/verify/{new_token}").text

    unknown = client.get("/verify/not-a-real-token-xxxxxxxxxxxxxxxx")
    assert unknown.status_code == 404 and "查无此回执" in unknown.text
