"""What every back-office change shares: who acts, which version they saw, which transition,
and the before/after snapshots written to the event log.

The use cases live beside it, one module each: the window (portal.services.window), the
departments' tasks (tasks), personal numbers and the archive copy (disclosure), staff accounts
(staff). Each works inside the caller's transaction (`portal.db.transaction`).
"""
from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.domain import status as st
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.models import Application, DepartmentTask, Event
from portal.services.errors import Conflict, Invalid, WorkflowError
from portal.services.events import Actor


class StaffLike(Protocol):
    """What the use cases need of a staff member (auth.permissions.Staff, a frozen dataclass, fits)."""

    @property
    def id(self) -> int | None: ...  # None: a department system (portal.domain.api_scope.ClientScope)
    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str | None: ...
    @property
    def county_code(self) -> str | None: ...

    def may_work_task(self, department: str, county_code: str) -> bool: ...
    def may_accept(self, county_code: str | None) -> bool: ...
    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool: ...
    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool: ...


# --- names from the catalogue (a code no longer in it is shown as itself) ----------------------

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


def county_name(code: str | None) -> str:
    if not code:
        return ""
    try:
        return catalogue().county(code).name
    except KeyError:
        return code


# --- the event log's view of a change -----------------------------------------------------------

def staff_actor(staff: StaffLike, ip: str | None = None) -> Actor:
    """The event log's actor: the staff member, or the department system acting through the API."""
    kind = getattr(staff, "actor_kind", "staff")
    actor_id = getattr(staff, "record_id", None) if kind != "staff" else staff.id
    return Actor(kind, actor_id, staff.name, ip)


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


# --- optimistic locking: the version the staff member saw ----------------------------------------

def check_version(seen: int | str | None, row: Application | DepartmentTask, session: Session, *, task: bool) -> None:
    """Conflict (with who changed it and the state now) unless `seen` is the row's version."""
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


def flush(session: Session) -> None:
    """Write now, so a concurrent change is caught here (version_id_col) and reported."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("这条记录刚刚被其他工作人员修改过，您的操作没有保存，以免覆盖别人的办理结果。"
                       "请刷新页面，看过最新内容后再决定。") from None


def transition(current: str, action: str, *, app: bool = False) -> str:
    """The next status by portal.domain.status (the one place transitions are defined)."""
    try:
        return st.next_app_status(current, action) if app else st.next_task_status(current, action)
    except st.TransitionError as exc:
        raise WorkflowError(str(exc)) from None


# --- words typed by staff -------------------------------------------------------------------------

def clean_text(raw: Any, *, limit: int = 300, field: str = "reason", label: str = "这段话") -> str:
    """Spaces collapsed; longer than `limit` is refused in words (Invalid), never cut off silently."""
    text = " ".join(str(raw or "").split())
    if len(text) > limit:
        raise Invalid({field: f"{label}最多可以写{limit}个字，现在有{len(text)}个字，请精简一些"})
    return text


def required_reason(raw: Any, *, message: str, limit: int = 200, field: str = "reason",
                    label: str = "这段话") -> str:
    """A reason the family or the log will read: at least two characters, at most `limit`."""
    reason = clean_text(raw, limit=limit, field=field, label=label)
    if len(reason) < 2:
        raise Invalid({field: message})
    return reason
