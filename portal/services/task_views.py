"""Tasks as department systems see them: pages of the change feed (numbered by
portal/services/task_feed.py) and one task's view, shared by the API and the webhooks."""
from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.domain import clock
from portal.domain import status as st
from portal.models import Application, ChangeCounter, DepartmentTask
from portal.services.casework import matter_name
from portal.services.progress import waiting_on
from portal.services.task_feed import COUNTER


class TaskScope(Protocol):
    """Whose tasks: a department, in one county or (None) the whole city (a ClientScope fits)."""

    @property
    def department(self) -> str: ...
    @property
    def county_code(self) -> str | None: ...


# --- reading the feed ---------------------------------------------------------------------------

def changes(session: Session, scope: TaskScope, after: int, limit: int) -> list[DepartmentTask]:
    """The scope's tasks whose last change is numbered above `after`, in feed order (at most `limit`).

    A task changed twice since `after` appears once, at its latest number: a client that keeps
    the cursor of its last page sees every task's latest state, never one twice in a row.
    """
    query = (select(DepartmentTask)
             .where(DepartmentTask.department == scope.department, DepartmentTask.change_seq > after)
             .options(joinedload(DepartmentTask.application).joinedload(Application.deceased))
             .order_by(DepartmentTask.change_seq).limit(limit))
    if scope.county_code:
        query = query.where(DepartmentTask.county_code == scope.county_code)
    return list(session.scalars(query).unique())


def view(task: DepartmentTask, waiting_for: list[str]) -> dict[str, Any]:
    """A task as department systems see it (the API's TaskOut and the webhooks' data): no personal
    number, only what the department's officer sees in its queue."""
    app = task.application
    return {
        "id": task.id, "version": task.version, "application_number": app.number,
        "deceased_name": app.deceased.name if app.deceased else None, "matter": task.matter_code,
        "matter_name": matter_name(task.matter_code), "department": task.department, "county_code": task.county_code,
        "status": task.status, "status_label": st.STAFF_LABELS.get(task.status, task.status),
        "deadline": task.deadline, "waiting_for": waiting_for, "result": task.result,
        "amount": None if task.amount is None else str(task.amount), "message": task.message,
        "started_at": clock.as_china(task.started_at) if task.started_at else None,
        "finished_at": clock.as_china(task.finished_at) if task.finished_at else None,
        "changed_at": clock.as_china(task.updated_at), "change_seq": task.change_seq or 0,
    }


def views(session: Session, found: list[DepartmentTask]) -> list[dict[str, Any]]:
    waiting = waiting_on(session, [t.id for t in found if t.status == st.WAITING])
    return [view(t, waiting.get(t.id, [])) for t in found]


def latest_number(session: Session) -> int:
    return int(session.scalar(select(ChangeCounter.value).where(ChangeCounter.name == COUNTER)) or 0)
