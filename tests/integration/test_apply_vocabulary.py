"""The application side speaks the one vocabulary: status words from portal.domain.status."""
from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.domain.status import APP_FAMILY_LABELS, APP_RETURNED
from portal.models import Application
from tests.integration.test_apply_support import full_application, post_step, start, typical


def test_own_case_in_progress_is_worded_as_on_every_other_page(client: TestClient, engine: Engine) -> None:
    first = full_application(client)
    with Session(engine) as s, s.begin():
        s.get(Application, first).status = APP_RETURNED  # the window sent it back to the family
    start(client)  # the same family starts again for the same person
    answers = typical()
    post_step(client, "scenario", answers["scenario"])
    assert post_step(client, "deceased", answers["deceased"]).headers["location"] == "/apply/in-progress"
    page = client.get("/apply/in-progress").text
    assert APP_FAMILY_LABELS[APP_RETURNED] in page
