"""Downloads of the back office's tables as CSV and XLSX: queues, the statistics and the 月对账.

A table is built once (`Table`) and written in either format, so the two files always hold the
same rows. Personal numbers (the deceased's 身份证号) are masked; a staff member who gives a
reason gets them in full for the applications they may reveal (auth.permissions decides), and
every application opened that way gets its own event in the audit log, as an on-screen reveal.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import reconciliation as rules
from portal.models import Application
from portal.services import disclosure, pii, queues, reconciliation
from portal.services import statistics as stats_service
from portal.services.casework import StaffLike, catalogue, required_reason, staff_actor
from portal.services.events import record

FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
EXPORT_LIMIT = 5000  # rows per queue file: a county's queue, never the whole database at once
REVEAL_FIELD = "deceased_id"


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _cell(value: Any) -> Any:
    """One value as both formats write it: whole floats as integers, others to two places, None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 2)
    return value


def csv_bytes(tables: Sequence[Table]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads the Chinese); several tables one after another."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(tables):
        if len(tables) > 1:
            if i:
                writer.writerow([])
            writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows([[_cell(v) for v in row] for row in table.rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """One worksheet per table (openpyxl, write-only: constant memory for long queues)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    used: set[str] = set()
    for table in tables:
        title = "".join(c for c in table.title if c not in "[]:*?/\\")[:28] or "Sheet"
        while title in used:
            title += "_"
        used.add(title)
        sheet = book.create_sheet(title)
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def file_bytes(tables: Sequence[Table], fmt: str) -> bytes:
    return xlsx_bytes(tables) if fmt == "xlsx" else csv_bytes(tables)


# --- personal numbers in a download --------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """What is exported and how: `params` are the page's filters; `reason` asks for full numbers."""

    what: str
    params: dict[str, str]
    reason: str | None = None
    ip: str | None = None
    overdue_after: int = 5  # RECONCILE_OVERDUE_WORKDAYS


def deceased_ids(session: Session, vault: Vault, staff: StaffLike | None, app_ids: Sequence[int],
                 reason: str | None, *, ip: str | None = None, context: str = "导出") -> dict[int, str]:
    """Each application's deceased 身份证号, masked; in full where a reason is given and allowed (logged).
    Without a staff member (the command line) every number stays masked."""
    if reason is not None:
        reason = required_reason(reason, field="reason",
                                 message="请写明导出完整身份证号的原因（例如：与公安户籍系统核对），每次导出都会记录")
    out: dict[int, str] = {}
    apps = session.scalars(select(Application).where(Application.id.in_(list(app_ids)))).all() if app_ids else []
    for app in apps:
        value = pii.opened(app, vault, REVEAL_FIELD)
        if reason is not None and staff is not None and disclosure.may_reveal(app, staff, REVEAL_FIELD):
            out[app.id] = value
            record(session, staff_actor(staff, ip), "staff:pii:export",
                   f"{context}时查看了{disclosure.REVEALABLE[REVEAL_FIELD]}，原因：{reason}", application_id=app.id,
                   after={"field": REVEAL_FIELD, "reason": reason, "context": context})
        else:
            out[app.id] = pii.mask(pii.Kind.ID_CARD, value)
    return out


# --- the tables ----------------------------------------------------------------------------------

def queue_tables(session: Session, vault: Vault, staff: StaffLike, role: str, req: Request) -> list[Table]:
    """An officer's task queue, or the window's list for clerks and administrators."""
    status = req.params.get("status", "")
    if role == "officer":
        page = queues.officer_queue(session, staff, status=status or "todo", limit=EXPORT_LIMIT)
        ids = deceased_ids(session, vault, staff, [r.application_id for r in page.rows], req.reason, ip=req.ip)
        label = queues.TASK_FILTERS.get(status or "todo", queues.TASK_FILTERS["todo"])[0]
        return [Table(f"部门待办 {label}", ["编号", "逝者", "逝者身份证号", "事项", "状态", "办结期限", "超期天数"],
                      [[r.number, r.deceased, ids.get(r.application_id, ""), r.matter, r.label.text,
                        r.deadline.isoformat() if r.deadline else "", r.days_overdue] for r in page.rows])]
    rows, _ = queues.window_queue(session, staff, status=status or "submitted", limit=EXPORT_LIMIT)
    ids = deceased_ids(session, vault, staff, [r.application_id for r in rows], req.reason, ip=req.ip)
    label = queues.WINDOW_FILTERS.get(status or "submitted", queues.WINDOW_FILTERS["submitted"])[0]
    return [Table(f"窗口受理 {label}", ["编号", "逝者", "逝者身份证号", "申请人", "提交时间", "渠道", "状态", "事项数"],
                  [[r.number, r.deceased, ids.get(r.application_id, ""), r.applicant, r.submitted_at, r.channel,
                    r.status_label, r.matters] for r in rows])]


def statistics_tables(figures: stats_service.Statistics) -> list[Table]:
    """The statistics page's tables, as printed under its charts (no personal data in them)."""
    s = figures
    return [
        Table("每周申请数", ["周（周一）", *[label for _, label in s.channels], "合计"],
              [[w.week.isoformat(), *[w.counts.get(c, 0) for c, _ in s.channels], w.total] for w in s.weeks]),
        Table("办结用时", ["事项", "部门", "承诺时限（工作日）", "办结件数", "中位数（工作日）", "90%分位（工作日）", "超期办结"],
              [[t.matter_name, t.department_name, t.limit_days, t.finished, t.median_days, t.p90_days, t.late]
               for t in s.timings]),
        Table("死亡证明核验", ["件数", "中位数（小时）", "90%分位（小时）", "3小时内办结"],
              [[s.certificate.cases, s.certificate.median_hours, s.certificate.p90_hours, s.certificate.within_headline]]),
        Table("当前超期", ["部门", *[name for _, name in s.overdue_counties], "合计"],
              [[o.department_name, *[o.by_county.get(c, 0) for c, _ in s.overdue_counties], o.total] for o in s.overdue]),
        Table("零跑腿", ["办结件数", "非窗口代办（家属到场）件数"], [[s.completed, s.zero_trips]]),
        Table("退回补正", ["事项", "退回次数", *_steps().values()],
              [[c.matter_name, c.returns, *[c.steps.get(k, 0) for k in _steps()]] for c in s.corrections]),
    ]


def _steps() -> dict[str, str]:
    from portal.domain.status import CORRECTION_STEPS

    return {**CORRECTION_STEPS, "other": "其他"}


def _statistics(session: Session, vault: Vault, staff: StaffLike, role: str, req: Request) -> list[Table]:
    scope = stats_service.scope_for(staff, role, req.params)
    return statistics_tables(stats_service.statistics(session, scope))


def reconciliation_tables(view: reconciliation.MonthView, ids: dict[int, str]) -> list[Table]:
    """The 月对账 as one table: exceptions first, every department's state and date; a zero report
    when the county had no death that month."""
    state = {"closed": "已结账（冻结）", "open": "未结账"}[view.status]
    columns = ["县（市、区）", "编号", "逝者", "逝者身份证号", "去世日期", "得知日期",
               *[c.label for c in rules.COLUMNS], "异常"]
    table = Table(f"月对账 {view.county_label} {view.month}", columns)
    counties = {c.code: c.name for c in catalogue().counties}
    for r in view.rows:
        cells = [f"{r.cells[c.code]['text']}{' ' + r.cells[c.code]['on'] if r.cells[c.code].get('on') else ''}"
                 for c in rules.COLUMNS]
        table.rows.append([counties.get(r.county, r.county), r.number, r.person,
                           ids.get(r.application_id, "") if r.application_id else "",
                           r.death_date.isoformat() if r.death_date else "", r.known_on.isoformat() if r.known_on else "",
                           *cells, "；".join(f"{rules.EXCEPTION_WORDS[k]}：{w}" for k, w in r.exceptions)])
    if view.zero_report:
        table.rows.append([view.county_label, "", f"零报告：{view.month} 无死亡记录（{state}）", *[""] * (len(columns) - 3)])
    for a in view.amendments:
        table.rows.append(["", "", a.person, "", "", "", *[""] * len(rules.COLUMNS), f"结账后更正：{a.words}"])
    return [table]


def _reconciliation(session: Session, vault: Vault, staff: StaffLike, role: str, req: Request) -> list[Table]:
    county = staff.county_code or req.params.get("county") or None
    month_view = reconciliation.view(session, vault, req.params.get("month") or reconciliation.previous_month(),
                                     county, overdue_after=req.overdue_after)
    ids = deceased_ids(session, vault, staff, [r.application_id for r in month_view.rows if r.application_id],
                       req.reason, ip=req.ip, context="导出月对账")
    return reconciliation_tables(month_view, ids)


Builder = Callable[[Session, Vault, StaffLike, str, Request], list[Table]]


@dataclass(frozen=True)
class Exporter:
    label: str
    build: Builder
    personal: bool  # holds personal numbers: masked unless a reason is given
    roles: frozenset[str]
    params: tuple[str, ...]  # the filters it reads from the URL


#: what may be exported. The 月对账 adds itself here (portal.services.reconciliation).
EXPORTERS: dict[str, Exporter] = {
    "queue": Exporter("待办列表", queue_tables, True, frozenset({"officer", "window_clerk", "admin"}), ("status",)),
    "stats": Exporter("统计", _statistics, False, frozenset({"officer", "admin"}), ("county", "from", "to")),
    "reconcile": Exporter("月对账", _reconciliation, True, frozenset({"officer", "admin"}), ("month", "county")),
}


class NotAllowed(Exception):
    """This export does not exist for this role."""


def exporter_for(what: str, role: str) -> Exporter:
    found = EXPORTERS.get(what)
    if found is None or role not in found.roles:
        raise NotAllowed(what)
    return found


def export(session: Session, vault: Vault, staff: StaffLike, role: str, req: Request) -> list[Table]:
    """The tables of one export (NotAllowed for an unknown `what` or a role it is not for)."""
    return exporter_for(req.what, role).build(session, vault, staff, role, req)
