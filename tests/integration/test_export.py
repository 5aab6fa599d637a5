"""Exports (issue 16): CSV and XLSX hold the same rows; personal numbers masked unless a reason is
given, and then only those the staff member may reveal, each logged as an event per application."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.models import Application, Deceased, Event
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application
from tests.integration.history import build_history


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(body: bytes) -> list[list[str]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    rows: list[list[str]] = []
    for sheet in book.worksheets:
        if len(book.worksheets) > 1:
            if rows:
                rows.append([])
            rows.append([sheet.title])
        rows += [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return rows


def _ids(db: sessionmaker[Session], vault: Vault) -> dict[int, str]:
    with db() as s:
        return {a: vault.open(enc) or "" for a, enc in s.execute(select(Deceased.application_id, Deceased.id_card_enc))}


def test_window_queue_masked_then_revealed_with_a_reason(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    first, second = new_application(db, vault), new_application(db, vault, name="陈小梅")
    numbers = _ids(db, vault)
    login(client, "clerk")
    page = client.get("/admin/export?what=queue&status=submitted")
    assert page.status_code == 200 and "导出完整号码" in page.text
    masked = client.get("/admin/export/file?what=queue&status=submitted&format=csv")
    assert masked.status_code == 200 and masked.headers["content-type"].startswith("text/csv")
    rows = csv_rows(masked.content)
    assert rows[0][:3] == ["编号", "逝者", "逝者身份证号"] and len(rows) == 3
    assert not any(n in masked.text for n in numbers.values())
    assert all("*" in r[2] for r in rows[1:])
    same = client.get("/admin/export/file?what=queue&status=submitted&format=xlsx")
    assert xlsx_rows(same.content) == rows

    token = csrf_from(page.text)
    refused = client.post("/admin/export/file", data={"csrf_token": token, "what": "queue", "status": "submitted",
                                                     "format": "csv", "reason": " "})
    assert refused.status_code == 400 and "请写明导出完整身份证号的原因" in refused.text
    full = client.post("/admin/export/file", data={"csrf_token": token, "what": "queue", "status": "submitted",
                                                  "format": "csv", "reason": "与公安户籍系统核对"})
    assert full.status_code == 200
    assert {r[2] for r in csv_rows(full.content)[1:]} == {numbers[first], numbers[second]}
    with db() as s:
        logged = s.scalars(select(Event).where(Event.tag == "staff:pii:export")).all()
        assert sorted(e.application_id for e in logged) == sorted([first, second])
        assert all("与公安户籍系统核对" in e.summary and numbers[first] not in e.summary for e in logged)


def test_an_officer_gets_full_numbers_only_of_their_own_tasks(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    build_history(db, vault)
    numbers = _ids(db, vault)
    login(client, "officer-renshe")
    page = client.get("/admin/export?what=queue&status=all")
    full = client.post("/admin/export/file", data={"csrf_token": csrf_from(page.text), "what": "queue", "status": "all",
                                                  "format": "xlsx", "reason": "停发养老金核对"})
    rows = xlsx_rows(full.content)
    with db() as s:
        pension_apps = {a.id for a in s.scalars(select(Application)) if any(t.department == "renshe" for t in a.tasks)}
    assert len(rows) - 1 == len(pension_apps) == 2
    assert {r[2] for r in rows[1:]} == {numbers[a] for a in pension_apps}


def test_statistics_export_and_who_may(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    build_history(db, vault)
    login(client, "admin")
    query = "what=stats&from=2026-09-01&to=2026-11-30"
    as_csv = csv_rows(client.get(f"/admin/export/file?{query}&format=csv").content)
    as_xlsx = xlsx_rows(client.get(f"/admin/export/file?{query}&format=xlsx").content)
    assert as_csv == as_xlsx
    assert ["亡故人户口注销", "公安局（派出所）", "1", "4"] in [r[:4] for r in as_csv[as_csv.index(["办结用时"]):]]
    client.cookies.clear()
    login(client, "clerk")
    assert client.get(f"/admin/export/file?{query}&format=csv").status_code == 404
    assert client.get("/admin/export?what=nothing").status_code == 404
