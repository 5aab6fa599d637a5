"""Facts that contradict a case (数据不一致): opened by the exchange, seen and resolved by the window.

A department system saying the body is at another funeral home, or that the person died on
another day, changes nothing on the case: it opens a `case_exception` the window clerk sees on the
case page and in the queue, and marks resolved once checked with the family or the department.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain.form_steps.answers import OTHER
from portal.models import Application, CaseException, ExchangeEvent
from portal.services.applications import read_draft
from portal.services.casework import StaffLike, required_reason, staff_actor
from portal.services.errors import Conflict, Invalid, NotFound
from portal.services.events import Actor, record

KIND_LABELS = {"funeral_home": "殡仪馆不一致", "death_date": "去世日期不一致"}


def _known(case: Application, vault: Vault) -> tuple[date | None, str | None]:
    """The date of death and funeral home the case states (the family's form, else the first facts)."""
    d = case.deceased
    if d is not None:
        return d.death_time.date(), (d.funeral_home if d.body_at_funeral_home else None)
    answers = read_draft(vault, case).answers if case.draft_blob else {}
    try:
        died = date.fromisoformat(str(answers.get("death_date") or ""))
    except ValueError:
        died = None
    home = answers.get("funeral_home_other") if answers.get("funeral_home") == OTHER else answers.get("funeral_home")
    return died, (str(home) if home and answers.get("body_at_fh") == "yes" else None)


def contradictions(case: Application, vault: Vault, data: Any) -> dict[str, str]:
    """kind -> what differs, in words; empty when the fact agrees with (or adds to) the case."""
    died, home = _known(case, vault)
    out: dict[str, str] = {}
    reported_home = getattr(data, "funeral_home_name", None)
    if reported_home and home and reported_home != home:
        out["funeral_home"] = f"申请中的殡仪馆是“{home}”，系统报送的是“{reported_home}”"
    reported_death = getattr(data, "death_time", None)
    if reported_death is not None and died is not None and reported_death.date() != died:
        out["death_date"] = (f"申请中的去世日期是{clock.cn_date(died)}，"
                             f"系统报送的是{clock.cn_date(reported_death.date())}")
    return out


def open_exceptions(session: Session, case: Application, row: ExchangeEvent, found: dict[str, str],
                    system: Actor, label: str, words: str) -> list[CaseException]:
    opened = []
    for kind, detail in found.items():
        exc = CaseException(application_id=case.id, exchange_event_id=row.id, kind=kind,
                            detail=f"{label}（{words}）：{detail}", opened_at=clock.now())
        session.add(exc)
        opened.append(exc)
    record(session, system, "system:exchange:exception",
           f"{label}，但与申请内容不一致，未作改动，待窗口核实：" + "；".join(found.values()),
           application_id=case.id, after={"kinds": sorted(found)})
    return opened


@dataclass(frozen=True)
class ExceptionView:
    id: int
    application_id: int
    number: str
    kind: str
    label: str
    detail: str
    opened: str
    resolved: str
    resolution: str


def _view(exc: CaseException, number: str) -> ExceptionView:
    return ExceptionView(exc.id, exc.application_id, number, exc.kind, KIND_LABELS.get(exc.kind, exc.kind), exc.detail,
                         clock.cn_datetime(exc.opened_at), clock.cn_datetime(exc.resolved_at), exc.resolution or "")


def for_case(session: Session, case: Application) -> list[ExceptionView]:
    """Every exception of a case, open ones first (the clerk's case page)."""
    rows = session.scalars(select(CaseException).where(CaseException.application_id == case.id)
                           .order_by(CaseException.resolved_at.is_not(None), CaseException.id.desc()))
    return [_view(r, case.number or "") for r in rows]


def open_in_county(session: Session, county_code: str | None, *, limit: int = 50) -> list[ExceptionView]:
    """Open exceptions of a county's cases (the window's queue); all counties for None."""
    query = (select(CaseException, Application.number).join(Application, Application.id == CaseException.application_id)
             .where(CaseException.resolved_at.is_(None)).order_by(CaseException.id).limit(limit))
    if county_code:
        query = query.where(Application.county_code == county_code)
    return [_view(exc, number or "") for exc, number in session.execute(query)]


def open_count(session: Session, application_id: int) -> int:
    return session.scalar(select(func.count(CaseException.id)).where(
        CaseException.application_id == application_id, CaseException.resolved_at.is_(None))) or 0


def resolve_on_case(session: Session, application_id: int, exception_id: object, staff: StaffLike, note: str, *,
                    ip: str | None = None) -> CaseException:
    """The window's form: the case first (NotFound outside the clerk's county), then its exception."""
    app = session.get(Application, application_id)
    if app is None or not staff.may_accept(app.county_code):
        raise NotFound()
    try:
        wanted = int(str(exception_id))
    except ValueError:
        wanted = 0
    exc = session.get(CaseException, wanted) if 0 < wanted < 2**31 else None
    if exc is None or exc.application_id != app.id:
        raise Invalid({"resolution": "没有找到这条不一致记录，请刷新页面后再试"})
    return resolve(session, exc.id, staff, note, ip=ip)


def resolve(session: Session, exception_id: int, staff: StaffLike, note: str, *, ip: str | None = None) -> CaseException:
    """The clerk checked it: what was found (and done) is kept with the exception and logged."""
    exc = session.get(CaseException, exception_id)
    app = session.get(Application, exc.application_id) if exc is not None else None
    if exc is None or app is None or not staff.may_accept(app.county_code):
        raise NotFound()
    note = required_reason(note, limit=300, field="resolution", label="核实结果",
                           message="请写明核实的结果，例如“已与家属核实，以殡仪馆报送为准，已通知家属修改”")
    if exc.resolved_at is not None:
        raise Conflict("这条不一致已经有人核实处理过了，请刷新页面查看。")
    exc.resolved_at, exc.resolved_by, exc.resolution = clock.now(), staff.id, note
    record(session, staff_actor(staff, ip), "staff:exception:resolve",
           f"已核实“{KIND_LABELS.get(exc.kind, exc.kind)}”：{note}", application_id=app.id,
           after={"exception_id": exc.id, "kind": exc.kind})
    return exc
