"""What is known about a death before any family applies: the facts a department's event or a
12345 / grid-worker report carries, and the draft answers they pre-fill (主动办, nothing asked twice).

Pure Python: the proactive-case service (portal/services/proactive.py) seals and indexes the
numbers; the channel helpers build `DeathFacts` from what they were told.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.form_steps.answers import OTHER
from portal.domain.reference import APPLICANT_RELATIONS, SCENARIOS

_RELATIONS = {code for code, _ in APPLICANT_RELATIONS}
_SCENARIOS = {s.code for s in SCENARIOS}


@dataclass(frozen=True)
class Contact:
    """The next of kin an issuer or funeral home recorded (MZ/T 141 ContactInformation)."""

    name: str
    phone: str | None = None
    relation: str | None = None  # a code of reference.APPLICANT_RELATIONS, when known


@dataclass(frozen=True)
class DeathFacts:
    """A death as a department (or a 12345 report) knows it; `id_number` is the deceased's 身份证号."""

    id_number: str
    name: str
    county_code: str  # 户籍 county: the proactive case is opened there
    township: str | None = None
    death_time: datetime | None = None  # China wall time, naive, like the form's
    death_cause: str | None = None
    scenario: str | None = None  # home | hospital | unnatural
    certificate_no: str | None = None
    funeral_home: str | None = None  # name, as the county's list writes it
    ethnicity: str | None = None  # GB 3304 two-digit code
    contact: Contact | None = None

    def answers(self, catalogue: Catalogue | None = None) -> dict[str, Any]:
        """The draft answers these facts fill in, in the form's own shape (only what is sure)."""
        cat = catalogue or default_catalogue()
        out: dict[str, Any] = {"d_name": self.name, "d_id": self.id_number}
        try:
            county = cat.county(self.county_code)
        except KeyError:
            county = None
        if county is not None and self.township in county.townships:
            out["d_hukou"] = f"{self.county_code}:{self.township}"
        if self.ethnicity:
            out["d_ethnicity"] = self.ethnicity.zfill(2)
        if self.scenario in _SCENARIOS:
            out["scenario"] = self.scenario
        if self.death_time is not None:
            out["death_date"] = self.death_time.date().isoformat()
            out["death_time"] = self.death_time.strftime("%H:%M")
        if self.death_cause:
            out["death_cause"] = self.death_cause[:100]
        if self.certificate_no:
            out["cert_no"] = self.certificate_no
        if self.funeral_home:
            out["body_at_fh"] = "yes"
            if county is not None and self.funeral_home in county.funeral_homes:
                out["funeral_home"] = self.funeral_home
            else:
                out["funeral_home"], out["funeral_home_other"] = OTHER, self.funeral_home[:60]
        if self.contact is not None and self.contact.relation in _RELATIONS:
            out["a_relation"] = self.contact.relation
        return out

    def merged_into(self, answers: dict[str, Any]) -> dict[str, Any]:
        """`answers` with these facts added where nothing was answered yet (never overwriting)."""
        out = dict(answers)
        for key, value in self.answers().items():
            out.setdefault(key, value)
        return out
