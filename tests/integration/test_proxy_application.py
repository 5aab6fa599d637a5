"""代办: a window clerk fills in the one application for a family (issue 15, item 2) — the same
steps and checks as the family's own, any identity document, the 登记表 to sign, and the family
seeing the same case after logging in with the same document."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.domain.application_form import DECLARATION
from portal.models import Application, Event, Party, ProxyApplicant
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.test_apply_support import errors_in, typical

pytestmark = pytest.mark.usefixtures("demo_staff")

PASSPORT = "E90000017"  # the stand-in's passport persona (auth/personas.toml, "passport")


def csrf(client: TestClient, path: str = "/admin") -> str:
    return csrf_from(client.get(path).text)


def start_proxy(client: TestClient, **over: str) -> Any:
    data = {"channel": "walk_in", "p_name": "周安娜", "id_type": "2", "id_no": PASSPORT.lower(),
            "p_phone": "19900000007", "consent_how": "in_person", **over}
    return client.post("/admin/proxy", data={"csrf_token": csrf(client, "/admin/proxy"), **data})


def fill(client: TestClient, base: str, answers: dict[str, dict[str, Any]]) -> None:
    for step, data in answers.items():
        page = client.get(f"{base}/step/{step}")
        assert page.status_code == 200, (step, page.status_code, page.headers.get("location"))
        r = client.post(f"{base}/step/{step}", data={"csrf_token": csrf_from(page.text), **data})
        assert r.status_code == 303, (step, errors_in(r.text))


def proxy_case(client: TestClient) -> tuple[str, int]:
    r = start_proxy(client)
    assert r.status_code == 303, errors_in(r.text)
    base = r.headers["location"].removesuffix("/step/scenario")
    return base, int(base.rsplit("/", 1)[1])


def test_clerk_fills_in_for_a_passport_holder_who_then_sees_the_case(client: TestClient, engine: Engine,
                                                                      tmp_path: Path) -> None:
    login(client, "clerk", "/admin")
    base, app_id = proxy_case(client)
    answers = typical()
    # the same checks as the family's own: a wrong 身份证号 is refused with the same words
    page = client.get(f"{base}/step/scenario")
    assert "窗口代办" in page.text and "护照" in page.text
    fill(client, base, {"scenario": answers["scenario"]})
    bad = client.post(f"{base}/step/deceased", data={"csrf_token": csrf(client, f"{base}/step/deceased"),
                                                       **{**answers["deceased"], "d_id": "330302194001010011"}})
    assert bad.status_code == 200 and "身份证" in " ".join(errors_in(bad.text))
    fill(client, base, {k: v for k, v in answers.items() if k != "scenario"})
    check = client.get(f"{base}/step/check")
    assert check.status_code == 200 and "护照 E9****017" in check.text
    key = re.search(r'name="submit_key" value="([^"]+)"', check.text)
    assert key and f'action="{base}/submit"' in check.text
    no_decl = client.post(f"{base}/submit", data={"csrf_token": csrf_from(check.text), "submit_key": key.group(1)})
    assert no_decl.status_code == 200 and "承诺" in " ".join(errors_in(no_decl.text))
    done = client.post(f"{base}/submit", data={"csrf_token": csrf_from(check.text), "submit_key": key.group(1),
                                               "declaration": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/applications/{app_id}"
    case_page = client.get(done.headers["location"])
    with Session(engine) as s:
        app = s.get(Application, app_id)
        assert app is not None and app.number and app.status == "submitted"
        assert app.channel == "walk_in" and app.entered_by_staff_id is not None and app.account_id is None
        applicant = s.scalar(select(Party).where(Party.application_id == app_id, Party.role == "applicant"))
        assert applicant is not None and applicant.name == "周安娜" and applicant.phone_bidx
        number = app.number
    assert number in case_page.text and f"/admin/applications/{app_id}/form.pdf" in case_page.text
    # the draft is gone from the 代办 pages once submitted
    assert client.get(f"{base}/step/check").status_code == 404

    pdf = client.get(f"/admin/applications/{app_id}/form.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "form.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(tmp_path / "form.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    flat = re.sub(r"\s+", "", text)
    assert number in flat and re.sub(r"\s+", "", DECLARATION) in flat
    assert "护照E9****017" in flat and PASSPORT not in flat and "现场签名" in flat
    with Session(engine) as s:
        tags = set(s.scalars(select(Event.tag).where(Event.application_id == app_id)))
    assert {"staff:application:proxy_start", "citizen:application:submit", "staff:application:print_form"} <= tags

    # the family logs in with the same passport: the case is theirs to follow
    client.get("/logout")
    family = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(family, "passport", "/my")
    assert number in family.get("/my").text
    assert family.get(f"/my/{app_id}").status_code == 200
    with Session(engine) as s:
        app = s.get(Application, app_id)
        assert app is not None and app.account_id is not None


def test_the_first_screen_checks_the_document_phone_and_consent(client: TestClient, engine: Engine) -> None:
    login(client, "clerk", "/admin")
    r = start_proxy(client, id_no="E9", p_phone="12345", consent_how="")
    assert r.status_code == 400
    msgs = " ".join(errors_in(r.text))
    assert "护照号码" in msgs and "手机号" in msgs and "同意" in msgs
    assert 'value="E9"' in r.text  # nothing typed is lost
    r = start_proxy(client, id_type="1", id_no="330302194001010011")
    assert r.status_code == 400 and "身份证" in " ".join(errors_in(r.text))
    with Session(engine) as s:
        assert s.scalar(select(ProxyApplicant.id)) is None


def test_an_id_card_holder_with_an_account_is_linked_at_once(client: TestClient, engine: Engine) -> None:
    family = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(family, "chenjianguo", "/my")  # the account exists
    login(client, "clerk", "/admin")
    r = start_proxy(client, channel="phone", p_name="陈建国", id_type="1", id_no="33030219620315031x",
                    p_phone="19900000001")
    assert r.status_code == 303
    with Session(engine) as s:
        app = s.scalars(select(Application).where(Application.channel == "phone")).one()
        assert app.account_id is not None


def test_only_window_staff_fill_in_for_families(client: TestClient) -> None:
    login(client, "chenjianguo", "/")
    assert client.get("/admin/proxy").status_code == 403


def test_hostile_input_on_the_first_screen_never_breaks_it(client: TestClient) -> None:
    """Fuzz /admin/proxy: any text in any field gives a page (400 with the fields kept) or a start."""
    from hypothesis import given
    from hypothesis import strategies as st

    from tests.integration import fuzz_support as fz

    login(client, "clerk", "/admin")
    token = csrf(client, "/admin/proxy")
    start_form = fz.form({
        "channel": fz.value(["walk_in", "phone", "online"]), "p_name": fz.value(["周安娜", "阿依古丽·买买提"]),
        "id_type": fz.value(["1", "2", "4", "5", "6", "9"]), "id_no": fz.value(["E90000017", "H12345678", "33030219620315031X"]),
        "p_phone": fz.value(["19900000007", "+86 199 0000 0007"]), "consent_how": fz.value(["in_person", "phone"]),
    })

    @fz.fuzz_settings(examples=60)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        posted = data.draw(start_form, "fields")
        fz.send(client, "proxy", "POST", "/admin/proxy", data={"csrf_token": token, **posted}, follow=True)

    case()


def test_a_window_case_for_a_death_already_reported_joins_that_case(client: TestClient, engine: Engine) -> None:
    """A grid worker reported the death; the family then comes to the window: one case, one 编号."""
    grid = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(grid, "grid", "/admin")
    answers = typical()
    page = grid.get("/admin/report")
    reported = grid.post("/admin/report", data={
        "csrf_token": csrf_from(page.text), "d_name": answers["deceased"]["d_name"], "d_id": answers["deceased"]["d_id"],
        "d_hukou": "330302:五马街道", "place": "解放街188号", "death_date": answers["death"]["death_date"],
        "death_time": "06:30", "scenario": "home", "kin_name": "周安娜", "kin_phone": "19900000007",
        "kin_relation": "child", "reporter": "郑国平"})
    assert reported.status_code == 303
    with Session(engine) as s:
        case = s.scalars(select(Application).where(Application.status == "proactive")).one()
        case_id, number = case.id, case.number
    login(client, "clerk", "/admin")
    base, draft_id = proxy_case(client)
    fill(client, base, answers)
    check = client.get(f"{base}/step/check")
    key = re.search(r'name="submit_key" value="([^"]+)"', check.text)
    assert key
    done = client.post(f"{base}/submit", data={"csrf_token": csrf_from(check.text), "submit_key": key.group(1),
                                               "declaration": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/applications/{case_id}"
    assert "并入了部门已主动启动的办理" in client.get(done.headers["location"]).text
    with Session(engine) as s:
        joined = s.get(Application, case_id)
        assert joined is not None and joined.number == number and joined.status == "submitted"
        assert joined.channel == "walk_in" and joined.entered_by_staff_id is not None
        row = s.scalars(select(ProxyApplicant)).one()
        assert row.application_id == case_id and draft_id != case_id
    family = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(family, "passport", "/my")
    assert number in family.get("/my").text


def test_a_deceased_already_in_progress_is_not_entered_twice(client: TestClient) -> None:
    from tests.integration.test_apply_support import full_application

    family = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    full_application(family)  # chenjianguo submitted for this deceased online
    login(client, "clerk", "/admin")
    base, _ = proxy_case(client)
    answers = typical()
    fill(client, base, {"scenario": answers["scenario"]})
    page = client.get(f"{base}/step/deceased")
    r = client.post(f"{base}/step/deceased", data={"csrf_token": csrf_from(page.text), **answers["deceased"]})
    assert r.status_code == 200
    msg = " ".join(errors_in(r.text))
    assert "已有申请在办理" in msg and "330302-" in msg  # the clerk of the county is told which case
