"""限时结办: department officers take, complete, refuse or return their matters; a finished
matter starts the matters that waited for it (注2, 注4), and the last one completes the application.

Every function works inside the caller's transaction and checks who may (an officer only their
department's tasks in their county; NotFound otherwise), the version they saw (Conflict), moves
the status through portal.domain.status, logs an Event and queues the family's SMS.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.deadlines import due_on
from portal.models import Application, DepartmentTask, TaskDependency
from portal.services import held_facts
from portal.services import notifications as sms
from portal.services.casework import (
    StaffLike,
    app_snapshot,
    check_version,
    clean_text,
    department_name,
    flush,
    matter_name,
    required_reason,
    staff_actor,
    task_snapshot,
    transition,
)
from portal.services.deadlines import time_limit
from portal.services.errors import Invalid, NotFound, WorkflowError
from portal.services.events import Actor, record

# --- dependencies between matters -------------------------------------------------------------


def prerequisites(session: Session, task: DepartmentTask) -> list[DepartmentTask]:
    ids = [d.depends_on_id for d in task.depends_on]
    if not ids:
        return []
    return list(session.scalars(select(DepartmentTask).where(DepartmentTask.id.in_(ids))))


def unmet_prerequisites(session: Session, task: DepartmentTask) -> list[DepartmentTask]:
    """The task's prerequisites not yet finished (a query: callers changing rows hold autoflush)."""
    return [p for p in prerequisites(session, task) if p.status not in st.FINISHED]


def dependents(session: Session, task: DepartmentTask) -> list[DepartmentTask]:
    return list(session.scalars(
        select(DepartmentTask).join(TaskDependency, TaskDependency.task_id == DepartmentTask.id)
        .where(TaskDependency.depends_on_id == task.id)
    ))


def medical_settlement(session: Session, application_id: int) -> Decimal | None:
    """The 医保 settlement amount of an application, once 医保 has finished (注4)."""
    med = session.scalar(select(DepartmentTask).where(
        DepartmentTask.application_id == application_id, DepartmentTask.matter_code == "medical"))
    if med is None or med.status != st.DONE or med.amount is None:
        return None
    return Decimal(str(med.amount)).quantize(Decimal("0.01"))


def workable_task(session: Session, task_id: int, staff: StaffLike) -> DepartmentTask:
    """A task of this officer's department in their county, else NotFound."""
    task = session.get(DepartmentTask, task_id)
    if task is None or not staff.may_work_task(task.department, task.county_code):
        raise NotFound()
    return task


# --- the officer's actions -----------------------------------------------------------------------

def take_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike,
              *, ip: str | None = None) -> DepartmentTask:
    task = workable_task(session, task_id, staff)
    check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = transition(task.status, "take")
    task.assignee_id = staff.id
    task.started_at = clock.now()
    flush(session)
    record(session, staff_actor(staff, ip), "staff:task:take",
           f"{department_name(task.department)}已开始办理“{matter_name(task.matter_code)}”",
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    return task


def parse_result(session: Session, task: DepartmentTask,
                 fields: Mapping[str, Any]) -> tuple[dict[str, Any], Decimal | None]:
    """Read the result fields the task's matter needs; Invalid with per-field messages."""
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    amount: Decimal | None = None
    values: dict[str, Any] = {}
    for spec in st.result_fields(task.matter_code):
        raw = fields.get(spec.name)
        if spec.kind in ("money", "money_signed"):
            try:
                values[spec.name] = st.parse_money(str(raw or ""), signed=spec.kind == "money_signed")
            except ValueError as exc:
                errors[spec.name] = f"{spec.label}：{exc}"
        elif spec.kind == "date":
            try:
                day = date.fromisoformat(str(raw or "").strip())
            except ValueError:
                errors[spec.name] = f"请填写{spec.label}，例如 2026-11-20"
                continue
            if day > clock.today():
                errors[spec.name] = f"{spec.label}不能晚于今天"
            died = task.application.deceased.death_time.date() if task.application.deceased else None
            if died and day < died:
                errors[spec.name] = f"{spec.label}不能早于逝者去世的日期（{clock.cn_date(died)}）"
            values[spec.name] = day
    if errors:
        raise Invalid(errors)
    if task.matter_code == "medical":
        amount = values["settlement_amount"]
        result["settlement_amount"] = str(amount)
        if amount is not None and amount < 0:
            result["deduct_from"] = "pension"  # 注4: carried to the 人社 payout
    elif task.matter_code == "hukou":
        result["cancelled_on"] = values["cancelled_on"].isoformat()
    elif task.matter_code == "pension":
        payout = st.pension_payout(values["funeral_grant"], values["lump_sum"],
                                   medical_settlement(session, task.application_id))
        if not all(st.amount_in_range(Decimal(payout[k])) for k in ("net_paid", "still_owed")):
            raise Invalid({"lump_sum": "丧葬补助金和抚恤金合计金额太大了（不能超过 999,999,999.99 元），请检查"})
        result.update(payout)
        amount = Decimal(payout["net_paid"])
    return result, amount


@dataclass(frozen=True)
class Reporter:
    """A department system reporting a result (an exchanged fact) instead of an officer's click:
    the log names the system, no officer is assigned, and the family reads `words`."""

    actor: Actor
    words: str  # 由殡仪馆系统自动报送


def complete_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike,
                  fields: Mapping[str, Any], *, ip: str | None = None, reporter: Reporter | None = None) -> DepartmentTask:
    """Finish a task with the result its matter needs; startable dependents begin.

    `staff` decides who may (an officer, or a department system's scope); `reporter` is set when
    a system reported the result (portal/services/exchange.py)."""
    task = workable_task(session, task_id, staff)
    check_version(version, task, session, task=True)
    if task.status == st.WAITING or unmet_prerequisites(session, task):
        names = "、".join(matter_name(p.matter_code) for p in unmet_prerequisites(session, task))
        raise WorkflowError(f"这个事项还不能办结：要先等“{names or '申请受理'}”办结（注2、注4）。")
    new_status = transition(task.status, "complete")
    result, amount = parse_result(session, task, fields)
    message = clean_text(fields.get("message"), limit=200, field="message", label="给家属的说明") or None
    before = task_snapshot(task)
    task.status = new_status
    task.result = result or None
    task.amount = amount  # type: ignore[assignment]  # Numeric gives Decimal; the mapping says float
    task.message = message
    task.assignee_id = task.assignee_id or (None if reporter else staff.id)
    task.started_at = task.started_at or clock.now()
    task.finished_at = clock.now()
    flush(session)
    summary = st.result_summary(task.matter_code, task.result, task.amount)
    name = matter_name(task.matter_code)
    actor = reporter.actor if reporter else staff_actor(staff, ip)
    said = (f"：{summary}" if summary else "") + (f"（{reporter.words}）" if reporter else "")
    record(session, actor, "system:task:complete" if reporter else "staff:task:complete",
           f"“{name}”已办结{said}", application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    app = task.application
    sms.queue_sms(session, app, sms.msg_task_done(app.number or str(app.id), name, summary))
    _after_finish(session, task, actor)
    return task


def refuse_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike, reason: str,
                *, ip: str | None = None) -> DepartmentTask:
    task = workable_task(session, task_id, staff)
    reason = required_reason(reason, label="不予办理的原因", message="请写明不予办理的原因，家属会看到这段话")
    check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = transition(task.status, "refuse")
    task.message = reason
    task.result = {"refuse_reason": reason}
    task.assignee_id = task.assignee_id or staff.id
    task.finished_at = clock.now()
    flush(session)
    name = matter_name(task.matter_code)
    record(session, staff_actor(staff, ip), "staff:task:refuse", f"“{name}”不予办理，原因：{reason}",
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    app = task.application
    sms.queue_sms(session, app, sms.msg_task_refused(app.number or str(app.id), name, reason))
    _after_finish(session, task, staff_actor(staff, ip))
    return task


def return_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike, reason: str,
                step: str, *, ip: str | None = None) -> DepartmentTask:
    """Send one matter back for correction: the family fixes `step`, only this matter pauses."""
    task = workable_task(session, task_id, staff)
    reason = clean_text(reason, limit=200, label="需要补正的内容")
    errors = {}
    if step not in st.CORRECTION_STEPS:
        errors["step"] = "请选择家属需要修改的部分"
    if len(reason) < 2:
        errors["reason"] = "请写明需要家属补正什么，家属会看到这段话"
    if errors:
        raise Invalid(errors)
    check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = transition(task.status, "return")
    task.message = reason
    task.result = {"correction_step": step, "correction_reason": reason}
    task.assignee_id = task.assignee_id or staff.id
    flush(session)
    name = matter_name(task.matter_code)
    step_label = st.CORRECTION_STEPS[step]
    record(session, staff_actor(staff, ip), "staff:task:return",
           f"“{name}”需要您补正“{step_label}”：{reason}",
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    app = task.application
    sms.queue_sms(session, app, sms.msg_task_returned(app.number or str(app.id), name, step_label, reason))
    return task


# --- what follows a finished matter ----------------------------------------------------------------

def lock_application(session: Session, application_id: int) -> Application:
    """Lock the application row until the transaction ends, then re-read it and all its tasks.

    Two officers finishing the last two open matters at the same time would otherwise each see
    the other's matter still open (READ COMMITTED), and nobody would complete the application or
    start a dependent matter. Whoever finishes second waits here for the first to commit; the
    re-read (populate_existing: the identity map keeps stale rows otherwise) then sees both.
    SELECT ... FOR UPDATE on PostgreSQL; SQLite ignores it and serialises writers anyway.
    """
    app = session.scalars(select(Application).where(Application.id == application_id)
                          .with_for_update().execution_options(populate_existing=True)).one()
    session.scalars(select(DepartmentTask).where(DepartmentTask.application_id == application_id)
                    .execution_options(populate_existing=True)).all()
    return app


def _after_finish(session: Session, task: DepartmentTask, actor: Actor) -> None:
    """A task is done or refused: start its dependents, and complete the application if all are."""
    lock_application(session, task.application_id)
    day = clock.today()
    for dep in dependents(session, task):
        if dep.status == st.WAITING and task.application.status == st.APP_ACCEPTED \
                and not unmet_prerequisites(session, dep):
            before = task_snapshot(dep)
            dep.status = st.PENDING
            dep.deadline = due_on(day, time_limit(dep.matter_code))
            record(session, actor, "system:task:ready",
                   f"“{matter_name(task.matter_code)}”已办结，“{matter_name(dep.matter_code)}”现在开始办理",
                   application_id=dep.application_id, task_id=dep.id, public=True,
                   before=before, after=task_snapshot(dep))
            held_facts.queue_if_held(session, dep.application_id)  # its fact may have come already
    maybe_complete(session, task.application, actor)


def maybe_complete(session: Session, app: Application, actor: Actor, *, locked: bool = True) -> bool:
    """The application completes when every task is done or refused; the family is told.

    Checks fresh rows under the application's row lock (`lock_application`); pass locked=False
    only when the caller has not taken it yet.
    """
    if not locked:
        app = lock_application(session, app.id)
    if app.status != st.APP_ACCEPTED or not app.tasks or any(t.status not in st.FINISHED for t in app.tasks):
        return False
    before = app_snapshot(app)
    app.status = transition(app.status, "complete", app=True)
    app.completed_at = clock.now()
    record(session, actor, "system:application:complete", "您申请的所有事项都已办结",
           application_id=app.id, public=True, before=before, after=app_snapshot(app))
    sms.queue_sms(session, app, sms.msg_all_done(app.number or str(app.id)))
    return True


def resume_after_correction(session: Session, application: Application, actor: Actor,
                            *, step: str | None = None) -> list[DepartmentTask]:
    """Called after the family fixed the step they were asked to (by the application service).

    `step` is the form step the family just corrected: only tasks returned for that step (or a
    correction code it answers, st.corrected_steps, e.g. the form's "death" for 逝者信息/死亡证明)
    resume; tasks returned for another step stay returned until that one is fixed too.
    step=None resumes every returned task (the window returned the whole application).

    Resumed tasks go back to 未开始 with a fresh deadline (the clock restarts on the corrected
    material); the others carry on untouched. An application the window returned goes back to
    the window's queue. Returns the tasks that resumed.
    """
    resumed: list[DepartmentTask] = []
    day = clock.today()
    answered = st.corrected_steps(step) if step is not None else None
    for task in sorted(application.tasks, key=lambda t: t.id):
        if task.status != st.RETURNED:
            continue
        if answered is not None and (task.result or {}).get("correction_step") not in answered:
            continue
        before = task_snapshot(task)
        task.status = transition(task.status, "resume")
        task.deadline = due_on(day, time_limit(task.matter_code))
        old = dict(task.result or {})
        task.result = {"corrected": old.get("correction_step")} if old.get("correction_step") else None
        task.message = None
        resumed.append(task)
        record(session, actor, "citizen:task:resume",
               f"您已补正，“{matter_name(task.matter_code)}”恢复办理",
               application_id=application.id, task_id=task.id, public=True,
               before=before, after=task_snapshot(task))
    if application.status == st.APP_RETURNED:
        before = app_snapshot(application)
        application.status = transition(application.status, "resubmit", app=True)
        application.return_reason = None
        record(session, actor, "citizen:application:resubmit", "您已修改并重新提交申请，等待窗口受理",
               application_id=application.id, public=True, before=before, after=app_snapshot(application))
    return resumed
