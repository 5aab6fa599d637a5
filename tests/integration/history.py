"""Demo data over several months (September to November 2026), moved through the real workflow
with the clock frozen at each step, for the statistics, export, retention and reconciliation tests.

Planted on purpose (the reconciliation must find exactly these):
* PENSION_LEFT: 鹿城区, died 2026-10-12; 户口 cancelled, but 人社 never stopped the pension;
* (the "stop with no death" is planted by the reconciliation tests themselves.)
Everything else is finished within its time limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.db import transaction
from portal.domain import clock
from portal.models import Application
from portal.services import tasks, window
from portal.services.demo import DEMO_CITIZENS, DeceasedSpec, build_submitted, ensure_account, make_id
from tests.integration.factories import CITIZENS, ISSUER, staff, tasks_by_matter

LUCHENG, RUIAN = "330302", "330381"

RESULTS: dict[str, dict[str, str]] = {
    "medical": {"settlement_amount": "120.50"},
    "pension": {"funeral_grant": "5000", "lump_sum": "20000"},
}


@dataclass(frozen=True)
class Case:
    key: str
    name: str
    county: str
    died: datetime
    submitted: datetime
    matters: frozenset[str]
    channel: str = "online"
    accepted: datetime | None = None
    done: tuple[tuple[str, datetime], ...] = ()  # (matter, when) completed in this order
    returned: tuple[tuple[str, str, datetime], ...] = ()  # (matter, correction step, when)
    scenario: str = "hospital"  # home and hospital deaths add 卫健's certificate check by themselves


def _d(text: str) -> datetime:
    return datetime.fromisoformat(text)


CASES: tuple[Case, ...] = (
    Case("SEP_DONE", "王守义", LUCHENG, _d("2026-09-03 05:00"), _d("2026-09-03 09:00"),
         frozenset({"hukou", "medical", "pension"}), accepted=_d("2026-09-03 10:00"),
         done=(("certificate", _d("2026-09-03 12:00")), ("hukou", _d("2026-09-04 09:30")),
               ("medical", _d("2026-09-08 15:00")), ("pension", _d("2026-09-15 11:00")))),
    Case("OCT_PENSION_LEFT", "赵德厚", LUCHENG, _d("2026-10-12 22:00"), _d("2026-10-13 09:00"),
         frozenset({"hukou", "medical", "pension"}), accepted=_d("2026-10-13 10:00"), scenario="unnatural",
         done=(("hukou", _d("2026-10-14 09:00")), ("medical", _d("2026-10-16 16:00")))),
    Case("OCT_RUIAN", "钱桂英", RUIAN, _d("2026-10-20 03:00"), _d("2026-10-20 10:00"), frozenset({"hukou"}),
         channel="walk_in", scenario="unnatural", accepted=_d("2026-10-20 10:30"), done=(("hukou", _d("2026-10-21 10:00")),)),
    Case("NOV_RETURNED", "孙丽娟", LUCHENG, _d("2026-11-02 08:00"), _d("2026-11-02 15:00"),
         frozenset({"hukou", "medical"}), channel="phone", accepted=_d("2026-11-03 09:00"),
         done=(("certificate", _d("2026-11-03 16:00")), ("hukou", _d("2026-11-04 09:00"))),
         returned=(("medical", "recipient", _d("2026-11-05 10:00")),)),
)


def _as_staff(session: Session, department: str, county: str) -> Any:
    if county == RUIAN:
        return staff(session, "officer-gongan-ruian")
    return staff(session, f"officer-{department}")


def build_history(db: sessionmaker[Session], vault: Vault) -> dict[str, int]:
    """Every case of CASES, each step at its own frozen time; returns application ids by key."""
    ids: dict[str, int] = {}
    sub = CITIZENS["chenjianguo"]
    acc_name, id_no, phone = DEMO_CITIZENS[sub]
    for n, case in enumerate(CASES, start=1):
        with clock.frozen(case.submitted), transaction(db) as s:
            account = ensure_account(s, vault, sub, acc_name, id_no, phone, issuer=ISSUER)
            born = datetime(1938, 1, 1).date().replace(day=n)
            spec = DeceasedSpec(case.name, make_id(case.county, born, 70 + n, True), "男", born, case.died, case.county,
                                "五马街道" if case.county == LUCHENG else "安阳街道", scenario=case.scenario)
            app = build_submitted(s, vault, account, spec, set(case.matters), applicant_name=acc_name,
                                  applicant_id=id_no, applicant_phone=phone, submitted=clock.now())
            app.channel = case.channel
            ids[case.key] = app.id
        if case.accepted:
            with clock.frozen(case.accepted), transaction(db) as s:
                clerk = staff(s, "clerk" if case.county == LUCHENG else "clerk-ruian")
                app = s.get(Application, ids[case.key])
                assert app is not None
                window.accept(s, app.id, app.version, clerk)
        for matter, when in case.done:
            with clock.frozen(when), transaction(db) as s:
                task = tasks_by_matter(s, ids[case.key])[matter]
                values = dict(RESULTS.get(matter, {}))
                if matter == "hukou":
                    values["cancelled_on"] = when.date().isoformat()
                tasks.complete_task(s, task.id, task.version, _as_staff(s, task.department, case.county), values)
        for matter, step, when in case.returned:
            with clock.frozen(when), transaction(db) as s:
                task = tasks_by_matter(s, ids[case.key])[matter]
                tasks.return_task(s, task.id, task.version, _as_staff(s, task.department, case.county),
                                  "请补充领取人的银行卡复印件", step)
    return ids
