"""Retention (issue 16): the dry run and the real run name the same drafts and cases, every run is
recorded, the statistics do not change, and afterwards the database file holds nothing of an
expired case's personal numbers (neither in clear nor sealed nor as a blind index) or its names.

Runs on its own SQLite file, as test_db_scan.py does, whatever database the suite uses, so the
raw bytes of the file and its WAL can be read.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.__main__ import main
from portal.config import Settings
from portal.crypto import Vault
from portal.db import make_engine, make_sessionmaker, transaction
from portal.domain import clock
from portal.domain import reconciliation as rules
from portal.migrate import upgrade
from portal.models import Application, CitizenAccount, Deceased, Event, ExchangeEvent, Party, ReconLine, RetentionRun
from portal.services import applications, reconciliation, statistics
from portal.services.staff import ensure_demo_staff
from portal.simulate import payloads
from tests.conftest import TEST_PII_KEY
from tests.integration.exchange_support import Scope, send
from tests.integration.factories import staff
from tests.integration.history import build_history
from tests.integration.test_db_scan import personal_numbers_in

YEARS_LATER = datetime(2031, 10, 1, 4, 0)  # five years after September 2026, before October's cases
PERIOD = statistics.Scope(None, None, datetime(2026, 9, 1).date(), datetime(2026, 11, 30).date())


@pytest.fixture
def own_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, sessionmaker[Session], Vault]]:
    env = {"VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "SECRET_KEY": "k" * 20,
           "PII_KEY": TEST_PII_KEY, "BASE_URL": "http://testserver", "OIDC_CLIENT_SECRET": "s" * 20,
           "RETENTION_DRAFT_DAYS": "90", "RETENTION_CASE_YEARS": "5"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env(env)
    engine = make_engine(settings.database_url)
    upgrade(engine, pii_key=settings.pii_key)
    db = make_sessionmaker(engine)
    with transaction(db) as s:
        ensure_demo_staff(s, settings.oidc_issuer)
    yield engine, db, Vault(settings.pii_key)
    engine.dispose()


def _secrets_of(session: Session, vault: Vault, app_id: int) -> set[bytes]:
    """Every byte string that would give away the case's people: ciphertexts, blind indexes, clear
    numbers and names (the applicant's own account, a login the family still uses, is not the case's)."""
    kept = set(session.scalars(select(CitizenAccount.id_card_bidx)))
    found: set[str] = set()
    d = session.scalar(select(Deceased).where(Deceased.application_id == app_id))
    assert d is not None
    found |= {d.name, d.id_card_enc, d.id_card_bidx, vault.open(d.id_card_enc) or ""}
    found |= {v for v in (d.certificate_no_enc, d.certificate_no_bidx) if v}
    for p in session.scalars(select(Party).where(Party.application_id == app_id)):
        found |= {v for v in (p.id_card_enc, p.phone_enc, p.bank_account_enc) if v}
        found |= {p.id_card_bidx} - kept if p.id_card_bidx else set()
        if p.bank_account_enc:
            found.add(vault.open(p.bank_account_enc) or "")
    app = session.get(Application, app_id)
    assert app is not None and app.draft_blob
    out = {s.encode() for s in found if s}
    out |= {app.draft_blob[:48], app.draft_blob[-48:]}
    return out | {s.encode("utf-16-le") for s in found if s and not s.isascii()}


def test_dry_run_and_real_run_agree_and_nothing_of_an_expired_case_remains(own_db, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    engine, db, vault = own_db
    ids = build_history(db, vault)
    with clock.frozen(datetime(2026, 9, 20, 10, 0)), transaction(db) as s:  # a draft nobody finished
        account = s.scalar(select(CitizenAccount))
        assert account is not None
        stale = applications.start_draft(s, vault, account.id, prefill={"d_name": "周秀兰"}).id
    with clock.frozen(datetime(2026, 9, 25, 11, 0)):  # a pension stop for someone with no case
        send(db, vault, Scope("鹿城区人社养老金系统", "renshe", "330302"),
             payloads.benefit_stopped("周阿大", "330302193805060019", "pension", source="urn:zj:renshe:lucheng"))
    with clock.frozen(datetime(2026, 10, 10, 9, 0)), transaction(db) as s:  # September closed and frozen
        for dept in rules.CONFIRMING:
            reconciliation.confirm(s, "2026-09", staff(s, f"officer-{dept}"))
        reconciliation.close(s, vault, "2026-09", "330302", staff(s, "admin"), overdue_after=5)
    with clock.frozen(YEARS_LATER), db() as s:
        before = statistics.statistics(s, PERIOD)
        secrets = _secrets_of(s, vault, ids["SEP_DONE"])
        fact = s.scalar(select(ExchangeEvent))
        assert fact is not None and fact.deceased_bidx
        secrets.add(fact.deceased_bidx.encode())
        assert s.scalar(select(ReconLine.person).where(ReconLine.application_id == ids["SEP_DONE"])) == "王*义"

    with clock.frozen(YEARS_LATER):
        assert main(["retention", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "试运行" in dry and "将删除 1 份" in dry and "将匿名化 1 件" in dry and "将清除 1 条" in dry
    with db() as s:
        assert s.get(Application, stale) is not None and s.scalar(
            select(Deceased).where(Deceased.application_id == ids["SEP_DONE"])) is not None

    with clock.frozen(YEARS_LATER):
        assert main(["retention"]) == 0
    assert "已删除 1 份" in capsys.readouterr().out

    with db() as s:
        runs = s.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
        assert [r.dry_run for r in runs] == [True, False]
        assert runs[0].detail["drafts"] == runs[1].detail["drafts"] == [stale]
        assert runs[0].detail["cases"] == runs[1].detail["cases"] == [ids["SEP_DONE"]]
        assert runs[0].detail["facts"] == runs[1].detail["facts"] == [fact.id]
        assert s.scalar(select(ReconLine.person).where(ReconLine.application_id == ids["SEP_DONE"])) == "（已过保存期限）"
        assert s.get(Application, stale) is None
        gone = s.get(Application, ids["SEP_DONE"])
        assert gone is not None and gone.status == "completed" and gone.draft_blob is None and gone.deceased_bidx is None
        assert not s.scalars(select(Party).where(Party.application_id == gone.id)).all()
        trail = s.scalars(select(Event).where(Event.application_id == gone.id)).all()
        assert trail and all("已过保存期限" in e.summary and e.ip is None for e in trail)
        assert {e.actor_kind for e in trail} >= {"staff", "citizen"}
        assert all(e.actor_name for e in trail if e.actor_kind == "staff")  # who did what stays
        assert s.get(Application, ids["OCT_PENSION_LEFT"]).deceased is not None  # not expired yet
    with clock.frozen(YEARS_LATER), db() as s:
        assert statistics.statistics(s, PERIOD) == before

    engine.dispose()
    path = Path(str(engine.url.database))
    raw = path.read_bytes() + (Path(f"{path}-wal").read_bytes() if Path(f"{path}-wal").exists() else b"")
    left = sorted(s.decode("utf-8", "replace") for s in secrets if s in raw)
    assert left == [], left
    # and no personal number in clear anywhere in the file (the scanner of test_db_scan)
    with make_sessionmaker(engine)() as s:
        harmless = {n for n in s.scalars(select(Application.number)) if n}
        harmless |= {v for (v,) in s.execute(select(Deceased.id_card_bidx))} | set(s.scalars(select(CitizenAccount.id_card_bidx)))
    assert personal_numbers_in(path.read_bytes(), harmless | {h for h in _hex_runs(raw)}) == set()


def _hex_runs(raw: bytes) -> set[str]:
    import re

    return {m.decode() for m in re.findall(rb"[0-9a-f]{32,64}", raw) if re.search(rb"[a-f]", m)}


def test_a_second_run_finds_nothing_then_forgets_unused_logins(own_db, capsys) -> None:  # type: ignore[no-untyped-def]
    from portal.services.demo import ensure_account

    engine, db, vault = own_db
    build_history(db, vault)
    with clock.frozen(datetime(2026, 9, 20, 10, 0)), transaction(db) as s:  # a login that only left a draft
        lin = ensure_account(s, vault, "zj-u-0002", "林晓燕", "330381197508220462", "19900000002", issuer="http://testserver/idp")
        applications.start_draft(s, vault, lin.id)
        lin_id = lin.id
    with clock.frozen(YEARS_LATER):
        assert main(["retention"]) == 0  # the draft goes; the login still held it, so it stays this time
        assert main(["retention"]) == 0  # now nothing holds the login: its numbers go
        assert main(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "已删除 1 份" in out[0] and "已匿名化 1 件" in out[0] and "账号" not in out[0]
    assert "已清除 1 个长期未登录账号的号码" in out[1]
    assert "将删除 0 份" in out[2] and "将匿名化 0 件" in out[2] and "账号" not in out[2]
    with db() as s:
        forgotten = s.get(CitizenAccount, lin_id)
        assert forgotten is not None and forgotten.id_card_enc is None and forgotten.id_card_bidx is None
        assert forgotten.phone_enc is None and forgotten.name == "（已过保存期限）"
        kept = s.scalar(select(CitizenAccount).where(CitizenAccount.sub == "zj-u-0001"))
        assert kept is not None and kept.id_card_bidx  # 陈建国 still has cases in progress


def test_the_same_on_the_suite_database(db: sessionmaker[Session], vault: Vault) -> None:
    """The plan and the anonymisation on whatever database the suite runs (PostgreSQL in CI)."""
    from portal.services import retention

    ids = build_history(db, vault)
    policy = retention.Policy(draft_days=90, case_years=5)
    with clock.frozen(YEARS_LATER):
        with db() as s:
            before = statistics.statistics(s, PERIOD)
        with transaction(db) as s:
            dry = retention.run(s, policy, dry_run=True, trigger="cli")
        with transaction(db) as s:
            real = retention.run(s, policy, dry_run=False, trigger="cli")
        assert dry.detail["cases"] == real.detail["cases"] == [ids["SEP_DONE"]]
        with db() as s:
            assert statistics.statistics(s, PERIOD) == before
            assert s.scalar(select(Deceased).where(Deceased.application_id == ids["SEP_DONE"])) is None
            assert all(e.summary.endswith("（已过保存期限）") for e in s.scalars(
                select(Event).where(Event.application_id == ids["SEP_DONE"])))


def test_the_daily_schedule_runs_it(own_db) -> None:  # type: ignore[no-untyped-def]
    from portal.services import jobs, schedules
    from portal.services.oversight_jobs import RETENTION_KIND, retention_run

    engine, db, vault = own_db
    ids = build_history(db, vault)
    assert any(s.kind == RETENTION_KIND for s in schedules.SCHEDULES) and RETENTION_KIND in jobs.HANDLERS
    settings = Settings.from_env()
    with clock.frozen(YEARS_LATER), transaction(db) as s:
        retention_run(s, {"period": "2031-10-01T03:30"}, jobs.JobContext(db=db, extras={"settings": settings},
                                                                        job_id=0, attempt=1))
    with db() as s:
        run = s.scalar(select(RetentionRun))
        assert run is not None and run.trigger == "schedule" and not run.dry_run
        assert run.detail["cases"] == [ids["SEP_DONE"]]
