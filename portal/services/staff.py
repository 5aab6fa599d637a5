"""Staff memberships: granted by an administrator, or for the demo personas by the demo seed."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import StaffMember

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


def ensure_demo_staff(session: Session) -> int:
    """Create the demo staff memberships that are missing; returns how many were created."""
    existing = set(session.scalars(select(StaffMember.sub)))
    created = 0
    for sub, (name, role, department, county) in DEMO_STAFF.items():
        if sub not in existing:
            session.add(StaffMember(sub=sub, name=name, role=role, department=department, county_code=county))
            created += 1
    session.flush()
    return created
