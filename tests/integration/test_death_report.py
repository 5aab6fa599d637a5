"""死讯简况 (issue 15, item 1): a grid worker or the 12345 operator reports a death; the proactive
case opens (or the known one is joined, and the reporter is told); a home death gives the health
centre a visit due within 24 hours; the next of kin gets one text with the invitation link, the
30-day 户口 notice and the cremation booking; the reporters see no case."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from portal.models import Application, DepartmentTask, Event, Notification
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration import fuzz_support as fz
from tests.integration.test_apply_support import errors_in

DECEASED_ID = "330302193606060024"
KIN_PHONE = "19900000005"


def _report(client: TestClient, **over: str):  # type: ignore[no-untyped-def]
    page = client.get("/admin/report")
    assert page.status_code == 200
    died = date.today() - timedelta(days=0)
    data = {"d_name": "雷阿公", "d_id": DECEASED_ID, "d_hukou": "330302:五马街道", "place": "五马街道解放街66号",
            "death_date": died.isoformat(), "death_time": "03:20", "scenario": "home", "kin_name": "雷堃",
            "kin_phone": KIN_PHONE, "kin_relation": "child", "reporter": "郑国平", **over}
    return client.post("/admin/report", data={"csrf_token": csrf_from(page.text), **data})


def test_a_grid_worker_reports_a_home_death(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    login(client, "grid", "/admin")
    assert "/admin/report" in client.get("/admin").text
    r = _report(client)
    assert r.status_code == 303, errors_in(r.text)
    flash = client.get(r.headers["location"]).text
    assert "已主动启动办理" in flash and "卫生院须在" in flash and "已短信告知家属" in flash
    with db() as s:
        app = s.scalars(select(Application)).one()
        assert app.status == "proactive" and app.number and app.account_id is None
        visit = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app.id,
                                                      DepartmentTask.matter_code == "certificate"))
        assert visit is not None and visit.department == "weijian" and visit.status == "pending"
        assert visit.deadline is not None and visit.deadline <= date.today() + timedelta(days=1)
        assert not visit.message  # the instruction is for staff: on the task's timeline
        note = s.scalar(select(Event).where(Event.task_id == visit.id, Event.tag == "staff:death_report:home_visit"))
        assert note is not None and "24小时内" in note.summary and "解放街66号" in note.summary and not note.public
        texts = [n.body for n in s.scalars(select(Notification).where(Notification.application_id == app.id))]
        assert any("/apply/claim/" in t for t in texts)
        assert any("30日内" in t and "火化预约" in t for t in texts)
        assert all(vault.open(n.phone_enc) == KIN_PHONE for n in s.scalars(select(Notification)))
        report = s.scalar(select(Event).where(Event.tag == "staff:death_report:file"))
        assert report is not None and DECEASED_ID not in report.summary and report.actor_name == "郑国平"
        number, app_id = app.number, app.id
    # the reporter sees no case: not its page, not by search
    assert client.get(f"/admin/applications/{app_id}").status_code in (403, 404)
    assert client.get("/admin/search").status_code == 403
    # the health centre's officer has the visit in their queue
    health = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(health, "officer-weijian", "/admin/tasks")
    assert number in health.get("/admin/tasks").text

    # the 12345 operator reports the same death again: it joins the known case and says so
    hotline = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(hotline, "hotline", "/admin")
    again = _report(hotline, reporter="家属雷堃来电", d_id=f"{DECEASED_ID[:6]} {DECEASED_ID[6:]}")
    assert again.status_code == 303
    assert "此前已有报告" in hotline.get(again.headers["location"]).text
    with db() as s:
        assert s.scalar(select(Application.id).where(Application.id != app_id)) is None
        assert len(list(s.scalars(select(DepartmentTask).where(DepartmentTask.matter_code == "certificate")))) == 1
        joined = s.scalars(select(Event).where(Event.tag == "staff:death_report:file").order_by(Event.id)).all()[-1]
        assert "此前已知" in joined.summary and number in joined.summary


def test_the_report_checks_every_field(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "hotline", "/admin")
    r = _report(client, d_id="330302193606060025", d_hukou="", kin_phone="123", scenario="", d_name="")
    assert r.status_code == 400
    msgs = " ".join(errors_in(r.text))
    for words in ("身份证", "乡镇", "手机号", "情况", "逝者姓名"):
        assert words in msgs
    assert 'value="五马街道解放街66号"' in r.text  # nothing typed is lost
    with db() as s:
        assert s.scalar(select(Application.id)) is None


def test_hostile_input_never_breaks_the_report(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    login(client, "grid", "/admin")
    token = csrf_from(client.get("/admin/report").text)
    box = fz.form({"d_name": fz.value(["雷阿公"]), "d_id": fz.value([DECEASED_ID]), "d_hukou": fz.value(["330302:五马街道"]),
                   "place": fz.value(["解放街66号"]), "death_date": fz.value(["2026-12-01"], kind="date"),
                   "death_time": fz.value(["03:20"]), "scenario": fz.value(["home", "hospital"]),
                   "kin_name": fz.value(["雷堃"]), "kin_phone": fz.value([KIN_PHONE]),
                   "kin_relation": fz.value(["child"]), "reporter": fz.value(["郑国平"])})

    @fz.fuzz_settings(examples=40)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        fz.send(client, "report", "POST", "/admin/report", data={"csrf_token": token, **data.draw(box, "fields")},
                follow=True)

    case()
