"""The migration that seals death-certificate numbers already stored in clear (issue 11, item 5).

Runs on a fresh SQLite file and, when the suite runs on PostgreSQL, on a fresh database of that
server too: migrate to the revision before, write rows as the old code did, upgrade, look.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from portal.crypto import Vault
from portal.db import make_engine
from portal.migrate import alembic_config, downgrade, upgrade

REVISION = "c3e1a7b25d90"  # migrations/versions/*_seal_certificate_numbers.py
KEY = bytes.fromhex("7" * 64)
ID_X = "33038119450707018X"
ID_PLAIN = "330302194001010010"
OLD_ROWS = {  # application id -> (deceased ID, certificate_no as the old code stored it)
    1: (ID_X, "330381-19450707-018x"),  # police certificate typed as the ID with dashes
    2: (ID_PLAIN, "同逝者身份证号码"),  # the submission service's words for "same as the ID"
    3: ("330302193805050021", "WZ-2026-000123"),  # a serial printed before 2026-07-01
}


def _at(engine: Engine, revision: str, *, down: bool = False) -> None:
    if down:
        downgrade(engine, revision, pii_key=KEY)
    else:
        upgrade(engine, revision=revision, pii_key=KEY)


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(request, tmp_path: Path, engine: Engine) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        yield eng
        eng.dispose()
        return
    if engine.dialect.name != "postgresql":
        pytest.skip("runs when the suite runs on PostgreSQL (make test does)")
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(str(engine.url.render_as_string(hide_password=False))).set(database=name)
                      .render_as_string(hide_password=False))
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}"'))


def _write_old_rows(engine: Engine, vault: Vault) -> None:
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO citizen_account (id, sub, issuer, name, id_type, auth_level, created_at, updated_at)"
                          " VALUES (1, 'zj-u-9001', 'test', '陈建国', 1, 3, :now, :now)"), {"now": now})
        for app_id, (id_no, cert) in OLD_ROWS.items():
            conn.execute(text("INSERT INTO application (id, account_id, status, channel, version, created_at, updated_at)"
                              " VALUES (:id, 1, 'submitted', 'online', 1, :now, :now)"), {"id": app_id, "now": now})
            conn.execute(text(
                "INSERT INTO deceased (id, application_id, name, id_card_enc, id_card_bidx, gender, birth_date, age,"
                " ethnicity, hukou_county, hukou_township, death_time, death_cause, certificate_type, certificate_no,"
                " body_at_funeral_home, ashes_category, ashes_place, pension_type, is_veteran, has_disability_cert,"
                " receives_assistance) VALUES (:id, :id, '陈德明', :enc, :bidx, '男', '1940-01-01', 86, '01', '330302',"
                " '五马街道', '2026-11-19 06:30:00', '病故', 'medical', :cert, TRUE, 'commercial_cemetery', '仰义陵园',"
                " 'enterprise_retired', FALSE, FALSE, FALSE)"),
                {"id": app_id, "enc": vault.seal(id_no), "bidx": vault.index(id_no), "cert": cert})


def test_migration_seals_existing_certificate_numbers_and_goes_back(blank_engine: Engine) -> None:
    vault = Vault(KEY)
    script = ScriptDirectory.from_config(alembic_config(str(blank_engine.url)))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    _at(blank_engine, before)
    _write_old_rows(blank_engine, vault)

    upgrade(blank_engine, pii_key=KEY)  # as `python -m portal migrate` does
    columns = {c["name"] for c in inspect(blank_engine).get_columns("deceased")}
    assert "certificate_no" not in columns and {"certificate_no_enc", "certificate_no_bidx"} <= columns
    with blank_engine.connect() as conn:
        rows = {r.application_id: r for r in conn.execute(text(
            "SELECT application_id, certificate_no_enc, certificate_no_bidx, id_card_bidx FROM deceased"))}
    assert vault.open(rows[1].certificate_no_enc) == ID_X and rows[1].certificate_no_bidx == rows[1].id_card_bidx
    assert vault.open(rows[2].certificate_no_enc) == ID_PLAIN and rows[2].certificate_no_bidx == rows[2].id_card_bidx
    assert vault.open(rows[3].certificate_no_enc) == "WZ-2026-000123"
    assert rows[3].certificate_no_bidx == vault.index("WZ2026000123")
    assert all(r.certificate_no_enc.startswith("v1:") for r in rows.values())
    if blank_engine.dialect.name == "sqlite":  # no page image of the old rows is left behind either
        blank_engine.dispose()
        path = Path(blank_engine.url.database)
        raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
        assert b"19450707-018" not in raw and b"WZ-2026-000123" not in raw

    _at(blank_engine, before, down=True)  # reversible; the old code's words for "same as the ID" come back
    with blank_engine.connect() as conn:
        old = dict(conn.execute(text("SELECT application_id, certificate_no FROM deceased")).all())
    assert old == {1: "同逝者身份证号码", 2: "同逝者身份证号码", 3: "WZ-2026-000123"}
