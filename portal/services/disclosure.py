"""Personal numbers in the back office: masked by default, opened with a reason, and the archive
copy (乡镇（街道）存档联) printed with the numbers this staff member may see in full.

Which numbers there are lives in one place (portal.services.pii); who may open which in
auth.permissions (Staff.may_reveal). Every opening, on screen or on paper, is logged with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import status as st
from portal.models import Application
from portal.services import pii, receipts
from portal.services.casework import StaffLike, clean_text, required_reason, staff_actor
from portal.services.errors import Invalid, NotFound
from portal.services.events import record
from portal.services.receipt_view import PRINTED

REVEALABLE = {key: field.label for key, field in pii.FIELDS.items()}


def may_view(app: Application, staff: StaffLike) -> bool:
    departments = {t.department for t in app.tasks}
    return staff.may_view_application(app.county_code, departments)


def may_reveal(app: Application, staff: StaffLike, field_name: str) -> bool:
    """May this staff member open this personal number of this application (decided in auth.permissions)."""
    departments = {t.department for t in app.tasks}
    return staff.may_reveal(field_name, app.county_code, departments)


def revealable(app: Application, staff: StaffLike) -> list[str]:
    """The REVEALABLE fields this staff member may open on this application (for the form)."""
    return [name for name in REVEALABLE if may_reveal(app, staff, name)]


def viewable_application(session: Session, application_id: int, staff: StaffLike) -> Application:
    """A submitted application this staff member may see, else NotFound (never which of the two)."""
    app = session.get(Application, application_id)
    if app is None or app.status == st.APP_DRAFT or not app.number or not may_view(app, staff):
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
    reason = clean_text(reason, limit=200, label="查看原因")
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

    job: receipts.PdfJob
    number: str


def print_archive(session: Session, application_id: int, staff: StaffLike, reason: str, vault: Vault,
                  settings: Any, *, ip: str | None = None) -> ArchiveCopy:
    """The 乡镇（街道）存档联 for this staff member: the numbers they may reveal in full, the rest
    masked, and logged like a reveal (reason and the numbers printed in full)."""
    app = viewable_application(session, application_id, staff)
    reason = required_reason(reason, field="archive_reason",
                             message="请写明打印的原因（例如：乡镇存档、家属要求纸质件），每次打印都会记录")
    full = [f.key for f in pii.present(app) if f.key in PRINTED and may_reveal(app, staff, f.key)]
    job = receipts.prepare_pdf(session, vault, app, settings, copy="archive", full=full)
    labels = "、".join(REVEALABLE[k] for k in full) or "无（号码均部分隐藏）"
    record(session, staff_actor(staff, ip), "staff:receipt:print",
           f"打印登记表存档联（编号 {app.number}），原因：{reason}；完整号码：{labels}",
           application_id=app.id, after={"version": app.version, "reason": reason, "fields": full})
    return ArchiveCopy(job, app.number or "")
