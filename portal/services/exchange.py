"""数据先行: facts department systems push (CloudEvents) become progress on the family's case.

`receive` is the one use case behind `POST /api/v1/events` (and the reference client, the bench):
* idempotent by (source, id): the event's row is written first, under a unique constraint, so a
  replay or a concurrent duplicate changes nothing and gets the first answer back;
* the deceased is matched by the blind index of the 身份证号 (portal/services/pii.py);
* a fact that finishes a matter completes the department task through the same service the
  back office uses (portal/services/tasks.py): dependants unlock, the family gets a text and the
  timeline says "由殡仪馆系统自动报送";
* a fact that contradicts the case (another funeral home, another date of death) overwrites
  nothing: it opens a case exception for the window clerk (portal/services/case_exceptions.py);
* a death certificate or cremation for someone with no case opens a proactive case
  (portal/services/proactive.py).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.db import transaction
from portal.domain import clock
from portal.domain import exchange as vocab
from portal.domain import status as st
from portal.models import Application, DepartmentTask, ExchangeEvent
from portal.services import case_exceptions, held_facts, jobs, notifications, pii, proactive
from portal.services.casework import department_name, matter_name
from portal.services.errors import Invalid, WorkflowError
from portal.services.events import Actor, record
from portal.services.tasks import Reporter, complete_task


class SenderScope(Protocol):
    """Who is sending: an API client of one department, perhaps limited to one county."""

    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def county_code(self) -> str | None: ...


class NotAllowed(PermissionError):
    """This client's department may not report this fact, or not for that county (403)."""


@dataclass(frozen=True)
class Answer:
    """What the sender is told; stored with the event and returned again to a replay."""

    outcome: str  # applied | already_done | not_ready | informed | exception | proactive_case | no_case
    detail: str  # plain Chinese
    number: str | None = None  # the case's 编号
    task_id: int | None = None
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "duplicate"}


@dataclass(frozen=True)
class SystemScope:
    """The sending system as the task service's permission check sees it: its department's tasks,
    in its county (all counties when the client has none)."""

    name: str
    department: str
    county_code: str | None
    id: int | None = None  # no staff row: a system never becomes a task's assignee

    def may_work_task(self, department: str, county_code: str) -> bool:
        return department == self.department and self.county_code in (None, county_code)

    def may_accept(self, county_code: str | None) -> bool:
        return False

    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool:
        return False

    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool:
        return False


def _stored(session: Session, source: str, event_id: str) -> Answer | None:
    row = session.scalar(select(ExchangeEvent).where(ExchangeEvent.source == source, ExchangeEvent.event_id == event_id))
    return None if row is None else Answer(**row.answer, duplicate=True)


def receive(session: Session, vault: Vault, scope: SenderScope, event: vocab.Envelope, *,
            base_url: str = "") -> Answer:
    """Take one fact in the caller's transaction; NotAllowed when the client may not send it."""
    kind = vocab.kind_of(event)
    data = getattr(event, "data")  # noqa: B009
    if not vocab.may_send(kind, data, scope.department):
        raise NotAllowed(f"{department_name(scope.department) or scope.department}的系统不能报送“{kind.label}”")
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:  # its savepoints would commit early (pysqlite): writers take turns from here instead
        proactive.lock_deceased(session, "")
    first = _stored(session, event.source, event.id)
    if first is not None:
        return first
    deceased_id = data.deceased.id_number
    bidx = pii.index(vault, pii.Kind.ID_CARD, deceased_id) or ""
    row = ExchangeEvent(source=event.source, event_id=event.id, type=kind.type, client_name=scope.name[:80],
                        department=scope.department, county_code=scope.county_code, deceased_bidx=bidx,
                        received_at=clock.now(), outcome="processing", answer={})
    if sqlite:
        session.add(row)
        session.flush()
    else:
        try:
            with session.begin_nested():  # the unique (source, id) decides who processes a duplicate
                session.add(row)
                session.flush()
        except IntegrityError:
            again = _stored(session, event.source, event.id)  # READ COMMITTED: the winner's row
            if again is None:
                raise
            return again
    proactive.lock_deceased(session, bidx)
    case = proactive.case_for(session, bidx)
    facts = vocab.death_facts(data)
    county = case.county_code if case is not None else (facts.county_code if facts else None)
    if scope.county_code and county and county != scope.county_code:
        raise NotAllowed("这个客户端只能报送本县（市、区）的信息")
    system, words = reporting_system(scope.department)
    if case is None:
        answer = _no_case(session, vault, kind, facts, scope, base_url, row)
    else:
        row.application_id = case.id
        answer = _on_case(session, vault, case, kind, data, scope, system, words, row)
    row.outcome, row.answer = answer.outcome, answer.as_dict()
    if answer.outcome == "not_ready":  # applied by the worker once the matter may finish
        row.held_enc = vault.seal_bytes(event.model_dump_json().encode())
    session.flush()
    return answer


def apply_held(session: Session, vault: Vault, application_id: int) -> int:
    """Finish the matters whose facts came early, now that they may finish; how many finished.

    Idempotent (the worker may run it twice): a fact applied, or found already done, is released.
    """
    done = 0
    rows = session.scalars(select(ExchangeEvent).where(ExchangeEvent.application_id == application_id,
                                                       ExchangeEvent.held_enc.is_not(None))
                           .order_by(ExchangeEvent.id).with_for_update()).all()
    for row in rows:
        event = vocab.parse_event(json.loads(vault.open_bytes(row.held_enc or b"")))
        kind, data = vocab.kind_of(event), getattr(event, "data")  # noqa: B009
        matter = vocab.completed_matter(kind, data)
        task = session.scalar(select(DepartmentTask).where(DepartmentTask.application_id == application_id,
                                                           DepartmentTask.matter_code == matter))
        if task is None or task.status in st.FINISHED:
            row.held_enc, row.outcome = None, "already_done"
            continue
        if task.status not in st.TASK_TRANSITIONS["complete"][0]:
            continue  # still waiting: the next acceptance or prerequisite looks again
        try:
            finish(session, task, data, row.department, row.client_name)
        except (Invalid, WorkflowError):
            row.held_enc, row.outcome = None, "refused_later"  # e.g. a date the matter cannot take: the clerk sees the fact
            continue
        row.held_enc, row.outcome = None, "applied_later"
        done += 1
    return done


@jobs.handler(held_facts.APPLY_KIND, "应用部门提前报送的信息")
def _apply_held_job(session: Session, payload: dict[str, Any], ctx: jobs.JobContext) -> None:
    apply_held(session, ctx.extras["vault"], int(payload["application_id"]))


def receive_once(db: sessionmaker[Session], vault: Vault, scope: SenderScope, event: vocab.Envelope, *,
                 base_url: str = "") -> Answer:
    """`receive` in its own transaction. When a concurrent duplicate committed first (the unique
    (source, id) refused this one), the answer is the first one, read after the rollback."""
    try:
        with transaction(db) as session:
            return receive(session, vault, scope, event, base_url=base_url)
    except IntegrityError:
        with db() as session:
            first = _stored(session, event.source, event.id)
        if first is None:
            raise
        return first


def _no_case(session: Session, vault: Vault, kind: vocab.EventKind, facts: Any, scope: SenderScope,
             base_url: str, row: ExchangeEvent) -> Answer:
    if not kind.starts_case or facts is None:
        return Answer("no_case", "没有找到这位逝者的申请，信息已记录，供核对使用")
    app, _ = proactive.open_or_join_case(session, facts, source=f"{department_name(scope.department)}系统",
                                         vault=vault, base_url=base_url)
    row.application_id = app.id
    return Answer("proactive_case", f"已为逝者主动启动身后一件事，编号 {app.number}", app.number)


def _on_case(session: Session, vault: Vault, case: Application, kind: vocab.EventKind, data: Any,
             scope: SenderScope, system: Actor, words: str, row: ExchangeEvent) -> Answer:
    number = case.number
    found = case_exceptions.contradictions(case, vault, data)
    if found:
        case_exceptions.open_exceptions(session, case, row, found, system, kind.label, words)
        return Answer("exception", "这条信息与申请中的内容不一致，没有改动申请，已转窗口人员核实：" + "；".join(found.values()),
                      number)
    matter = vocab.completed_matter(kind, data)
    task = session.scalar(select(DepartmentTask).where(DepartmentTask.application_id == case.id,
                                                       DepartmentTask.matter_code == matter)) if matter else None
    if task is None:
        _tell(session, case, system, f"{kind.label}（{words}）")
        return Answer("informed", f"已记录：{kind.label}", number)
    if task.status in st.FINISHED:
        return Answer("already_done", f"“{matter_name(task.matter_code)}”已经办结，没有改动", number, task.id)
    if task.status not in st.TASK_TRANSITIONS["complete"][0]:
        _tell(session, case, system, f"{kind.label}（{words}）")
        return Answer("not_ready", f"“{matter_name(task.matter_code)}”还不能办结（等待受理或前置事项），信息已记录", number,
                      task.id)
    try:
        finish(session, task, data, scope.department, scope.name)
    except (Invalid, WorkflowError) as exc:
        detail = "；".join(exc.errors.values()) if isinstance(exc, Invalid) else str(exc)
        raise Invalid({"data": f"这条信息不能用来办结“{matter_name(task.matter_code)}”：{detail}"}) from None
    return Answer("applied", f"“{matter_name(task.matter_code)}”已办结", number, task.id)


def reporting_system(department: str) -> tuple[Actor, str]:
    """The department's system as the log names it, and how the family is told ("由殡仪馆系统自动报送")."""
    return Actor("system", None, f"{department_name(department)}系统"[:60]), vocab.reported_by(department)


def finish(session: Session, task: DepartmentTask, data: Any, department: str, client_name: str) -> None:
    """Complete the task with what the fact says, through the back office's own service."""
    system, words = reporting_system(department)
    fields = {**result_fields(task.matter_code, data), "message": f"{words}：{fact_line(data)}"[:200]}
    complete_task(session, task.id, task.version, SystemScope(client_name, department, None), fields,
                  reporter=Reporter(system, words))


def _tell(session: Session, case: Application, system: Actor, summary: str) -> None:
    """A fact that finishes nothing yet: on the family's timeline, and a text when there is a family."""
    record(session, system, "system:exchange:fact", summary, application_id=case.id, public=True)
    if case.status != st.APP_PROACTIVE:
        notifications.queue_sms(session, case, notifications.msg_fact_reported(case.number or str(case.id), summary))


def result_fields(matter: str, data: Any) -> dict[str, str]:
    """The result a matter needs (portal.domain.status.RESULT_FIELDS), read from the fact."""
    if matter == "medical":
        return {"settlement_amount": str(data.settlement_amount)}
    if matter == "hukou":
        return {"cancelled_on": data.cancelled_on.isoformat()}
    if matter == "pension" and hasattr(data, "funeral_grant"):
        return {"funeral_grant": str(data.funeral_grant), "lump_sum": str(data.lump_sum)}
    return {}


def _yuan(value: Decimal) -> str:
    return st.yuan(value)


def fact_line(data: Any) -> str:
    """One plain line of what the system reported, for the task's message to the family."""
    if isinstance(data, vocab.CremationCompleted):
        return f"{data.funeral_home_name}于{clock.cn_date(data.cremated_at.date())}完成火化"
    if isinstance(data, vocab.DeathCertificateIssued):
        return f"{data.issuer_name}已出具死亡证明"
    if isinstance(data, vocab.HouseholdCancelled):
        return f"{data.police_station}已注销户口"
    if isinstance(data, vocab.BenefitStopped):
        return f"自{clock.cn_date(data.stopped_from)}起停发"
    if isinstance(data, vocab.ProvidentFundSettled):
        return f"住房公积金已结算，金额 {_yuan(data.amount)}"
    if isinstance(data, vocab.MedicalAccountSettled):
        return f"{clock.cn_date(data.settled_on)}完成清算"
    if isinstance(data, vocab.BenefitPaid):
        return f"{clock.cn_date(data.paid_on)}已发放"
    return "已办结"
