"""Plain values of an application's rows, for pages: a template reading them cannot trigger a
query or meet a detached row. Built inside the session by the view services.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.models import Application, Deceased, DepartmentTask, Party


@dataclass(frozen=True)
class CaseSummary:
    id: int
    number: str
    status: str
    version: int
    return_reason: str | None
    channel: str
    county_code: str | None

    @classmethod
    def of(cls, app: Application) -> CaseSummary:
        return cls(app.id, app.number or "", app.status, app.version, app.return_reason, app.channel, app.county_code)


@dataclass(frozen=True)
class TaskSummary:
    id: int
    version: int
    status: str
    matter_code: str
    message: str | None

    @classmethod
    def of(cls, task: DepartmentTask) -> TaskSummary:
        return cls(task.id, task.version, task.status, task.matter_code, task.message)


@dataclass(frozen=True)
class PartySummary:
    name: str
    relation: str
    bank_name: str | None
    needs_review: bool

    @classmethod
    def of(cls, party: Party | None) -> PartySummary | None:
        if party is None:
            return None
        return cls(party.name, party.relation, party.bank_name, bool(party.needs_review))


@dataclass(frozen=True)
class DeceasedSummary:
    name: str
    gender: str
    age: int
    hukou_township: str
    hukou_address: str | None
    death_time: datetime
    death_cause: str
    body_at_funeral_home: bool
    funeral_home: str | None
    pickup_address: str | None
    ashes_place: str

    @classmethod
    def of(cls, d: Deceased | None) -> DeceasedSummary | None:
        if d is None:
            return None
        return cls(d.name, d.gender, d.age, d.hukou_township, d.hukou_address, d.death_time, d.death_cause,
                   bool(d.body_at_funeral_home), d.funeral_home, d.pickup_address, d.ashes_place)
