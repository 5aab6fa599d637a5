"""Staff memberships: granted and (de)activated by an administrator, or for the demo personas
by the demo seed.

A membership is for one person at one provider, (issuer, sub): the demo staff belong to the
stand-in provider, so the same `sub` at an outside provider gets no rights.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.domain.reference import ROLES as ROLE_OPTIONS
from portal.models import CitizenAccount, StaffMember, WebSession
from portal.services.casework import StaffLike, catalogue, clean_text, staff_actor
from portal.services.errors import Conflict, Invalid, NotFound, WorkflowError
from portal.services.events import SYSTEM, record

ROLES: dict[str, str] = dict(ROLE_OPTIONS)

LUCHENG, RUIAN = "330302", "330381"

# sub -> (name, role, department, county). The demo personas live in auth/personas.toml.
DEMO_STAFF: dict[str, tuple[str, str, str | None, str | None]] = {
    "zj-u-0101": ("黄丽华", "window_clerk", None, LUCHENG),
    "zj-u-0111": ("潘志强", "officer", "minzheng", LUCHENG),
    "zj-u-0112": ("金海波", "officer", "binyiguan", LUCHENG),
    "zj-u-0113": ("李振华", "officer", "gongan", LUCHENG),
    "zj-u-0114": ("叶静", "officer", "renshe", LUCHENG),
    "zj-u-0115": ("徐敏", "officer", "yibao", LUCHENG),
    "zj-u-0116": ("朱文杰", "officer", "weijian", LUCHENG),
    "zj-u-0117": ("胡建军", "officer", "tuiyi", LUCHENG),
    "zj-u-0118": ("蔡琳", "officer", "canlian", LUCHENG),
    "zj-u-0119": ("谢晨", "officer", "gongjijin", LUCHENG),
    "zj-u-0190": ("施永明", "admin", None, None),
    "zj-u-0121": ("王海燕", "hotline_operator", None, LUCHENG),
    "zj-u-0122": ("郑国平", "grid_worker", None, LUCHENG),
    "zj-u-0201": ("戴雪梅", "window_clerk", None, RUIAN),
    "zj-u-0202": ("孙立新", "officer", "gongan", RUIAN),
}


def ensure_demo_staff(session: Session, stand_in_issuer: str) -> int:
    """Create the demo staff memberships that are missing (at the stand-in provider `stand_in_issuer`);
    returns how many were created."""
    existing = set(session.scalars(select(StaffMember.sub).where(StaffMember.issuer == stand_in_issuer)))
    created = 0
    for sub, (name, role, department, county) in DEMO_STAFF.items():
        if sub not in existing:
            session.add(StaffMember(issuer=stand_in_issuer, sub=sub, name=name, role=role, department=department,
                                    county_code=county))
            created += 1
    session.flush()
    return created


def grant_admin(session: Session, issuer: str, sub: str, name: str) -> bool:
    """Make (issuer, sub) an active administrator: the first one at a real provider. False if already."""
    member = session.scalar(select(StaffMember).where(StaffMember.issuer == issuer, StaffMember.sub == sub))
    if member is not None and member.role == "admin" and member.active:
        return False
    if member is None:
        member = StaffMember(issuer=issuer, sub=sub, name=name, role="admin", department=None, county_code=None)
        session.add(member)
    member.role, member.department, member.county_code, member.active = "admin", None, None, True
    session.flush()
    record(session, SYSTEM, "system:account:grant-admin", f"命令行开通管理员 {member.name}",
           after={"staff_id": member.id, "issuer": issuer, "sub": sub})
    return True


def end_sessions(session: Session, issuer: str, sub: str) -> int:
    """End every live session of the person (issuer, sub) at once (e.g. on deactivation)."""
    accounts = select(CitizenAccount.id).where(CitizenAccount.issuer == issuer, CitizenAccount.sub == sub)
    result = cast("CursorResult[Any]", session.execute(delete(WebSession).where(WebSession.account_id.in_(accounts))))
    return result.rowcount or 0


# --- administration: the staff page --------------------------------------------------------------

def members(session: Session) -> list[StaffMember]:
    """Every staff membership, grouped by county, role and department (the staff page)."""
    return list(session.scalars(select(StaffMember).order_by(StaffMember.county_code, StaffMember.role,
                                                             StaffMember.department, StaffMember.id)))


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
    name = clean_text(form.name, limit=60, field="name", label="姓名")
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
    if form.role in ("window_clerk", "officer", "grid_worker") and county is None:
        errors["county_code"] = "窗口人员、部门经办人和网格员需要选择所在县（市、区）"
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
        end_sessions(session, member.issuer, member.sub)
    record(session, staff_actor(admin, ip), "staff:account:" + ("activate" if active else "deactivate"),
           f"{'启用' if active else '停用'}工作人员 {member.name}", before=before,
           after={"active": active, "staff_id": member.id})
    return member
