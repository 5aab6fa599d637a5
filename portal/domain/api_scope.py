"""Who is calling the machine interface: a department system, scoped to its department and county.

Built by the web layer from a bearer token (portal/services/api_clients.py) and handed to the
same use cases the back office calls (portal/services/tasks.py): it answers their questions
(`may_work_task`, …) the way an officer of that department and county would, never more. A
client with no county works for every county of the city, like an officer without one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientScope:
    client_id: str
    name: str
    department: str
    county_code: str | None
    record_id: int  # api_client.id: the audit log's actor id

    actor_kind = "client"  # the audit log's actor kind (staff are "staff")

    @property
    def id(self) -> None:
        """A client is no staff member: it is never a task's assignee."""
        return None

    def may_handle_county(self, county_code: str | None) -> bool:
        return self.county_code is None or self.county_code == county_code

    def may_work_task(self, department: str, county_code: str) -> bool:
        return self.department == department and self.may_handle_county(county_code)

    def may_accept(self, county_code: str | None) -> bool:
        return False  # the window accepts applications; departments do not

    def may_view_application(self, county_code: str | None, departments: set[str]) -> bool:
        return self.department in departments and self.may_handle_county(county_code)

    def may_reveal(self, field_name: str, county_code: str | None, departments: set[str]) -> bool:
        return False  # personal numbers are never handed to a machine in clear
