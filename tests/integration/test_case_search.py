"""One case number everywhere (issue 15, item 5): one search box finds a case by 编号, by the
deceased's 身份证号 or by the applicant's phone (blind indexes), scoped to what each staff member
may see; personal numbers never go into a URL and every search is logged without the key."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from portal.crypto import Vault
from portal.models import Application, Event
from portal.services import pii
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration import fuzz_support as fz
from tests.integration.factories import submitted_application


def _case(db: sessionmaker[Session], vault: Vault, **kw: object) -> tuple[int, str, str]:
    with db() as s:
        app = submitted_application(s, vault, **kw)  # type: ignore[arg-type]
        s.commit()
        assert app.deceased is not None
        return app.id, app.number or "", pii.opened(app, vault, "deceased_id")


def search(client: TestClient, q: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/admin/search").text)
    return client.post("/admin/search", data={"csrf_token": token, "q": q})


def test_a_case_is_found_by_number_deceased_id_or_applicant_phone(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id, number, deceased_id = _case(db, vault)
    _case(db, vault, name="另一位")  # another case of the same family: the phone finds both
    login(client, "clerk", "/admin")
    home = client.get("/admin")
    assert 'action="/admin/search"' in home.text  # the one box, on the 工作台
    for q in (number, number.lower(), deceased_id, f"{deceased_id[:6]} {deceased_id[6:14]} {deceased_id[14:]}".lower()):
        r = search(client, q)
        assert r.status_code == 303 and r.headers["location"] == f"/admin/applications/{app_id}", q
    r = search(client, "+86 199-0000-0001")  # chenjianguo's phone, as people type it
    assert r.status_code == 200 and r.text.count("/admin/applications/") >= 2 and number in r.text
    assert "19900000001" not in r.text  # the typed number is not echoed back
    r = search(client, "330302194001010011")  # not a valid 身份证号: a name fragment, nothing found
    assert r.status_code == 200 and "没有找到" in r.text
    with db() as s:
        logged = list(s.scalars(select(Event).where(Event.tag == "staff:case:search")))
    assert len(logged) == 6 and {e.after["kind"] for e in logged} >= {"number", "deceased_id", "phone"}  # type: ignore[index]
    assert not any(deceased_id in (e.summary + str(e.after)) for e in logged)


def test_search_is_scoped_to_what_each_may_see(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    _, number, deceased_id = _case(db, vault, matters={"cremation", "hukou"})
    for who, seen in (("clerk", True), ("clerk-ruian", False), ("officer-gongan", True),
                      ("officer-canlian", False), ("officer-gongan-ruian", False), ("admin", True)):
        c = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
        login(c, who, "/admin")
        for q in (number, deceased_id):
            r = search(c, q)
            assert (r.status_code == 303) is seen, (who, q, r.status_code)
    family = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(family, "chenjianguo", "/")
    assert family.get("/admin/search").status_code == 403


@pytest.mark.usefixtures("demo_staff")
def test_hostile_search_text_never_breaks_the_page(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    _case(db, vault)
    login(client, "officer-gongan", "/admin")
    token = csrf_from(client.get("/admin/search").text)
    with db() as s:
        number = s.scalar(select(Application.number))
    box = fz.form({"q": fz.value([number or "", "陈", "19900000001", "33030219620315031X"])})

    @fz.fuzz_settings(examples=60)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        fz.send(client, "search", "POST", "/admin/search", data={"csrf_token": token, **data.draw(box, "fields")},
                follow=True)

    case()
