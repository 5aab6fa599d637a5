"""Staff text as long as the forms accept is recorded, never a 500 (found by the form fuzz on PostgreSQL)."""
from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from portal.models import Application, Event
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application

SUMMARY_COLUMN = Event.__table__.c.summary.type.length  # type: ignore[attr-defined]


def test_window_return_with_the_longest_reason(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    page = client.get(f"/admin/applications/{app_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    reason = ("请补充逝者户口簿首页和本人页的复印件，" * 20)[:300]  # the 300 characters the window may write
    r = client.post(f"/admin/applications/{app_id}/return",
                    data={"csrf_token": csrf_from(page.text), "version": version, "reason": reason})
    assert r.status_code == 303, r.status_code
    with db() as s:
        assert s.get(Application, app_id).return_reason == reason  # type: ignore[union-attr]  # kept whole
        summaries = list(s.scalars(select(Event.summary).where(Event.application_id == app_id)))
    assert all(len(text) <= SUMMARY_COLUMN for text in summaries), [len(t) for t in summaries]
    assert any(text.startswith("窗口退回了您的申请") and text.endswith("…") for text in summaries)
