"""Acting for relatives (委托) and shared progress (issue 15, item 3): a relative with read-only
access sees the progress and can change nothing through any state-changing route; an agent
corrects what was sent back but not the recipient's bank account; revoking works at once."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.models import Application, CaseAccess, DepartmentTask, Event
from tests.conftest import csrf_from
from tests.helpers import login
from tests.integration.factories import returned_application
from tests.integration.test_apply_support import errors_in

RELATIVE_ID = "330381197508220462"  # linxiaoyan, the persona who is given access


def _client(client: TestClient, who: str) -> TestClient:
    c = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    login(c, who, "/my")
    return c


def _grant(owner: TestClient, app_id: int, **over: str):  # type: ignore[no-untyped-def]
    data = {"kind": "viewer", "g_name": "林晓燕", "g_relation": "child", "g_id": RELATIVE_ID.lower(),
            "g_phone": "19900000002", "agreed": "yes", **over}
    page = owner.get(f"/my/{app_id}/access")
    return owner.post(f"/my/{app_id}/access", data={"csrf_token": csrf_from(page.text), **data})


def _state(db, app_id: int) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None
        tasks = tuple(sorted((t.id, t.version, t.status) for t in s.scalars(
            select(DepartmentTask).where(DepartmentTask.application_id == app_id))))
        grants = tuple(s.scalars(select(CaseAccess.id).where(CaseAccess.revoked_at.is_(None))))
        changes = s.scalar(select(Event.id).where(Event.application_id == app_id,
                                                  Event.tag != "citizen:deceased:in_progress_check")
                           .order_by(Event.id.desc()).limit(1))
        return app.version, app.status, app.draft_blob, app.account_id, tasks, grants, changes


def test_a_relative_with_read_only_access_sees_progress_and_changes_nothing(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    assert _grant(owner, app_id).status_code == 303
    relative = _client(client, "linxiaoyan")
    assert "陈德明" in relative.get("/my").text  # 亲属授权给您的申请
    page = relative.get(f"/my/{app_id}")
    assert page.status_code == 200 and "不能修改内容" in page.text
    assert "/fix/" not in page.text and "receipt.pdf" not in page.text and "/access" not in page.text

    with db() as s:
        task_id = s.scalar(select(DepartmentTask.id).where(DepartmentTask.application_id == app_id))
        access_id = s.scalar(select(CaseAccess.id))
    params = {"app_id": app_id, "task_id": task_id, "access_id": access_id, "proxy_id": app_id, "step": "applicant",
              "action": "take", "member_id": 1, "job_id": 1, "token": "x", "slug": "x", "client_id": "x", "draft_id": app_id}
    before = _state(db, app_id)
    token = csrf_from(relative.get("/").text)
    tried = 0
    for route in client.app.router.routes:
        if not isinstance(route, Route) or not {"POST", "PUT", "PATCH", "DELETE"} & set(route.methods or ()):
            continue
        if route.path == "/logout":
            continue
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(params.get(m.group(1), 1)), route.path)  # other ids: any
        for method in {"POST", "PUT", "PATCH", "DELETE"} & set(route.methods or ()):
            r = relative.request(method, url, data={"csrf_token": token, "a_relation": "child",
                                                    "a_address": "改掉的地址", "declaration": "yes", "version": "1",
                                                    "reason": "x", "code": "123456", "phone": "13800138000"})
            assert r.status_code < 500, (method, url, r.status_code)
            tried += 1
        assert _state(db, app_id) == before, f"{route.path} changed the shared case"
    assert tried >= 20
    for step in ("applicant", "recipient", "deceased"):
        assert relative.get(f"/apply/{app_id}/fix/{step}").status_code == 404
    assert relative.get(f"/my/{app_id}/receipt.pdf").status_code == 404
    assert relative.get(f"/my/{app_id}/access").status_code == 404
    with db() as s:
        views = list(s.scalars(select(Event).where(Event.application_id == app_id, Event.tag == "citizen:access:view")))
    assert views and views[0].actor_name == "林晓燕" and not views[0].public  # the relative's look is kept


def test_revoking_works_at_once(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    _grant(owner, app_id, kind="agent")
    relative = _client(client, "linxiaoyan")
    assert relative.get(f"/my/{app_id}").status_code == 200
    assert relative.get(f"/apply/{app_id}/fix/applicant").status_code == 200
    page = owner.get(f"/my/{app_id}/access")
    revoke = re.search(r'action="(/my/\d+/access/\d+/revoke)"', page.text)
    assert revoke
    assert owner.post(revoke.group(1), data={"csrf_token": csrf_from(page.text)}).status_code == 303
    assert relative.get(f"/my/{app_id}").status_code == 404  # the same session, the next request
    assert relative.get(f"/apply/{app_id}/fix/applicant").status_code == 404
    with db() as s:
        tags = [e.tag for e in s.scalars(select(Event).where(Event.application_id == app_id,
                                                             Event.tag.like("citizen:access:%"))
                                                     .order_by(Event.id))]
    assert tags == ["citizen:access:grant_agent", "citizen:access:view", "citizen:access:revoke_agent"]


def test_an_agent_corrects_but_may_not_change_the_bank_account(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    assert _grant(owner, app_id, kind="agent", g_relation="sibling").status_code == 303  # any family member
    agent = _client(client, "linxiaoyan")
    assert agent.get(f"/apply/{app_id}/fix/recipient").status_code == 404  # the money stays the applicant's call
    assert owner.get(f"/apply/{app_id}/fix/recipient").status_code == 200
    page = agent.get(f"/apply/{app_id}/fix/applicant")
    assert page.status_code == 200 and "陈建国" in page.text  # the applicant stays the applicant
    r = agent.post(f"/apply/{app_id}/fix/applicant", data={"csrf_token": csrf_from(page.text), "a_relation": "child",
                                                           "a_address": "鹿城区五马街道新地址9号"})
    assert r.status_code == 303, errors_in(r.text)
    with db() as s:
        acts = list(s.scalars(select(Event).where(Event.application_id == app_id, Event.actor_name == "林晓燕")))
    assert acts and any("grant" not in e.tag for e in acts)  # the agent's act is in the log under their name


def test_read_only_progress_only_for_close_relatives_and_with_consent(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    r = _grant(owner, app_id, g_relation="sibling", agreed="")
    assert r.status_code == 400
    msgs = " ".join(errors_in(r.text))
    assert "注3" in msgs and "同意" in msgs
    r = _grant(owner, app_id, g_id="33030219620315031X")  # the applicant's own number
    assert r.status_code == 400 and "您本人" in " ".join(errors_in(r.text))
    other = _client(client, "linxiaoyan")
    assert other.get(f"/my/{app_id}/access").status_code == 404  # only the applicant grants
    with db() as s:
        assert s.scalar(select(CaseAccess.id)) is None


def test_hostile_input_never_breaks_the_grant_forms(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import given
    from hypothesis import strategies as st

    from tests.integration import fuzz_support as fz

    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    token = csrf_from(owner.get(f"/my/{app_id}/access").text)
    grant_form = fz.form({"kind": fz.value(["agent", "viewer"]), "g_name": fz.value(["林晓燕"]),
                          "g_relation": fz.value(["child", "sibling", "agent"]), "g_id": fz.value([RELATIVE_ID]),
                          "g_phone": fz.value(["19900000002"]), "agreed": fz.value(["yes"])})

    @fz.fuzz_settings(examples=40)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        if data.draw(st.booleans(), "revoke"):
            access = data.draw(st.integers(0, 10**12), "access")
            fz.send(owner, "access", "POST", f"/my/{app_id}/access/{access}/revoke", data={"csrf_token": token},
                    follow=True)
        else:
            fz.send(owner, "access", "POST", f"/my/{app_id}/access",
                    data={"csrf_token": token, **data.draw(grant_form, "fields")}, follow=True)

    case()


def test_an_agent_continues_the_draft_and_submits_it_for_the_applicant(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_apply_support import answer_all, start, typical

    owner = TestClient(client.app, base_url="http://testserver", follow_redirects=False)
    start(owner)
    answers = typical()
    answer_all(owner, answers, until="death")  # the applicant got as far as the deceased
    with db() as s:
        draft_id = s.scalar(select(Application.id).where(Application.status == "draft"))
    assert f'href="/my/{draft_id}/access"' in owner.get("/my").text
    assert _grant(owner, draft_id, kind="agent", g_relation="child").status_code == 303

    stranger = _client(client, "zhengzhe")  # another citizen continues nothing
    assert stranger.get(f"/apply/{draft_id}/continue/step/check").status_code == 404
    agent = _client(client, "linxiaoyan")
    mine = agent.get("/my").text
    assert f"/apply/{draft_id}/continue/step/check" in mine
    r = agent.get(f"/apply/{draft_id}/continue/step/check")
    assert r.status_code == 303 and r.headers["location"] == f"/apply/{draft_id}/continue/step/death"
    for step in ("death", "certificate", "funeral", "ashes", "matters", "applicant"):
        page = agent.get(f"/apply/{draft_id}/continue/step/{step}")
        assert page.status_code == 200, (step, page.status_code)
        r = agent.post(f"/apply/{draft_id}/continue/step/{step}", data={"csrf_token": csrf_from(page.text),
                                                                         **answers[step]})
        assert r.status_code == 303, (step, errors_in(r.text))
    assert r.headers["location"] == f"/apply/{draft_id}/continue/step/recipient"
    blocked = agent.get(r.headers["location"])
    assert blocked.status_code == 403 and "申请人本人填写" in blocked.text  # the money is the applicant's call
    posted = agent.post(f"/apply/{draft_id}/continue/step/recipient",
                        data={"csrf_token": csrf_from(agent.get("/").text), **answers["recipient"]})
    assert posted.status_code == 403
    # the applicant fills in who is paid; the agent submits for them
    page = owner.get("/apply/step/recipient")
    assert owner.post("/apply/step/recipient", data={"csrf_token": csrf_from(page.text),
                                                     **answers["recipient"]}).status_code == 303
    check = agent.get(f"/apply/{draft_id}/continue/step/check")
    assert check.status_code == 200 and "陈建国" in check.text
    done = agent.post(f"/apply/{draft_id}/continue/submit", data={"csrf_token": csrf_from(check.text),
                                                                   "declaration": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/my/{draft_id}"
    with db() as s:
        app = s.get(Application, draft_id)
        assert app is not None and app.status == "submitted" and app.number
        submit = s.scalar(select(Event).where(Event.application_id == draft_id,
                                              Event.tag == "citizen:application:submit"))
        assert submit is not None and submit.actor_name == "林晓燕"
    assert agent.get(f"/my/{draft_id}").status_code == 200


def test_the_agent_gets_the_field_checks_of_the_applicants_pages(client: TestClient, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = returned_application(db, vault, citizen="chenjianguo")
    owner = _client(client, "chenjianguo")
    _grant(owner, app_id, kind="agent")
    agent = _client(client, "linxiaoyan")
    token = csrf_from(agent.get(f"/apply/{app_id}/fix/applicant").text)
    r = agent.post(f"/apply/{app_id}/fix/applicant/check", data={"csrf_token": token, "a_address": "x" * 300},
                   headers={"HX-Request": "true", "HX-Trigger-Name": "a_address"})
    assert r.status_code == 200 and "联系地址" in r.text
    viewer = _client(client, "zhengzhe")
    assert viewer.post(f"/apply/{app_id}/fix/applicant/check", data={"csrf_token": csrf_from(viewer.get("/").text)},
                       headers={"HX-Request": "true"}).status_code == 404
