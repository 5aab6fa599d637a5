"""Who is staff, and what each role may see: the rules, and the membership read from the database.

Staff membership (role, department, county) lives in the portal's own `staff_member` table, keyed
by (issuer, sub) like every identity, and is read on every staff request, so an administrator's
change takes effect at once. This module knows no web: the login use case and the demo seeder
read memberships here; the page guards are in auth/permissions.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.domain.reference import ROLES
from portal.models import StaffMember


class Role(StrEnum):
    WINDOW_CLERK = "window_clerk"
    OFFICER = "officer"
    ADMIN = "admin"
    HOTLINE = "hotline_operator"  # 12345: takes death reports (死讯简况), sees no case
    GRID_WORKER = "grid_worker"  # 网格员: reports deaths in their area, sees no case


#: What a person reads for each role (the words come from the vocabulary, portal.domain.reference).
ROLE_LABELS: dict[Role, str] = {Role(code): label for code, label in ROLES}

#: Which full personal numbers (portal.services.pii.FIELDS) a department officer may open
#: on an application their department has a matter in. Window clerks and admins open any of them
#: in their county (they check the whole application). Everything else stays masked.
#: - every department: the deceased's ID and death-certificate number (the case itself; from
#:   2026-07-01 they are the same number) and the applicant's ID and phone (the person to contact
#:   about a correction);
#: - 人社 (丧葬费、抚恤金 payout) and 医保 (个人账户余额 to the heirs) also the recipient's ID,
#:   phone and bank account: they pay the money out.
OFFICER_REVEAL_ALL = frozenset({"deceased_id", "deceased_certificate", "applicant_id", "applicant_phone"})
OFFICER_REVEAL_BY_DEPARTMENT: dict[str, frozenset[str]] = {
    "renshe": frozenset({"recipient_id", "recipient_phone", "recipient_account"}),
    "yibao": frozenset({"recipient_id", "recipient_phone", "recipient_account"}),
}


@dataclass(frozen=True)
class Staff:
    id: int
    sub: str
    name: str
    role: Role
    department: str | None
    county_code: str | None
    issuer: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_handle_county(self, county_code: str | None) -> bool:
        """Admins see every county; others only their own (None = all counties of the city)."""
        return self.is_admin or self.county_code is None or self.county_code == county_code

    def may_work_task(self, department: str, county_code: str) -> bool:
        return self.role is Role.OFFICER and self.department == department and self.may_handle_county(county_code)

    def may_accept(self, county_code: str | None) -> bool:
        return self.role in (Role.WINDOW_CLERK, Role.ADMIN) and self.may_handle_county(county_code)

    @property
    def is_reporter(self) -> bool:
        """12345 operators and grid workers report deaths; they open no case and reveal nothing."""
        return self.role in (Role.HOTLINE, Role.GRID_WORKER)

    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool:
        if self.is_reporter:
            return False
        if self.role is Role.OFFICER:
            return self.department in departments and self.may_handle_county(county_code)
        return self.may_handle_county(county_code)

    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool:
        """May this person open the full personal number `field_name` of an application?

        `departments` are those with a matter in the application. The one place this is decided
        (the reveal service and the 显示完整号码 form both ask here).
        """
        if not self.may_view_application(county_code, departments):
            return False
        if self.role is Role.OFFICER:
            allowed = OFFICER_REVEAL_ALL | OFFICER_REVEAL_BY_DEPARTMENT.get(self.department or "", frozenset())
            return field_name in allowed
        return self.role in (Role.WINDOW_CLERK, Role.ADMIN)


# Read on every staff request: built once, from the table's columns (no ORM object to load).
_SM = StaffMember.__table__.c
_MEMBERSHIP = (select(_SM.id, _SM.sub, _SM.name, _SM.role, _SM.department, _SM.county_code, _SM.issuer)
               .where(_SM.issuer == bindparam("issuer"), _SM.sub == bindparam("sub"), _SM.active.is_(True)))


def load_staff(session: Session, issuer: str, sub: str) -> Staff | None:
    """The active membership of the person (issuer, sub), or None."""
    row = session.execute(_MEMBERSHIP, {"issuer": issuer, "sub": sub}).first()
    if row is None:
        return None
    return Staff(row.id, row.sub, row.name, Role(row.role), row.department, row.county_code, row.issuer)
