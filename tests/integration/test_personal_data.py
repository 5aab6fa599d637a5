"""Personal data (issue 11, items 5-7): the certificate number is a personal number like the others,
the archive copy follows the reveal rules, private pages are never cached, the family receipt masks
the phone, the SQLite file is private and numeric fields keep ASCII digits only."""
from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.db import make_engine, transaction
from portal.domain.validators import mask_account
from portal.models import Application, Deceased, Event, Party
from portal.services import pii, receipts
from portal.services.demo import DEMO_ACCOUNT
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application
from tests.integration.receipt_factory import make_application
from tests.integration.test_apply_support import (
    DECEASED_ID_X,
    GOOD_ACCOUNT,
    answer_all,
    errors_in,
    post_step,
    start,
    submit,
    typical,
)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return re.sub(r"\s+", "", out.stdout.decode("utf-8"))


def _deceased_id(db, vault, app_id: int) -> str:  # type: ignore[no-untyped-def]
    with db() as s:
        return vault.open(s.get(Application, app_id).deceased.id_card_enc)


# --- 5. the death-certificate number ------------------------------------------------------------


def test_certificate_typed_as_the_id_with_dashes_is_sealed_not_stored(client: TestClient, engine: Engine,
                                                                      settings) -> None:  # type: ignore[no-untyped-def]
    start(client)
    answers = typical(deceased_id=DECEASED_ID_X, scenario="unnatural")  # a police certificate: free format
    answers["certificate"] = {"cert_no": "330381-19450707-018x"}
    answer_all(client, answers)
    assert submit(client).status_code == 303
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM deceased")).mappings().one()
    in_clear = {k: v for k, v in row.items() if isinstance(v, str) and "3303811945070701" in re.sub(r"\W", "", v)}
    assert in_clear == {}, in_clear
    with Session(engine) as s:
        deceased = s.scalar(select(Deceased))
        from portal.crypto import Vault

        assert pii.open_value(Vault(settings.pii_key), deceased.certificate_no_enc) == DECEASED_ID_X
        assert deceased.certificate_no_bidx == deceased.id_card_bidx  # normalised before comparing


def test_back_office_masks_the_certificate_and_reveals_it_with_a_reason(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)  # died this month: the medical certificate number is the ID
    deceased_id = _deceased_id(db, vault, app_id)
    login(client, "officer-gongan")
    page = client.get(f"/admin/applications/{app_id}")
    assert page.status_code == 200
    assert deceased_id not in page.text
    assert pii.mask(pii.Kind.CERTIFICATE, deceased_id) in page.text
    assert 'value="deceased_certificate"' in page.text
    token = csrf_from(page.text)
    url = f"/admin/applications/{app_id}/reveal"
    bare = client.post(url, data={"csrf_token": token, "field": "deceased_certificate", "reason": ""})
    assert bare.status_code == 400 and deceased_id not in bare.text
    shown = client.post(url, data={"csrf_token": token, "field": "deceased_certificate", "reason": "核对死亡证明"})
    assert shown.status_code == 200 and deceased_id in shown.text
    with db() as s:
        assert list(s.scalars(select(Event.after).where(Event.tag == "staff:pii:reveal"))) == [
            {"field": "deceased_certificate", "reason": "核对死亡证明"}]


# --- 6. the archive copy follows the reveal rules ----------------------------------------------


def test_archive_copy_needs_a_reason_and_masks_what_the_officer_may_not_reveal(
        app, client: TestClient, db, vault, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    deceased_id = _deceased_id(db, vault, app_id)
    url = f"/admin/applications/{app_id}/archive.pdf"
    login(client, "officer-gongan")  # 公安 may reveal the deceased's ID, not the bank account
    page = client.get(f"/admin/applications/{app_id}")
    assert f'action="{url}"' in page.text  # linked where staff work on the case
    token = csrf_from(page.text)
    assert "pdf" not in client.get(url).headers.get("content-type", "")  # no copy without a reason
    bare = client.post(url, data={"csrf_token": token, "archive_reason": " "})
    assert bare.status_code == 400 and "pdf" not in bare.headers["content-type"]
    assert "请写明打印的原因" in bare.text
    copy = client.post(url, data={"csrf_token": token, "archive_reason": "乡镇存档"})
    assert copy.status_code == 200 and copy.content.startswith(b"%PDF")
    printed = _pdf_text(copy.content, tmp_path)
    assert DEMO_ACCOUNT not in printed and re.sub(r"\s", "", mask_account(DEMO_ACCOUNT)) in printed
    assert deceased_id in printed
    with db() as s:
        events = list(s.scalars(select(Event).where(Event.tag == "staff:receipt:print")))
    assert len(events) == 1 and events[0].after["reason"] == "乡镇存档"
    assert "recipient_account" not in events[0].after["fields"] and "deceased_id" in events[0].after["fields"]
    assert "乡镇存档" in events[0].summary

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as clerk:
        login(clerk, "clerk")
        page = clerk.get(f"/admin/applications/{app_id}")
        full = clerk.post(url, data={"csrf_token": csrf_from(page.text), "archive_reason": "家属要求纸质件"})
        assert full.status_code == 200 and DEMO_ACCOUNT in _pdf_text(full.content, tmp_path)


# --- 7. caching, the receipt's phone, the database file, digits --------------------------------


def test_pages_with_personal_data_are_never_stored(app, client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)  # 陈建国's
    login(client, "chenjianguo")
    for path in ("/my", f"/my/{app_id}", "/apply", f"/my/{app_id}/receipt.pdf"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "no-store" in r.headers.get("cache-control", ""), path
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as clerk:
        login(clerk, "clerk")
        page = clerk.get(f"/admin/applications/{app_id}")
        assert "no-store" in page.headers.get("cache-control", "")
        token = csrf_from(page.text)
        reveal = clerk.post(f"/admin/applications/{app_id}/reveal",
                            data={"csrf_token": token, "field": "applicant_phone", "reason": "联系家属"})
        assert reveal.status_code == 200 and "19900000001" in reveal.text
        assert "no-store" in reveal.headers.get("cache-control", "")
        archive = clerk.post(f"/admin/applications/{app_id}/archive.pdf",
                             data={"csrf_token": token, "archive_reason": "乡镇存档"})
        assert "no-store" in archive.headers.get("cache-control", "")
    static = client.get("/static/css/portal.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")


def test_family_receipt_prints_the_phone_masked(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc = app.state.services
    with transaction(svc.db) as session:
        application = make_application(session, svc.vault, applicant_phone="13912345678")
        family = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="family")
        archive = receipts.get_pdf(session, svc.vault, application, svc.settings, copy="archive")
    assert "13912345678" not in _pdf_text(family, tmp_path) and "139****5678" in _pdf_text(family, tmp_path)
    assert "13912345678" in _pdf_text(archive, tmp_path)


def test_sqlite_file_is_private_and_an_existing_one_is_tightened(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.db"
        engine = make_engine(f"sqlite:///{fresh}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('a')"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
        assert {"fresh.db", "fresh.db-wal", "fresh.db-shm"} <= set(modes), modes
        assert set(modes.values()) == {0o600}, modes

        old = tmp_path / "old.db"
        for path in (old, Path(f"{old}-wal")):
            path.touch()
            path.chmod(0o644)
        make_engine(f"sqlite:///{old}").dispose()
        assert stat.S_IMODE(old.stat().st_mode) == 0o600
        assert stat.S_IMODE(Path(f"{old}-wal").stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_bank_account_keeps_only_ascii_digits(client: TestClient, engine: Engine, settings) -> None:  # type: ignore[no-untyped-def]
    start(client)
    answers = typical()
    answer_all(client, answers, until="recipient")
    refused = post_step(client, "recipient", {**answers["recipient"], "r_account": "六二二二〇二一二三四五六七八九〇一二八"})
    assert refused.status_code != 303 and any("只能填数字" in e for e in errors_in(refused.text))
    arabic = GOOD_ACCOUNT.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    saved = post_step(client, "recipient", {**answers["recipient"], "r_account": arabic})
    assert saved.status_code == 303, errors_in(saved.text)
    assert submit(client).status_code == 303
    from portal.crypto import Vault

    with Session(engine) as s:
        recipient = s.scalar(select(Party).where(Party.role == "recipient"))
        assert Vault(settings.pii_key).open(recipient.bank_account_enc) == GOOD_ACCOUNT
