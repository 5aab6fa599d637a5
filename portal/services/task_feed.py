"""The task change feed: every write of a department task takes the next number of one sequence,
in commit order, so a department system can page through "what changed since" without gaps or
duplicates (GET /api/v1/tasks?cursor=…).

Why not `updated_at`: two transactions can commit in the other order than their clocks (and
server clocks differ), so a reader that saw the later one first would skip the earlier one for
ever. Why not a database sequence: numbers are handed out at insert, not at commit, with the same
problem. Here the number comes from the `change_counter` row, bumped by an atomic upsert whose row
lock is held until the writing transaction ends: a second writer waits for the first to commit
before it gets its number, so numbers become visible in increasing order and a reader that has
seen number N will never later find a new row below N. (SQLite serialises writers anyway.) The
cost is that task writes queue one behind the other on that row: task changes are a few per case,
far below what one row lock allows.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.models import ApiClient, ChangeCounter, DepartmentTask, WebhookSubscription
from portal.services import jobs

COUNTER = "task"


def next_numbers(session: Session, count: int) -> range:
    """`count` new feed numbers; the counter row stays locked until the transaction ends."""
    conn = session.connection()
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(ChangeCounter)
    stmt = (insert.values(name=COUNTER, value=count)
            .on_conflict_do_update(index_elements=[ChangeCounter.name], set_={"value": ChangeCounter.value + count})
            .returning(ChangeCounter.value))
    top = int(conn.execute(stmt).scalar_one())
    return range(top - count + 1, top + 1)


@sa_event.listens_for(Session, "before_flush")
def _number_task_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    changed = [obj for obj in session.new if isinstance(obj, DepartmentTask)]
    changed += [obj for obj in session.dirty if isinstance(obj, DepartmentTask) and session.is_modified(obj)]
    if not changed:
        return
    for task, number in zip(sorted(changed, key=lambda t: t.id or 0), next_numbers(session, len(changed)), strict=True):
        task.change_seq = number


# --- webhooks: a delivery job for every subscriber of a changed task ----------------------------------

DELIVER_KIND = "webhook.deliver"  # the handler is portal/services/webhooks.py
_PENDING = "task_feed.changed"


@sa_event.listens_for(Session, "after_flush")
def _note_task_changes(session: Session, _ctx: Any) -> None:
    """Remember what this flush changed (the task ids are known now, also for new tasks)."""
    changed = [obj for obj in session.new if isinstance(obj, DepartmentTask)]
    changed += [obj for obj in session.dirty if isinstance(obj, DepartmentTask) and session.is_modified(obj)]
    if changed:
        session.info.setdefault(_PENDING, {}).update({t.id: (t.department, t.county_code) for t in changed})


@sa_event.listens_for(Session, "after_flush_postexec")
def _queue_deliveries(session: Session, _ctx: Any) -> None:
    """One delivery job per (subscription, task), in the same transaction as the change: a change
    that commits is delivered (at least once), one that rolls back never is."""
    pending: dict[int, tuple[str, str]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    departments = {department for department, _ in pending.values()}
    with session.no_autoflush:
        subscribers = session.execute(
            select(WebhookSubscription.id, ApiClient.department, ApiClient.county_code)
            .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
            .where(WebhookSubscription.active.is_(True), ApiClient.active.is_(True), ApiClient.department.in_(departments))
        ).all()
    for task_id, (department, county) in sorted(pending.items()):
        for sub_id, wanted, wanted_county in subscribers:
            if wanted == department and wanted_county in (None, county):
                jobs.enqueue(session, DELIVER_KIND, {"subscription_id": sub_id, "task_id": task_id})
