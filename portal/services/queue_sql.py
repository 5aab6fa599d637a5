"""The officer queue's statements, built once per shape and run with bound values.

Building a SQLAlchemy statement (coercing every column and operator) cost more than running it:
about a third of the queue's time in process (profile in docs/decisions.md). Each shape (the
filter, overdue only, with or without a county) is built once, from table columns so that the
ORM layer is skipped too, and run with the department, county, date and page bound.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Executable, Select, and_, bindparam, case, exists, func, literal, select, union_all

from portal.domain import status as st
from portal.models import Application, Deceased, DepartmentTask

T = DepartmentTask.__table__.c
A = Application.__table__.c
D = Deceased.__table__.c

# Counted on every view of the officer queue (the rest only on the view that lists them).
OPEN_COUNTED = (st.PENDING, st.IN_PROGRESS, st.RETURNED)

# The rows of one page, by task id (expanding IN).
ROWS = (select(T.id, T.application_id, T.matter_code, T.status, T.deadline, A.number, D.name)
        .join_from(DepartmentTask.__table__, Application.__table__, A.id == T.application_id)
        .outerjoin(Deceased.__table__, D.application_id == A.id)
        .where(T.id.in_(bindparam("ids", expanding=True))))


@dataclass(frozen=True)
class Shape:
    """The statements of one queue view; run with dept, county, on, offset, limit, n bound."""
    page: Executable       # (sort key..., id) of a page: one part per status, merged in Python
    merged: bool           # page rows are (deadline, id) per status to merge; else ids in order
    counts: Executable     # (status, overdue 0/1, count) per counted status
    waiting: Select[Any] | None  # waiting tasks of accepted applications (only when listed)
    total: Select[Any] | None    # only for "overdue only": the filtered count


def _scope(county: bool) -> list[Any]:
    where = [T.department == bindparam("dept")]
    return where + [T.county_code == bindparam("county")] if county else where


def _overdue() -> Any:
    return and_(T.deadline < bindparam("on", type_=Date), T.status.in_(sorted(st.CLOCK_RUNNING)))


def _accepted() -> Any:
    return exists().where(A.id == T.application_id, A.status.in_((st.APP_ACCEPTED, st.APP_COMPLETED)))


@functools.cache
def shape(statuses: tuple[str, ...], every: bool, overdue_only: bool, county: bool) -> Shape:
    """The statements for listing `statuses` (`every`: the "all" view, overdue first)."""
    scope, overdue = _scope(county), _overdue()
    where = [*scope, T.status.in_(statuses)]
    if st.WAITING in statuses:
        where.append((T.status != st.WAITING) | _accepted())
    if overdue_only:
        where.append(overdue)
    if every:
        page: Executable = (select(T.id).where(*where)
                             .order_by(case((overdue, 0), else_=1), T.deadline.is_(None), T.deadline, T.id)
                             .offset(bindparam("offset")).limit(bindparam("limit")))
    else:
        # Overdue-first is earliest deadline first here. One part per status reads the index in
        # (deadline, id) order and stops after offset + limit rows; merged in Python.
        parts = []
        for one in statuses:
            part = select(T.deadline, T.id).where(*scope, T.status == one)
            if one == st.WAITING:
                part = part.where(_accepted())
            if overdue_only:
                part = part.where(overdue)
            parts.append(part.order_by(T.deadline, T.id).limit(bindparam("n")))
        page = parts[0] if len(parts) == 1 else union_all(*(p.subquery().select() for p in parts))
    # One count per status (and per status whose clock runs, of those past their deadline): each
    # an index range SQLite and PostgreSQL count without looking at the rows; half the cost of
    # a GROUP BY with the overdue test in a CASE (docs/decisions.md D24).
    counted = sorted(set(OPEN_COUNTED) | (set(statuses) - {st.WAITING}))
    counts = union_all(*(
        select(literal(one), literal(late), func.count()).where(*scope, T.status == one,
                                                                *([T.deadline < bindparam("on", type_=Date)] if late else []))
        for one in counted for late in (0, 1) if not late or one in st.CLOCK_RUNNING))
    waiting = (select(func.count()).select_from(DepartmentTask.__table__)
               .where(*scope, T.status == st.WAITING, _accepted())) if st.WAITING in statuses else None
    total = select(func.count()).select_from(select(T.id).where(*where).subquery()) if overdue_only else None
    return Shape(page, not every, counts, waiting, total)
