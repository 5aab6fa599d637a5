"""The application side uses the status machine's statuses and the one clock."""
from __future__ import annotations

from datetime import datetime

from portal.domain import application_form as form
from portal.domain import clock
from portal.domain.status import APP_FAMILY_LABELS
from portal.services.applications import INACTIVE_STATUSES


def test_inactive_statuses_are_statuses_an_application_can_have() -> None:
    assert set(INACTIVE_STATUSES) <= set(APP_FAMILY_LABELS)


def test_the_form_reads_today_from_the_clock() -> None:
    with clock.frozen(datetime(2026, 1, 10, 9, 0)):
        assert "death_date" not in form.prefill_from_guide({"death_date": "2026-03-01"})  # after "today"
        assert form.prefill_from_guide({"death_date": "2026-01-09"})["death_date"] == "2026-01-09"
        assert form.china_now() == datetime(2026, 1, 10, 9, 0)
