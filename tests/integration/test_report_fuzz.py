"""Fuzz (hypothesis) of the oversight forms and query strings (issue 16): exports with a reason,
the 月对账 confirm and close, and the filters of the statistics and reconciliation pages. No 5xx,
no unescaped echo, no redirect off the site (tests/integration/fuzz_support.py)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from portal.crypto import Vault
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration import fuzz_support as fz
from tests.integration.factories import new_application

MONTHS = ["2026-10", "2026-11", "1999-01", "2026-13", "2026-1"]
COUNTIES = ["330302", "330381", "999999"]


def test_oversight_forms_and_filters(app, db: sessionmaker[Session], vault: Vault) -> None:  # type: ignore[no-untyped-def]
    new_application(db, vault)
    clients: dict[str, TestClient] = {}
    tokens: dict[str, str] = {}
    for who in ("admin", "officer-renshe", "clerk"):
        c = TestClient(app, base_url="http://testserver", follow_redirects=False)
        c.__enter__()
        login(c, who)
        clients[who], tokens[who] = c, csrf_from(c.get("/").text)
    export_form = fz.form({"what": fz.value(["queue", "stats", "reconcile"]), "format": fz.value(["csv", "xlsx"]),
                           "reason": fz.HOSTILE, "status": fz.value(["all", "todo", "submitted"]),
                           "month": fz.value(MONTHS), "county": fz.value(COUNTIES)})
    month_form = fz.form({"month": fz.value(MONTHS), "county": fz.value(COUNTIES), "note": fz.HOSTILE})
    stats_query = fz.form({"county": fz.value_q(COUNTIES), "from": fz.value_q(["2026-09-01"], kind="date"),
                           "to": fz.value_q(["2026-11-30"], kind="date")}, query=True)
    recon_query = fz.form({"month": fz.value_q(MONTHS), "county": fz.value_q(COUNTIES)}, query=True)

    @fz.fuzz_settings(examples=60)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(sorted(clients)), "who")
        which = data.draw(st.sampled_from(("export", "confirm", "close", "stats", "reconcile")), "form")
        c, token = clients[who], tokens[who]
        if which == "export":
            fz.send(c, "oversight", "POST", "/admin/export/file", data={"csrf_token": token, **data.draw(export_form)})
        elif which in ("confirm", "close"):
            fz.send(c, "oversight", "POST", f"/admin/reconcile/{which}",
                    data={"csrf_token": token, **data.draw(month_form)}, follow=True)
        elif which == "stats":
            fz.send(c, "oversight", "GET", "/admin/stats", params=data.draw(stats_query))
        else:
            fz.send(c, "oversight", "GET", "/admin/reconcile", params=data.draw(recon_query))

    try:
        case()
    finally:
        for c in clients.values():
            c.__exit__(None, None, None)
