"""The back office over HTTP: login as real staff, isolation, actions, conflicts, masking."""
from __future__ import annotations

import re

from sqlalchemy import func, select
from starlette.testclient import TestClient

from portal.db import transaction
from portal.models import Application, DepartmentTask, Event, Job, Notification, StaffMember
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import new_application


def _task(db, app_id: int, code: str) -> DepartmentTask:  # type: ignore[no-untyped-def]
    with db() as s:
        return s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == code))


def _version(html: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m, "no version field"
    return m.group(1)


def test_clerk_accepts_from_the_window_queue(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    other = new_application(db, vault, citizen="linxiaoyan", county="330381", name="林国平")
    login(client, "clerk")
    queue = client.get("/admin/window")
    assert queue.status_code == 200
    assert "陈德明" in queue.text and "林国平" not in queue.text  # only their county
    assert client.get(f"/admin/applications/{other}").status_code == 404
    page = client.get(f"/admin/applications/{app_id}")
    assert page.status_code == 200
    assert "33030219620315031X" not in page.text and "3303**********031X" in page.text  # masked
    done = client.post(f"/admin/applications/{app_id}/accept",
                       data={"csrf_token": csrf_from(page.text), "version": _version(page.text)})
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "已受理申请" in after.text and "已受理" in after.text
    with db() as s:
        assert s.get(Application, app_id).status == "accepted"
        # the text is queued with its delivery job in the same transaction; the worker sends it
        assert s.scalar(select(Notification.status).where(Notification.application_id == app_id)) == "queued"
        assert s.scalar(select(func.count()).select_from(Job).where(Job.kind == "sms.flush",
                                                                   Job.status == "queued")) >= 1


def test_clerk_return_needs_a_reason(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    page = client.get(f"/admin/applications/{app_id}")
    bad = client.post(f"/admin/applications/{app_id}/return",
                      data={"csrf_token": csrf_from(page.text), "version": _version(page.text), "reason": ""})
    assert bad.status_code == 400 and "请写明需要家属补充或修改什么" in bad.text
    ok = client.post(f"/admin/applications/{app_id}/return",
                     data={"csrf_token": csrf_from(page.text), "version": _version(page.text), "reason": "请补充户口簿"})
    assert ok.status_code == 303


def test_reveal_needs_a_reason_and_is_logged(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    page = client.get(f"/admin/applications/{app_id}")
    token = csrf_from(page.text)
    bad = client.post(f"/admin/applications/{app_id}/reveal", data={"csrf_token": token, "field": "applicant_id", "reason": ""})
    assert bad.status_code == 400 and "33030219620315031X" not in bad.text
    ok = client.post(f"/admin/applications/{app_id}/reveal",
                     data={"csrf_token": token, "field": "applicant_id", "reason": "核对身份"})
    assert ok.status_code == 200 and "33030219620315031X" in ok.text
    with db() as s:
        assert s.scalar(select(Event.summary).where(Event.tag == "staff:pii:reveal")) == "查看了申请人身份证号，原因：核对身份"


def _accept(client, db, vault, app_id: int) -> None:  # type: ignore[no-untyped-def]
    from portal.services import workflow as wf
    from tests.integration.factories import staff

    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))


def test_officer_queue_isolation_by_department_and_county(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    lucheng = new_application(db, vault, name="陈德明")
    ruian = new_application(db, vault, citizen="linxiaoyan", county="330381", name="林国平")
    _accept(client, db, vault, lucheng)
    from portal.services import workflow as wf
    from tests.integration.factories import staff

    with transaction(db) as s:
        wf.accept(s, ruian, s.get(Application, ruian).version, staff(s, "clerk-ruian"))
    login(client, "officer-yibao")
    queue = client.get("/admin/tasks")
    assert queue.status_code == 200
    assert "陈德明" in queue.text and "林国平" not in queue.text
    med_ruian = _task(db, ruian, "medical")
    hukou = _task(db, lucheng, "hukou")
    assert client.get(f"/admin/tasks/{med_ruian.id}").status_code == 404  # other county
    assert client.get(f"/admin/tasks/{hukou.id}").status_code == 404  # other department
    token = csrf_from(queue.text)
    assert client.post(f"/admin/tasks/{hukou.id}/take", data={"csrf_token": token, "version": hukou.version}).status_code == 404
    assert client.get(f"/admin/applications/{ruian}").status_code == 404
    assert client.get("/admin/window").status_code == 403
    assert client.get("/admin/staff").status_code == 403
    # search by 编号 and by name, kept in the URL
    with db() as s:
        number = s.get(Application, lucheng).number
    assert "陈德明" in client.get(f"/admin/tasks?q={number}").text
    assert "陈德明" not in client.get("/admin/tasks?q=不存在的人").text


def test_officer_take_complete_and_conflict(app, client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    med = _task(db, app_id, "medical")
    login(client, "officer-yibao")
    page = client.get(f"/admin/tasks/{med.id}")
    token, stale = csrf_from(page.text), _version(page.text)
    took = client.post(f"/admin/tasks/{med.id}/take", data={"csrf_token": token, "version": stale})
    assert took.status_code == 303
    # the same (now stale) form again: a clear conflict, nothing overwritten
    again = client.post(f"/admin/tasks/{med.id}/complete",
                        data={"csrf_token": token, "version": stale, "settlement_amount": "5"})
    assert again.status_code == 409 and "刚刚被徐敏修改过" in again.text and "没有保存" in again.text
    page = client.get(f"/admin/tasks/{med.id}")
    bad = client.post(f"/admin/tasks/{med.id}/complete",
                      data={"csrf_token": token, "version": _version(page.text), "settlement_amount": "abc"})
    assert bad.status_code == 400 and "请修改以下问题" in bad.text
    done = client.post(f"/admin/tasks/{med.id}/complete",
                       data={"csrf_token": token, "version": _version(page.text), "settlement_amount": "-88.80"})
    assert done.status_code == 303
    assert _task(db, app_id, "medical").result["settlement_amount"] == "-88.80"
    # 人社 now sees the 医保 result and the deduction (注4)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as renshe:
        login(renshe, "officer-renshe")
        pension = _task(db, app_id, "pension")
        view = renshe.get(f"/admin/tasks/{pension.id}")
    assert view.status_code == 200 and "扣回 <strong>88.80 元</strong>" in view.text


def test_waiting_task_cannot_be_completed_over_http(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    pension = _task(db, app_id, "pension")
    login(client, "officer-renshe")
    page = client.get(f"/admin/tasks/{pension.id}")
    assert "暂不能开始（等待：医疗保险个人账户清算）" in page.text
    res = client.post(f"/admin/tasks/{pension.id}/complete",
                      data={"csrf_token": csrf_from(page.text), "version": pension.version,
                            "funeral_grant": "1", "lump_sum": "1"})
    assert res.status_code == 409 and "还不能办结" in res.text
    assert _task(db, app_id, "pension").status == "waiting"


def test_officer_returns_for_correction(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    hukou = _task(db, app_id, "hukou")
    login(client, "officer-gongan")
    page = client.get(f"/admin/tasks/{hukou.id}")
    res = client.post(f"/admin/tasks/{hukou.id}/return",
                      data={"csrf_token": csrf_from(page.text), "version": hukou.version, "step": "certificate",
                            "reason": "死亡证明编号有误"})
    assert res.status_code == 303
    assert _task(db, app_id, "hukou").result == {"correction_step": "certificate", "correction_reason": "死亡证明编号有误"}


def test_admin_overview_staff_and_outbox(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    login(client, "admin")
    assert "全市概况" in client.get("/admin").text
    overview = client.get("/admin/overview")
    assert overview.status_code == 200 and "鹿城区" in overview.text and "瑞安市" in overview.text
    outbox = client.get("/admin/outbox")
    assert "已受理" in outbox.text and "199****0001" in outbox.text
    page = client.get("/admin/staff")
    token = csrf_from(page.text)
    bad = client.post("/admin/staff", data={"csrf_token": token, "sub": "zj-u-0120", "name": "新人", "role": "officer"})
    assert bad.status_code == 400 and "部门经办人需要选择所属部门" in bad.text
    ok = client.post("/admin/staff", data={"csrf_token": token, "sub": "zj-u-0120", "name": "新人", "role": "officer",
                                           "department": "yibao", "county_code": "330302"})
    assert ok.status_code == 303
    with db() as s:
        member = s.scalar(select(StaffMember).where(StaffMember.sub == "zj-u-0120"))
        assert member.department == "yibao" and member.active
    off = client.post(f"/admin/staff/{member.id}/active", data={"csrf_token": token, "version": member.version, "active": "0"})
    assert off.status_code == 303
    stale = client.post(f"/admin/staff/{member.id}/active", data={"csrf_token": token, "version": member.version, "active": "1"})
    assert stale.status_code == 409
    with db() as s:
        assert s.scalar(select(StaffMember.active).where(StaffMember.sub == "zj-u-0120")) is False


def test_citizens_and_anonymous_cannot_enter_the_back_office(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/admin/tasks").status_code in (302, 303)
    login(client, "chenjianguo")
    assert client.get("/admin/tasks").status_code == 403
    assert client.get("/admin/window").status_code == 403


def test_huge_amount_is_a_field_error_not_a_crash(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    med = _task(db, app_id, "medical")
    login(client, "officer-yibao")
    page = client.get(f"/admin/tasks/{med.id}")
    res = client.post(f"/admin/tasks/{med.id}/complete",
                      data={"csrf_token": csrf_from(page.text), "version": _version(page.text),
                            "settlement_amount": "1e30"})
    assert res.status_code == 400 and "金额太大了" in res.text
    assert _task(db, app_id, "medical").status == "pending"


def test_reveal_form_offers_only_what_the_department_may_see(app, client, db, vault) -> None:  # type: ignore[no-untyped-def]
    from portal.services.demo import DEMO_ACCOUNT

    app_id = new_application(db, vault)
    _accept(client, db, vault, app_id)
    login(client, "officer-gongan")
    page = client.get(f"/admin/applications/{app_id}")
    assert page.status_code == 200
    assert 'value="applicant_phone"' in page.text and 'value="recipient_account"' not in page.text
    denied = client.post(f"/admin/applications/{app_id}/reveal",
                         data={"csrf_token": csrf_from(page.text), "field": "recipient_account", "reason": "核对账号"})
    assert denied.status_code == 404 and DEMO_ACCOUNT not in denied.text
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as renshe:
        login(renshe, "officer-renshe")
        page = renshe.get(f"/admin/applications/{app_id}")
        assert 'value="recipient_account"' in page.text
        ok = renshe.post(f"/admin/applications/{app_id}/reveal",
                         data={"csrf_token": csrf_from(page.text), "field": "recipient_account", "reason": "核对银行账号"})
        assert ok.status_code == 200 and DEMO_ACCOUNT in ok.text
    with db() as s:
        assert list(s.scalars(select(Event.after).where(Event.tag == "staff:pii:reveal"))) == [
            {"field": "recipient_account", "reason": "核对银行账号"}]
