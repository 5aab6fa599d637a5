"""Answers given in the policy eligibility guide are carried into a new application."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from starlette.testclient import TestClient

from portal.domain.application_form import prefill_from_guide
from portal.models import Application
from portal.services.applications import read_draft
from tests.conftest import csrf_from
from tests.helpers import login

GUIDE_QUERY = ("scenario=hospital&death_date=2026-11-01&pension_type=enterprise_retired&veteran=1"
               "&matters=cremation,hukou,medical,pension,bogus")


def test_prefill_keeps_only_well_formed_answers() -> None:
    answers = prefill_from_guide({"scenario": "abroad", "death_date": "2099-01-01", "pension_type": "x",
                                  "matters": "pension,hukou", "veteran": "1"}, today=date(2026, 11, 22))
    assert answers == {"flags": ["veteran"], "matters": ["hukou", "pension"]}
    blocked = prefill_from_guide({"pension_type": "public_institution", "matters": "pension,hukou"})
    assert blocked["matters"] == ["hukou"]  # 机关事业单位: the pension matter follows the original process


def test_guide_answers_arrive_in_the_draft(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    # Signed out: the login link keeps the guide's answers.
    start = client.get("/apply?" + GUIDE_QUERY).text
    assert "next=/apply%3Fscenario%3Dhospital" in start
    login(client, "chenjianguo", "/apply?" + GUIDE_QUERY)
    page = client.get("/apply?" + GUIDE_QUERY).text
    assert 'name="scenario" value="hospital"' in page and 'name="veteran" value="1"' in page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.split('action="/apply/start"')[1]))
    fields["csrf_token"] = csrf_from(page)
    assert client.post("/apply/start", data=fields).status_code == 303
    scenario_page = client.get("/apply/step/scenario").text
    assert re.search(r'value="hospital"\s+checked', scenario_page)
    svc = app.state.services
    with svc.db() as session:
        draft = read_draft(svc.vault, session.scalars(select(Application)).one())
    assert draft.answers == {"scenario": "hospital", "death_date": "2026-11-01", "pension_type": "enterprise_retired",
                             "flags": ["veteran"], "matters": ["cremation", "hukou", "medical", "pension"]}
