"""Staff memberships: granted by an administrator, or for the demo personas by the demo seed.

A membership is for one person at one provider, (issuer, sub): the demo staff belong to the
stand-in provider, so the same `sub` at an outside provider gets no rights.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.models import CitizenAccount, StaffMember, WebSession
from portal.services.events import SYSTEM, record

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
    return session.execute(delete(WebSession).where(WebSession.account_id.in_(accounts))).rowcount or 0
