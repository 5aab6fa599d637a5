"""Use cases of 一窗受理 and 限时结办: accept/return applications, take/complete/refuse/return tasks.

Every function works inside the caller's transaction (`portal.db.transaction`) and
- checks who may do it (an officer only their department's tasks in their county; a clerk only
  applications of their county) and raises NotFound otherwise, so nothing leaks by status code;
- checks the version the staff member saw (optimistic locking) and raises Conflict when the row
  changed meanwhile; the ORM's version_id_col also catches a race between check and write;
- moves the status through portal.domain.status (the one place transitions are defined);
- appends an Event (who, when, what, before/after; a family-worded public one where it matters)
- and queues an SMS in the outbox for changes that matter to the family.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.crypto import Vault
from portal.domain import status as st
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.deadlines import due_on
from portal.models import Application, DepartmentTask, Event, Party, StaffMember, TaskDependency
from portal.services import notifications as sms
from portal.services import pii
from portal.services import staff as staff_accounts
from portal.services.deadlines import CHINA, plan, time_limit, today  # noqa: F401 - CHINA re-exported for queues
from portal.services.events import Actor, record

if TYPE_CHECKING:  # pragma: no cover
    from portal.services.receipts import PdfJob

def now() -> datetime:
    return datetime.now(UTC)


class StaffLike(Protocol):
    """What the workflow needs of a staff member (auth.permissions.Staff fits)."""

    id: int
    name: str
    department: str | None
    county_code: str | None

    def may_work_task(self, department: str, county_code: str) -> bool: ...
    def may_accept(self, county_code: str | None) -> bool: ...
    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool: ...
    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool: ...


# --- errors -----------------------------------------------------------------------------

class WorkflowError(Exception):
    """An action that cannot be done; `message` is plain Chinese for the person who tried."""

    def __init__(self, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class NotFound(WorkflowError):
    """No such record, or not one this person may see (indistinguishable on purpose)."""

    def __init__(self) -> None:
        super().__init__("找不到这条记录，或者您没有权限查看。")


class Conflict(WorkflowError):
    """The record changed since the form was shown; nothing was saved."""


class Invalid(WorkflowError):
    """Form fields need fixing; `errors` maps field name to message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("请修改以下问题", errors)


# --- helpers ----------------------------------------------------------------------------

def catalogue() -> Catalogue:
    return default_catalogue()


def matter_name(code: str) -> str:
    try:
        return catalogue().matter(code).name
    except KeyError:
        return code


def department_name(code: str | None) -> str:
    if not code:
        return ""
    try:
        return catalogue().department(code).name
    except KeyError:
        return code


def staff_actor(staff: StaffLike, ip: str | None = None) -> Actor:
    return Actor("staff", staff.id, staff.name, ip)


def task_snapshot(task: DepartmentTask) -> dict[str, Any]:
    return {
        "status": task.status,
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "assignee_id": task.assignee_id,
        "message": task.message,
        "result": task.result,
        "amount": str(task.amount) if task.amount is not None else None,
    }


def app_snapshot(app: Application) -> dict[str, Any]:
    return {"status": app.status, "return_reason": app.return_reason, "channel": app.channel}


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


def _check_version(seen: int | str | None, row: Application | DepartmentTask, session: Session,
                   *, task: bool) -> None:
    try:
        seen_int = int(seen) if seen is not None and str(seen).strip() else None
    except ValueError:
        seen_int = None
    if seen_int is None or seen_int != row.version:
        raise Conflict(conflict_message(session, row, task=task))


def conflict_message(session: Session, row: Application | DepartmentTask, *, task: bool) -> str:
    query = select(Event).order_by(Event.id.desc()).limit(1)
    query = query.where(Event.task_id == row.id) if task else query.where(Event.application_id == row.id)
    last = session.scalar(query)
    who = f"{last.actor_name}" if last is not None and last.actor_name else "其他工作人员"
    state = st.STAFF_LABELS.get(row.status) if task else st.APP_STAFF_LABELS.get(row.status)
    return (f"这条记录刚刚被{who}修改过，您的操作没有保存，以免覆盖别人的办理结果。"
            f"现在的状态是“{state}”。请看过下面的最新内容后再决定。")


def _flush(session: Session, row: Application | DepartmentTask, *, task: bool) -> None:
    """Write now, so a concurrent change is caught here (version_id_col) and reported."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("这条记录刚刚被其他工作人员修改过，您的操作没有保存，以免覆盖别人的办理结果。"
                       "请刷新页面，看过最新内容后再决定。") from None


def _transition(current: str, action: str, *, app: bool = False) -> str:
    try:
        return st.next_app_status(current, action) if app else st.next_task_status(current, action)
    except st.TransitionError as exc:
        raise WorkflowError(str(exc)) from None


def _get_task(session: Session, task_id: int, staff: StaffLike) -> DepartmentTask:
    task = session.get(DepartmentTask, task_id)
    if task is None or not staff.may_work_task(task.department, task.county_code):
        raise NotFound()
    return task


def _get_app_for_clerk(session: Session, application_id: int, staff: StaffLike) -> Application:
    app = session.get(Application, application_id)
    if app is None or app.status == st.APP_DRAFT or not staff.may_accept(app.county_code):
        raise NotFound()
    return app


def _clean_text(raw: Any, *, limit: int = 300, field: str = "reason", label: str = "这段话") -> str:
    """Spaces collapsed; longer than `limit` is refused in words (Invalid), never cut off silently."""
    text = " ".join(str(raw or "").split())
    if len(text) > limit:
        raise Invalid({field: f"{label}最多可以写{limit}个字，现在有{len(text)}个字，请精简一些"})
    return text


# --- the window: 一窗受理 -------------------------------------------------------------------

def accept(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
           *, ip: str | None = None, on: date | None = None) -> Application:
    """Accept a submitted application: its startable tasks begin, with deadlines from today."""
    app = _get_app_for_clerk(session, application_id, staff)
    _check_version(version, app, session, task=False)
    day = on or today()
    promised = plan(app, day)  # the dates the family was shown, counted from the day of acceptance
    before = app_snapshot(app)
    app.status = _transition(app.status, "accept", app=True)
    app.accepted_at = now()
    app.return_reason = None
    started: list[str] = []
    # No autoflush while the prerequisites are read: the changes above must reach the database
    # in `_flush`, where a concurrent acceptance is reported as a Conflict, not mid-loop.
    with session.no_autoflush:
        for task in sorted(app.tasks, key=lambda t: t.id):
            task.deadline = promised[task.matter_code].due
            if task.status == st.WAITING and not unmet_prerequisites(session, task):
                task.status = st.PENDING
                started.append(task.matter_code)
    _flush(session, app, task=False)
    record(session, staff_actor(staff, ip), "staff:application:accept",
           "窗口已受理您的申请，各部门开始办理", application_id=app.id, public=True,
           before=before, after={**app_snapshot(app), "started": started})
    first = min((t.deadline for t in app.tasks if t.status == st.PENDING and t.deadline), default=day)
    sms.queue_sms(session, app, sms.msg_accepted(app.number or str(app.id), st.cn_date(first)))
    return app


def return_application(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
                       reason: str, *, ip: str | None = None) -> Application:
    """Send a submitted application back to the family, saying what to add or change."""
    app = _get_app_for_clerk(session, application_id, staff)
    reason = _clean_text(reason, label="需要家属补充或修改的内容")
    if len(reason) < 2:
        raise Invalid({"reason": "请写明需要家属补充或修改什么，家属会在短信和“我的申请”里看到"})
    _check_version(version, app, session, task=False)
    before = app_snapshot(app)
    app.status = _transition(app.status, "return", app=True)
    app.return_reason = reason
    _flush(session, app, task=False)
    record(session, staff_actor(staff, ip), "staff:application:return",
           f"窗口退回了您的申请，需要补充或修改：{reason}", application_id=app.id, public=True,
           before=before, after=app_snapshot(app))
    sms.queue_sms(session, app, sms.msg_app_returned(app.number or str(app.id), reason))
    return app


CHANNELS = {"online": "网上申请", "walk_in": "窗口代办（家属到场）", "phone": "电话代办"}


def record_channel(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
                   channel: str, *, ip: str | None = None) -> Application:
    """代办: note that the window entered or completed this application for the family."""
    if channel not in CHANNELS:
        raise Invalid({"channel": "请选择办理渠道"})
    app = _get_app_for_clerk(session, application_id, staff)
    _check_version(version, app, session, task=False)
    before = app_snapshot(app)
    app.channel = channel
    app.entered_by_staff_id = staff.id if channel != "online" else app.entered_by_staff_id
    _flush(session, app, task=False)
    record(session, staff_actor(staff, ip), "staff:application:channel",
           f"登记办理渠道：{CHANNELS[channel]}", application_id=app.id, before=before, after=app_snapshot(app))
    return app


# --- department officers: 限时结办 --------------------------------------------------------------

def take_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike,
              *, ip: str | None = None) -> DepartmentTask:
    task = _get_task(session, task_id, staff)
    _check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = _transition(task.status, "take")
    task.assignee_id = staff.id
    task.started_at = now()
    _flush(session, task, task=True)
    record(session, staff_actor(staff, ip), "staff:task:take",
           f"{department_name(task.department)}已开始办理“{matter_name(task.matter_code)}”",
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    return task


def parse_result(session: Session, task: DepartmentTask, fields: Mapping[str, Any]) -> tuple[dict[str, Any], Decimal | None]:
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
            if day > today():
                errors[spec.name] = f"{spec.label}不能晚于今天"
            died = task.application.deceased.death_time.date() if task.application.deceased else None
            if died and day < died:
                errors[spec.name] = f"{spec.label}不能早于逝者去世的日期（{st.cn_date(died)}）"
            values[spec.name] = day
    if errors:
        raise Invalid(errors)
    if task.matter_code == "medical":
        amount = values["settlement_amount"]
        result["settlement_amount"] = str(amount)
        if amount < 0:
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


def complete_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike,
                  fields: Mapping[str, Any], *, ip: str | None = None) -> DepartmentTask:
    """Finish a task with the result its matter needs; startable dependents begin."""
    task = _get_task(session, task_id, staff)
    _check_version(version, task, session, task=True)
    if task.status == st.WAITING or unmet_prerequisites(session, task):
        names = "、".join(matter_name(p.matter_code) for p in unmet_prerequisites(session, task))
        raise WorkflowError(f"这个事项还不能办结：要先等“{names or '申请受理'}”办结（注2、注4）。")
    new_status = _transition(task.status, "complete")
    result, amount = parse_result(session, task, fields)
    message = _clean_text(fields.get("message"), limit=200, field="message", label="给家属的说明") or None
    before = task_snapshot(task)
    task.status = new_status
    task.result = result or None
    task.amount = amount
    task.message = message
    task.assignee_id = task.assignee_id or staff.id
    task.started_at = task.started_at or now()
    task.finished_at = now()
    _flush(session, task, task=True)
    summary = st.result_summary(task.matter_code, task.result, task.amount)
    name = matter_name(task.matter_code)
    record(session, staff_actor(staff, ip), "staff:task:complete",
           f"“{name}”已办结" + (f"：{summary}" if summary else ""),
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    app = task.application
    sms.queue_sms(session, app, sms.msg_task_done(app.number or str(app.id), name, summary))
    _after_finish(session, task, staff_actor(staff, ip))
    return task


def refuse_task(session: Session, task_id: int, version: int | str | None, staff: StaffLike, reason: str,
                *, ip: str | None = None) -> DepartmentTask:
    task = _get_task(session, task_id, staff)
    reason = _clean_text(reason, limit=200, label="不予办理的原因")
    if len(reason) < 2:
        raise Invalid({"reason": "请写明不予办理的原因，家属会看到这段话"})
    _check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = _transition(task.status, "refuse")
    task.message = reason
    task.result = {"refuse_reason": reason}
    task.assignee_id = task.assignee_id or staff.id
    task.finished_at = now()
    _flush(session, task, task=True)
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
    task = _get_task(session, task_id, staff)
    reason = _clean_text(reason, limit=200, label="需要补正的内容")
    errors = {}
    if step not in st.CORRECTION_STEPS:
        errors["step"] = "请选择家属需要修改的部分"
    if len(reason) < 2:
        errors["reason"] = "请写明需要家属补正什么，家属会看到这段话"
    if errors:
        raise Invalid(errors)
    _check_version(version, task, session, task=True)
    before = task_snapshot(task)
    task.status = _transition(task.status, "return")
    task.message = reason
    task.result = {"correction_step": step, "correction_reason": reason}
    task.assignee_id = task.assignee_id or staff.id
    _flush(session, task, task=True)
    name = matter_name(task.matter_code)
    step_label = st.CORRECTION_STEPS[step]
    record(session, staff_actor(staff, ip), "staff:task:return",
           f"“{name}”需要您补正“{step_label}”：{reason}",
           application_id=task.application_id, task_id=task.id, public=True,
           before=before, after=task_snapshot(task))
    app = task.application
    sms.queue_sms(session, app, sms.msg_task_returned(app.number or str(app.id), name, step_label, reason))
    return task


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
    day = today()
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
    app.status = _transition(app.status, "complete", app=True)
    app.completed_at = now()
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
    day = today()
    answered = st.corrected_steps(step) if step is not None else None
    for task in sorted(application.tasks, key=lambda t: t.id):
        if task.status != st.RETURNED:
            continue
        if answered is not None and (task.result or {}).get("correction_step") not in answered:
            continue
        before = task_snapshot(task)
        task.status = _transition(task.status, "resume")
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
        application.status = _transition(application.status, "resubmit", app=True)
        application.return_reason = None
        record(session, actor, "citizen:application:resubmit", "您已修改并重新提交申请，等待窗口受理",
               application_id=application.id, public=True, before=before, after=app_snapshot(application))
    return resumed


# --- personal numbers: masked by default, revealed with a reason ------------------------------

# Which numbers there are lives in one place (portal.services.pii); who may open which in
# auth.permissions (Staff.may_reveal). Every opening, on screen or on paper, is logged with its reason.
REVEALABLE = {key: field.label for key, field in pii.FIELDS.items()}


def _reason(raw: str, *, message: str, field_name: str = "reason") -> str:
    reason = _clean_text(raw, limit=200)
    if len(reason) < 2:
        raise Invalid({field_name: message})
    return reason


def viewable_application(session: Session, application_id: int, staff: StaffLike) -> Application:
    """A submitted application this staff member may see, else NotFound (never which of the two)."""
    app = session.get(Application, application_id)
    if app is None or app.status == st.APP_DRAFT or not app.number or not may_view(session, app, staff):
        raise NotFound()
    return app


def reveal(session: Session, application_id: int, staff: StaffLike, field_name: str, reason: str,
           vault: Vault, *, ip: str | None = None) -> str:
    """Open one personal number for this staff member; the reveal is logged with its reason."""
    app = viewable_application(session, application_id, staff)
    if field_name not in REVEALABLE:
        raise Invalid({"field": "请选择要显示的内容"})
    if not may_reveal(app, staff, field_name):
        raise NotFound()  # this department has no need for this number (auth.permissions.OFFICER_REVEAL_*)
    reason = _clean_text(reason, limit=200, label="查看原因")
    if len(reason) < 2:
        raise Invalid({"reason": "请写明查看的原因（例如：核对银行账号）"})
    value = pii.opened(app, vault, field_name)
    record(session, staff_actor(staff, ip), "staff:pii:reveal",
           f"查看了{REVEALABLE[field_name]}，原因：{reason}", application_id=app.id,
           after={"field": field_name, "reason": reason})
    return value


@dataclass
class ArchiveCopy:
    """The prepared archive copy: the caller commits, then renders `job` (receipts.render_pdf)."""

    job: PdfJob
    number: str


def print_archive(session: Session, application_id: int, staff: StaffLike, reason: str, vault: Vault,
                  settings: Any, *, ip: str | None = None) -> ArchiveCopy:
    """The 乡镇（街道）存档联 for this staff member: the numbers they may reveal in full, the rest
    masked, and logged like a reveal (reason and the numbers printed in full)."""
    from portal.services import receipts  # PDF rendering is only needed here

    app = viewable_application(session, application_id, staff)
    reason = _reason(reason, field_name="archive_reason",
                     message="请写明打印的原因（例如：乡镇存档、家属要求纸质件），每次打印都会记录")
    full = [f.key for f in pii.present(app) if f.key in receipts.PRINTED and may_reveal(app, staff, f.key)]
    job = receipts.prepare_pdf(session, vault, app, settings, copy="archive", full=full)
    labels = "、".join(REVEALABLE[k] for k in full) or "无（号码均部分隐藏）"
    record(session, staff_actor(staff, ip), "staff:receipt:print",
           f"打印登记表存档联（编号 {app.number}），原因：{reason}；完整号码：{labels}",
           application_id=app.id, after={"version": app.version, "reason": reason, "fields": full})
    return ArchiveCopy(job, app.number or "")


def may_view(session: Session, app: Application, staff: StaffLike) -> bool:
    departments = {t.department for t in app.tasks}
    return staff.may_view_application(app.county_code, departments)


def may_reveal(app: Application, staff: StaffLike, field_name: str) -> bool:
    """May this staff member open this personal number of this application (decided in auth.permissions)."""
    departments = {t.department for t in app.tasks}
    return staff.may_reveal(field_name, app.county_code, departments)


def revealable(app: Application, staff: StaffLike) -> list[str]:
    """The REVEALABLE fields this staff member may open on this application (for the form)."""
    return [name for name in REVEALABLE if may_reveal(app, staff, name)]


# --- administration: staff accounts -----------------------------------------------------------

ROLES = {"window_clerk": "乡镇（街道）窗口人员", "officer": "部门经办人", "admin": "管理员"}


@dataclass
class StaffForm:
    issuer: str = ""  # the provider the person logs in at: the portal's configured issuer
    sub: str = ""
    name: str = ""
    role: str = ""
    department: str = ""
    county_code: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def create_staff(session: Session, form: StaffForm, admin: StaffLike, *, ip: str | None = None) -> StaffMember:
    if not form.issuer:
        raise ValueError("a staff membership needs the issuer it is for")
    errors: dict[str, str] = {}
    sub = form.sub.strip()
    name = _clean_text(form.name, limit=60, field="name", label="姓名")
    if not sub or len(sub) > 128 or any(ch.isspace() for ch in sub):
        errors["sub"] = "请填写政务服务网的用户标识（sub），不含空格"
    elif session.scalar(select(StaffMember.id).where(StaffMember.issuer == form.issuer,
                                                     StaffMember.sub == sub)) is not None:
        errors["sub"] = "这个用户标识已经开通过工作人员权限"
    if not name:
        errors["name"] = "请填写姓名"
    if form.role not in ROLES:
        errors["role"] = "请选择角色"
    department = form.department or None
    if form.role == "officer":
        if department not in {d.code for d in catalogue().departments}:
            errors["department"] = "部门经办人需要选择所属部门"
    else:
        department = None
    county = form.county_code or None
    if county is not None and county not in {c.code for c in catalogue().counties}:
        errors["county_code"] = "请选择县（市、区）"
    if form.role in ("window_clerk", "officer") and county is None:
        errors["county_code"] = "窗口人员和部门经办人需要选择所在县（市、区）"
    if errors:
        raise Invalid(errors)
    member = StaffMember(issuer=form.issuer, sub=sub, name=name, role=form.role, department=department,
                         county_code=county, active=True)
    session.add(member)
    session.flush()
    record(session, staff_actor(admin, ip), "staff:account:create", f"开通工作人员 {name}（{ROLES[form.role]}）",
           after={"staff_id": member.id, "issuer": form.issuer, "sub": sub, "role": form.role,
                  "department": department, "county": county})
    return member


def set_staff_active(session: Session, member_id: int, version: int | str | None, active: bool, admin: StaffLike,
                     *, ip: str | None = None) -> StaffMember:
    member = session.get(StaffMember, member_id)
    if member is None:
        raise NotFound()
    if member.id == admin.id and not active:
        raise WorkflowError("不能停用自己的账号，请让另一位管理员操作。")
    try:
        seen = int(str(version))
    except ValueError:
        seen = -1
    if seen != member.version:
        raise Conflict("这个账号刚刚被其他管理员修改过，您的操作没有保存。请看过最新状态后再操作。")
    before = {"active": member.active}
    member.active = active
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("这个账号刚刚被其他管理员修改过，您的操作没有保存。") from None
    if not active:  # signed out at once, not only refused at their next staff page
        staff_accounts.end_sessions(session, member.issuer, member.sub)
    record(session, staff_actor(admin, ip), "staff:account:" + ("activate" if active else "deactivate"),
           f"{'启用' if active else '停用'}工作人员 {member.name}", before=before, after={"active": active,
                                                                                      "staff_id": member.id})
    return member


def open_tasks(tasks: Iterable[DepartmentTask]) -> list[DepartmentTask]:
    return [t for t in tasks if t.status in st.OPEN]


def applicant_party(app: Application) -> Party | None:
    return next((p for p in app.parties if p.role == "applicant"), None)
