"""月对账 (issue 16) over demo data from September to November 2026.

Planted: 赵德厚 (鹿城区, died 12 October) whose pension 人社 never stopped, and a pension stop
人社's system reported in October for someone the portal knows no death of. The reconciliation
must list every death with each department's state and find exactly those two exceptions; CSV
and XLSX (page export and command line) hold the same rows; a county without deaths files a zero
report; departments confirm, the administrator closes, and the closed month no longer changes.
"""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from portal.__main__ import main
from portal.crypto import Vault
from portal.db import transaction
from portal.domain import clock
from portal.domain import reconciliation as rules
from portal.services import reconciliation, tasks
from portal.services.errors import WorkflowError
from portal.simulate import payloads
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.exchange_support import Scope, send
from tests.integration.factories import staff, tasks_by_matter
from tests.integration.history import LUCHENG, RUIAN, build_history
from tests.integration.test_export import csv_rows, xlsx_rows

TENTH = datetime(2026, 11, 10, 9, 0)
PENSION_SYSTEM = Scope("鹿城区人社养老金系统", "renshe", LUCHENG)
STRANGER_ID = "330302193805060019"  # valid check digit; nobody in the portal


def _plant(db: sessionmaker[Session], vault: Vault) -> dict[str, int]:
    ids = build_history(db, vault)
    with clock.frozen(datetime(2026, 10, 25, 11, 0)):
        answer = send(db, vault, PENSION_SYSTEM, payloads.benefit_stopped(
            "周阿大", STRANGER_ID, "pension", source="urn:zj:renshe:lucheng", on=date(2026, 11, 1)))
    assert answer.outcome == "no_case"
    return ids


def _view(db: sessionmaker[Session], vault: Vault, month: str, county: str | None) -> reconciliation.MonthView:
    with db() as s:
        return reconciliation.view(s, vault, month, county, overdue_after=5)


def test_exactly_the_planted_exceptions_month_by_month(db: sessionmaker[Session], vault: Vault) -> None:
    ids = _plant(db, vault)
    with clock.frozen(TENTH):
        october = _view(db, vault, "2026-10", LUCHENG)
        found = {(r.key, kind) for r in october.rows for kind, _ in r.exceptions}
        assert found == {(f"app:{ids['OCT_PENSION_LEFT']}", "overdue"),
                         (next(r.key for r in october.rows if r.application_id is None), "stop_no_death")}
        pension_left = next(r for r in october.rows if r.application_id == ids["OCT_PENSION_LEFT"])
        assert [w for _, w in pension_left.exceptions] == ["养老金/社保停发：去世信息已知 20 个工作日，仍未办结"]
        assert pension_left.cells["hukou"] == {"state": "done", "text": "已办结", "on": "2026-10-14"}
        assert pension_left.cells["pension"]["state"] == "open"
        assert pension_left.cells["medical"] == {"state": "done", "text": "已办结", "on": "2026-10-16"}
        assert [r.exceptions != [] for r in october.rows] == [True, True]  # exceptions first, and only those

        september = _view(db, vault, "2026-09", LUCHENG)
        assert [r.application_id for r in september.rows] == [ids["SEP_DONE"]]
        assert september.rows[0].exceptions == []
        assert {c: september.rows[0].cells[c]["state"] for c in ("hukou", "pension", "medical", "veteran")} == \
            {"hukou": "done", "pension": "done", "medical": "done", "veteran": "none"}
        assert [r.application_id for r in _view(db, vault, "2026-11", LUCHENG).rows] == [ids["NOV_RETURNED"]]
        assert not _view(db, vault, "2026-11", LUCHENG).exceptions

        ruian = _view(db, vault, "2026-10", RUIAN)
        assert [r.application_id for r in ruian.rows] == [ids["OCT_RUIAN"]] and not ruian.exceptions
        city = _view(db, vault, "2026-10", None)
        assert len(city.rows) == 3 and len(city.exceptions) == 2
        quiet = _view(db, vault, "2026-10", "330303")  # 龙湾区: no death that month
        assert quiet.zero_report and quiet.county_label == "龙湾区"


def test_csv_and_xlsx_hold_the_same_rows(client, db: sessionmaker[Session], vault: Vault, test_env, monkeypatch,
                                         tmp_path, capsysbinary) -> None:  # type: ignore[no-untyped-def]
    ids = _plant(db, vault)
    login(client, "admin")
    with clock.frozen(TENTH):
        page = client.get(f"/admin/reconcile?month=2026-10&county={LUCHENG}")
        assert page.status_code == 200 and "有停发无死亡" in page.text and "逾期未停发/未注销" in page.text
        as_csv = csv_rows(client.get(f"/admin/export/file?what=reconcile&month=2026-10&county={LUCHENG}&format=csv").content)
        as_xlsx = xlsx_rows(client.get(f"/admin/export/file?what=reconcile&month=2026-10&county={LUCHENG}&format=xlsx").content)
        assert as_csv == as_xlsx and len(as_csv) == 3
        assert as_csv[0][:4] == ["县（市、区）", "编号", "逝者", "逝者身份证号"]
        assert "赵*厚" in as_csv[1] and "*" in as_csv[1][3]  # masked
        for key, value in test_env.items():
            monkeypatch.setenv(key, value)
        for fmt in ("csv", "xlsx"):
            out = tmp_path / f"recon.{fmt}"
            assert main(["reconcile", "--month", "2026-10", "--county", LUCHENG, "--format", fmt, "--output", str(out)]) == 0
            assert (csv_rows if fmt == "csv" else xlsx_rows)(out.read_bytes()) == as_csv
        assert main(["reconcile", "--month", "2026-10", "--county", "330303", "--format", "csv"]) == 0
        zero = csv_rows(capsysbinary.readouterr().out)
        assert len(zero) == 2 and zero[1][2].startswith("零报告")
    assert ids


def test_confirm_close_and_frozen(client, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    ids = _plant(db, vault)
    with clock.frozen(TENTH):
        with transaction(db) as s:
            with pytest.raises(WorkflowError, match="还有部门没有确认"):
                reconciliation.close(s, vault, "2026-10", LUCHENG, staff(s, "admin"), overdue_after=5)
        with transaction(db) as s:
            for dept in rules.CONFIRMING[:-1]:
                reconciliation.confirm(s, "2026-10", staff(s, f"officer-{dept}"))
        login(client, f"officer-{rules.CONFIRMING[-1]}")
        page = client.get("/admin/reconcile?month=2026-10")
        confirmed = client.post("/admin/reconcile/confirm", data={"csrf_token": csrf_from(page.text), "month": "2026-10",
                                                                  "note": "已核对"})
        assert confirmed.status_code == 303
        client.cookies.clear()
        login(client, "admin")
        page = client.get(f"/admin/reconcile?month=2026-10&county={LUCHENG}")
        assert "结账（冻结本月）" in page.text
        closed = client.post("/admin/reconcile/close", data={"csrf_token": csrf_from(page.text), "month": "2026-10",
                                                             "county": LUCHENG})
        assert closed.status_code == 303
        again = client.post("/admin/reconcile/close", data={"csrf_token": csrf_from(page.text), "month": "2026-10",
                                                            "county": LUCHENG})
        assert again.status_code == 409 and "已经结账" in again.text
        frozen = _view(db, vault, "2026-10", LUCHENG)
    # a week later 人社 finally stops the pension: the closed month shows it as an amendment only
    with clock.frozen(datetime(2026, 11, 17, 10, 0)), transaction(db) as s:
        task = tasks_by_matter(s, ids["OCT_PENSION_LEFT"])["pension"]
        tasks.complete_task(s, task.id, task.version, staff(s, "officer-renshe"), {"funeral_grant": "5000", "lump_sum": "0"})
    with clock.frozen(datetime(2026, 11, 18, 9, 0)):
        later = _view(db, vault, "2026-10", LUCHENG)
        assert later.status == "closed" and [vars(r) for r in later.rows] == [vars(r) for r in frozen.rows]
        assert [a.words for a in later.amendments] == ["养老金/社保停发：待接办 → 已办结（2026-11-17）"]
        with transaction(db) as s, pytest.raises(WorkflowError, match="已经结账"):
            reconciliation.confirm(s, "2026-10", staff(s, "officer-gongan"))
        client.cookies.clear()
        login(client, "admin")  # a week later: a new session
        page = client.get(f"/admin/reconcile?month=2026-10&county={LUCHENG}")
        assert "结账后更正" in page.text and "已结账（冻结）" in page.text


def test_the_tenth_opens_last_month_for_every_county(db: sessionmaker[Session], vault: Vault, settings) -> None:  # type: ignore[no-untyped-def]
    from portal.services import job_handlers, jobs

    assert job_handlers.oversight_jobs.monthly_reconciliation in job_handlers.MONTHLY_HOOKS
    with transaction(db) as s:
        job_handlers.reconcile_month(s, {"period": "2026-11-10T06:00"}, jobs.JobContext(db=db, extras={}, job_id=0, attempt=1))
    with db() as s:
        assert reconciliation.month_row(s, "2026-10", LUCHENG) is not None
        assert reconciliation.open_months(s, "2026-10") == 0


def _id(body: str) -> str:
    from portal.services.demo import id_check_digit

    return body + id_check_digit(body)


def test_facts_from_department_systems_join_the_month(db: sessionmaker[Session], vault: Vault) -> None:
    """A death certificate opens a proactive case (its tasks started at once): it is a death of the
    month with 公安's and 人社's cells, settled by their systems' facts; a body nobody applied for
    is "missing at one side"."""
    from tests.integration.exchange_support import GONGAN, HOSPITAL

    opened_id, unknown_id = _id("33030219370211001"), _id("33030219360712002")
    with clock.frozen(datetime(2026, 10, 5, 9, 0)):
        opened = send(db, vault, HOSPITAL, payloads.death_certificate(
            "吴秀珍", opened_id, datetime(2026, 10, 4, 23, 0), county=LUCHENG, township="五马街道"))
        assert opened.outcome == "proactive_case"
        lost = send(db, vault, Scope("温州市殡仪馆火化系统", "binyiguan", LUCHENG), payloads.body_received(
            "郑无名", unknown_id, died=datetime(2026, 10, 5, 2, 0)))
        assert lost.outcome == "no_case"
    with clock.frozen(datetime(2026, 10, 7, 9, 0)):
        assert send(db, vault, GONGAN, payloads.household_cancelled(
            "吴秀珍", opened_id, on=date(2026, 10, 6))).outcome == "applied"
        assert send(db, vault, Scope("温州市人社养老金系统", "renshe"), payloads.benefit_stopped(
            "吴秀珍", opened_id, "pension", source="urn:zj:renshe", on=date(2026, 11, 1))).outcome == "applied"
    with clock.frozen(TENTH):
        october = _view(db, vault, "2026-10", LUCHENG)
    case = next(r for r in october.rows if r.number)
    assert case.person == "吴*珍" and case.death_date == date(2026, 10, 4) and case.known_on == date(2026, 10, 5)
    assert case.cells["hukou"] == {"state": "done", "text": "已办结", "on": "2026-10-06"}
    assert case.cells["pension"]["state"] == "done"
    stray = next(r for r in october.rows if not r.number)
    assert [k for k, _ in stray.exceptions] == ["missing"] and "binyiguan" in stray.exceptions[0][1]
    # whatever else the proactive case started (民政, 残联… for someone not known to draw them) is
    # not an exception unless the case carries it and it stays open past the limit
    assert {k for r in october.rows for k, _ in r.exceptions} <= {"missing", "overdue"}
