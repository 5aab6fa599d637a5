"""Department systems pull their tasks and report results through /api/v1/tasks, by the back
office's rules: scope, dependencies (注4), optimistic locking (If-Match), events and texts."""
from __future__ import annotations

from sqlalchemy import select

from portal.db import transaction
from portal.models import Application, DepartmentTask, Event, Notification
from portal.services import workflow as wf
from tests.integration.api_support import client_headers
from tests.integration.factories import new_application, staff, tasks_by_matter


def accepted(db, vault, county: str = "330302", **kw) -> int:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, county=county, **kw)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app is not None
        wf.accept(s, app_id, app.version, staff(s, "clerk" if county == "330302" else "clerk-ruian"))
    return app_id


def task_id(db, app_id: int, matter: str) -> int:  # type: ignore[no-untyped-def]
    with db() as s:
        return tasks_by_matter(s, app_id)[matter].id


def _problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json" and r.json()["type"] == f"/api/v1/problems/{slug}"
    return r.json()  # type: ignore[no-any-return]


def test_yibao_of_lucheng_reads_and_acts_on_nothing_of_renshe_or_ruian(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    here = accepted(db, vault, "330302")
    ruian = accepted(db, vault, "330381")
    yibao_lucheng = client_headers(client, db, "yibao", "330302")
    renshe_task, ruian_medical = task_id(db, here, "pension"), task_id(db, ruian, "medical")
    own = task_id(db, here, "medical")

    def versions() -> dict[int, int]:
        with db() as s:
            return {t.id: t.version for t in s.scalars(select(DepartmentTask).where(DepartmentTask.id.in_([renshe_task, ruian_medical])))}

    before = versions()
    assert client.get(f"/api/v1/tasks/{own}", headers=yibao_lucheng).status_code == 200
    for other in (renshe_task, ruian_medical, 999_999):
        _problem(client.get(f"/api/v1/tasks/{other}", headers=yibao_lucheng), 404, "not-found")
        r = client.post(f"/api/v1/tasks/{other}/actions", json={"action": "take"}, headers={**yibao_lucheng, "If-Match": '"1"'})
        _problem(r, 404, "not-found")
    feed = client.get("/api/v1/tasks", headers=yibao_lucheng).json()
    assert [t["id"] for t in feed["items"]] == [own]
    assert {(t["department"], t["county_code"]) for t in feed["items"]} == {("yibao", "330302")}
    assert versions() == before  # the refused actions changed nothing
    citywide = client_headers(client, db, "yibao", None)
    assert {t["county_code"] for t in client.get("/api/v1/tasks", headers=citywide).json()["items"]} == {"330302", "330381"}


def test_feed_pages_in_change_order_and_shows_each_change_once(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    apps = [accepted(db, vault) for _ in range(3)]
    h = client_headers(client, db, "gongan", "330302")
    first = client.get("/api/v1/tasks?limit=2", headers=h).json()
    assert len(first["items"]) == 2 and first["has_more"] is True
    second = client.get(f"/api/v1/tasks?limit=2&cursor={first['next_cursor']}", headers=h).json()
    assert len(second["items"]) == 1 and second["has_more"] is False
    seen = [t["id"] for t in first["items"] + second["items"]]
    assert seen == [task_id(db, a, "hukou") for a in apps]
    positions = [t["change_seq"] for t in first["items"] + second["items"]]
    assert positions == sorted(set(positions))
    idle = client.get(f"/api/v1/tasks?cursor={second['next_cursor']}", headers=h).json()
    assert idle == {"items": [], "next_cursor": second["next_cursor"], "has_more": False}
    # a change moves the task to the end of the feed: the next poll finds it, and only it
    target = seen[0]
    etag = client.get(f"/api/v1/tasks/{target}", headers=h).headers["etag"]
    assert client.post(f"/api/v1/tasks/{target}/actions", json={"action": "take"}, headers={**h, "If-Match": etag}).status_code == 200
    later = client.get(f"/api/v1/tasks?cursor={second['next_cursor']}", headers=h).json()
    assert [(t["id"], t["status"]) for t in later["items"]] == [(target, "in_progress")]
    import base64

    huge = base64.urlsafe_b64encode(b"c1:" + b"9" * 21).decode().rstrip("=")  # beyond BIGINT: refused, not a 500
    for bad in ("nonsense", "YzE6LTE", "x" * 41, huge):
        _problem(client.get(f"/api/v1/tasks?cursor={bad}", headers=h), 422, "validation")
    _problem(client.get("/api/v1/tasks?limit=0", headers=h), 422, "validation")
    _problem(client.get("/api/v1/tasks?colour=red", headers=h), 422, "validation")


def test_actions_follow_the_back_office_rules(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = accepted(db, vault)
    medical, pension = task_id(db, app_id, "medical"), task_id(db, app_id, "pension")
    yibao = client_headers(client, db, "yibao", "330302")
    renshe = client_headers(client, db, "renshe", "330302")
    got = client.get(f"/api/v1/tasks/{pension}", headers=renshe)
    assert got.json()["status"] == "waiting" and got.json()["waiting_for"] == ["医疗保险个人账户清算"]
    # 注4: 人社 cannot finish before 医保
    r = client.post(f"/api/v1/tasks/{pension}/actions", headers={**renshe, "If-Match": got.headers["etag"]},
                    json={"action": "complete", "result": {"funeral_grant": "5000", "lump_sum": "20000"}})
    assert "医疗保险" in _problem(r, 409, "conflict")["detail"]
    url = f"/api/v1/tasks/{medical}/actions"
    v = int(client.get(f"/api/v1/tasks/{medical}", headers=yibao).headers["etag"].strip('"'))
    _problem(client.post(url, json={"action": "take"}, headers=yibao), 428, "precondition-required")
    _problem(client.post(url, json={"action": "take"}, headers={**yibao, "If-Match": f'"{v + 5}"'}), 412, "precondition-failed")
    body = _problem(client.post(url, json={"action": "fly"}, headers={**yibao, "If-Match": f'"{v}"'}), 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["action"]
    taken = client.post(url, json={"action": "take"}, headers={**yibao, "If-Match": f'"{v}"'})
    assert taken.status_code == 200 and taken.json()["status"] == "in_progress" and taken.headers["etag"] == f'"{v + 1}"'
    _problem(client.post(url, json={"action": "take"}, headers={**yibao, "If-Match": f'"{v}"'}), 412, "precondition-failed")
    now = {"If-Match": taken.headers["etag"]}
    body = _problem(client.post(url, json={"action": "complete", "result": {}}, headers={**yibao, **now}), 422, "validation")
    assert [e["field"] for e in body["errors"]] == ["result.settlement_amount"]
    body = _problem(client.post(url, json={"action": "complete", "result": {"settlement_amount": "1"}, "message": "空\x00字"},
                                headers={**yibao, **now}), 422, "validation")  # PostgreSQL keeps no NUL: refused first
    body = _problem(client.post(url, json={"action": "complete", "result": {"settlement_amount": -320.5}},
                                headers={**yibao, **now}), 422, "validation")
    assert body["errors"][0]["field"] == "result.settlement_amount"
    done = client.post(url, json={"action": "complete", "result": {"settlement_amount": "-320.50"}, "message": "已清算"},
                       headers={**yibao, **now})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["amount"] == "-320.50"
    assert done.json()["result"] == {"settlement_amount": "-320.50", "deduct_from": "pension"}
    # the dependant started, and 人社's payout carries the deduction
    got = client.get(f"/api/v1/tasks/{pension}", headers=renshe)
    assert got.json()["status"] == "pending" and got.json()["deadline"]
    paid = client.post(f"/api/v1/tasks/{pension}/actions", headers={**renshe, "If-Match": got.headers["etag"]},
                       json={"action": "complete", "result": {"funeral_grant": "5000", "lump_sum": "20000.00"}})
    assert paid.status_code == 200, paid.text
    assert paid.json()["result"]["medical_deduction"] == "320.50" and paid.json()["result"]["net_paid"] == "24679.50"
    with db() as s:
        events = list(s.scalars(select(Event).where(Event.task_id == medical, Event.tag.like("staff:task:%")).order_by(Event.id)))
        assert [(e.tag, e.actor_kind, e.actor_name) for e in events] == [
            ("staff:task:take", "client", "yibao330302系统"), ("staff:task:complete", "client", "yibao330302系统")]
        assert s.get(DepartmentTask, medical).assignee_id is None  # type: ignore[union-attr]
        texts = [n.body for n in s.scalars(select(Notification).where(Notification.application_id == app_id))]
    assert any("医疗保险个人账户清算" in t and "办结" in t for t in texts), texts


def test_refuse_and_return_for_correction(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = accepted(db, vault)
    hukou, cremation = task_id(db, app_id, "hukou"), task_id(db, app_id, "cremation")
    gongan = client_headers(client, db, "gongan", "330302")
    binyiguan = client_headers(client, db, "binyiguan", "330302")
    match = {"If-Match": client.get(f"/api/v1/tasks/{hukou}", headers=gongan).headers["etag"]}
    r = client.post(f"/api/v1/tasks/{hukou}/actions", json={"action": "return", "step": "nowhere", "reason": "请补充户口簿"},
                    headers={**gongan, **match})
    _problem(r, 422, "validation")
    r = client.post(f"/api/v1/tasks/{hukou}/actions", json={"action": "return", "step": "deceased", "reason": "请补充户口簿首页"},
                    headers={**gongan, **match})
    assert r.status_code == 200 and r.json()["status"] == "returned"
    assert r.json()["result"] == {"correction_step": "deceased", "correction_reason": "请补充户口簿首页"}
    etag = client.get(f"/api/v1/tasks/{cremation}", headers=binyiguan).headers["etag"]
    r = client.post(f"/api/v1/tasks/{cremation}/actions", json={"action": "refuse", "reason": "遗体已在外地火化"},
                    headers={**binyiguan, "If-Match": etag})
    assert r.status_code == 200 and r.json()["status"] == "refused" and r.json()["message"] == "遗体已在外地火化"
