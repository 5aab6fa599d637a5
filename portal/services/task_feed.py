"""The task change feed: every committed change of a department task takes the next number of
one sequence, in commit order, so a department system can page through "what changed since"
without gaps or duplicates (GET /api/v1/tasks?cursor=…); and every change queues the webhook
deliveries that want it.

Why not `updated_at`: two transactions can commit in the other order than their clocks (and
server clocks differ), so a reader that saw the later one first would skip the earlier one for
ever. Why not a database sequence: numbers are handed out when asked, not at commit, with the same
problem. Here the numbers are taken just before the commit (`before_commit`), from the
`change_counter` row, by an atomic upsert whose row lock is held until the transaction ends: a
second writer gets its numbers only after the first committed, so numbers become visible in
increasing order and a reader that has seen number N never later finds a new one below N.
(SQLite serialises writers anyway.) Taking the counter last, when the transaction holds every
other lock it will need, keeps the queue on that row short and free of lock-order deadlocks.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.models import ApiClient, ChangeCounter, DepartmentTask, WebhookSubscription
from portal.services import jobs

COUNTER = "task"
DELIVER_KIND = "webhook.deliver"  # the handler is portal/services/webhooks.py
_UNNUMBERED = "task_feed.unnumbered"  # session.info: tasks changed in this transaction, by id
_UNSENT = "task_feed.unsent"  # session.info: tasks changed in the last flush, for the webhooks


def next_numbers(session: Session, count: int) -> range:
    """`count` new feed numbers; the counter row stays locked until the transaction ends."""
    conn = session.connection()
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(ChangeCounter)
    stmt = (insert.values(name=COUNTER, value=count)
            .on_conflict_do_update(index_elements=[ChangeCounter.name], set_={"value": ChangeCounter.value + count})
            .returning(ChangeCounter.value))
    top = int(conn.execute(stmt).scalar_one())
    return range(top - count + 1, top + 1)


@sa_event.listens_for(Session, "after_flush")
def _note_task_changes(session: Session, _ctx: Any) -> None:
    """Remember what this flush changed (the ids are known now, also for new tasks)."""
    changed = [obj for obj in session.new if isinstance(obj, DepartmentTask)]
    changed += [obj for obj in session.dirty if isinstance(obj, DepartmentTask) and session.is_modified(obj)]
    if changed:
        session.info.setdefault(_UNNUMBERED, {}).update({t.id: t for t in changed})
        session.info.setdefault(_UNSENT, {}).update({t.id: (t.department, t.county_code, t.application_id) for t in changed})


@sa_event.listens_for(Session, "before_commit")
def _number_task_changes(session: Session) -> None:
    """Number this transaction's task changes, last thing before the commit (see the module's note)."""
    session.flush()  # what is still pending: its tasks are noted too
    changed: dict[int, DepartmentTask] | None = session.info.pop(_UNNUMBERED, None)
    if not changed:
        return
    conn = session.connection()
    for (task_id, task), number in zip(sorted(changed.items()), next_numbers(session, len(changed)), strict=True):
        # a plain UPDATE: the feed position is no change of the task (its version stays)
        conn.execute(update(DepartmentTask).where(DepartmentTask.id == task_id).values(change_seq=number))
        set_committed_value(task, "change_seq", number)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_UNNUMBERED, None)
        session.info.pop(_UNSENT, None)


@sa_event.listens_for(Session, "after_flush_postexec")
def _queue_deliveries(session: Session, _ctx: Any) -> None:
    """One delivery job per (subscription, task), in the same transaction as the change: a change
    that commits is delivered (at least once), one that rolls back never is."""
    pending: dict[int, tuple[str, str, int]] | None = session.info.pop(_UNSENT, None)
    if not pending:
        return
    departments = {department for department, _, _ in pending.values()}
    with session.no_autoflush:
        subscribers = session.execute(
            select(WebhookSubscription.id, ApiClient.department, ApiClient.county_code)
            .join(ApiClient, ApiClient.id == WebhookSubscription.client_id)
            .where(WebhookSubscription.active.is_(True), ApiClient.active.is_(True), ApiClient.department.in_(departments))
        ).all()
    for task_id, (department, county, application_id) in sorted(pending.items()):
        for sub_id, wanted, wanted_county in subscribers:
            if wanted == department and wanted_county in (None, county):  # application_id: /admin/jobs links the case
                jobs.enqueue(session, DELIVER_KIND, {"subscription_id": sub_id, "task_id": task_id,
                                                     "application_id": application_id})
