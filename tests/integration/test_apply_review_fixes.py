"""Review findings on the 一表申请: what corrections may change, masking on screen, removed matters."""
from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.models import Application, ApplicationMatter, DepartmentTask, Party, TaskDependency
from portal.services import submission
from tests.integration.test_apply_support import (
    DECEASED_ID,
    DECEASED_ID_2,
    GOOD_ACCOUNT,
    OLD,
    RECIPIENT_ID,
    answer_all,
    csrf,
    full_application,
    start,
    typical,
)

APPLICANT_ID = "33030219620315031X"  # chenjianguo's login (auth/personas.toml)
APPLICANT_PHONE = "19900000001"


def _return(engine: Engine, app_id: int, matter: str | None, step: str) -> None:
    """A department returns `matter` for `step`; matter None = the window returns the whole application."""
    with Session(engine) as s, s.begin():
        if matter is None:
            s.get(Application, app_id).status = "returned"
            return
        task = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == matter))
        task.status = "returned"
        task.result = {"correction_step": step, "correction_reason": "请核对"}


def _fix(client: TestClient, app_id: int, step: str, data: dict[str, Any]) -> Any:
    return client.post(f"/apply/{app_id}/fix/{step}", data={"csrf_token": csrf(client), **data})


def _tasks(engine: Engine, app_id: int) -> list[DepartmentTask]:
    with Session(engine) as s:
        return list(s.scalars(select(DepartmentTask).where(DepartmentTask.application_id == app_id)))


# --- 1. corrections cannot move the case or change its tasks -------------------------------------


def test_fix_refuses_another_county_but_allows_another_township(client: TestClient, engine: Engine) -> None:
    app_id = full_application(client)
    _return(engine, app_id, "hukou", "deceased")
    deceased = typical()["deceased"]
    r = _fix(client, app_id, "deceased", {**deceased, "d_hukou": "330303:永中街道", "d_address": "新地址9号"})
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "户籍所在县（市、区）不能在网上修改" in text and "12345" in text and "乡镇（街道）窗口" in text
    assert 'id="f-d_hukou-error"' in r.text or "f-d_hukou" in r.text
    assert 'value="新地址9号"' in r.text  # what the family typed is kept
    with Session(engine) as s:
        app_row = s.get(Application, app_id)
        assert app_row.county_code == "330302" and app_row.township == "五马街道"
    assert {t.county_code for t in _tasks(engine, app_id)} == {"330302"}
    # another township of the same county is fine
    r = _fix(client, app_id, "deceased", {**deceased, "d_hukou": "330302:松台街道"})
    assert r.status_code == 303
    with Session(engine) as s:
        app_row = s.get(Application, app_id)
        assert app_row.county_code == "330302" and app_row.township == "松台街道"


def test_fix_refuses_a_change_of_the_task_set(client: TestClient, engine: Engine) -> None:
    app_id = full_application(client)
    _return(engine, app_id, None, "matters")  # the window returned the whole application
    before = sorted(t.matter_code for t in _tasks(engine, app_id))
    # dropping the pension would leave an open pension task without anyone to pay
    r = _fix(client, app_id, "matters", {"pension_type": "enterprise_retired",
                                         "matters": ["cremation", "hukou", "medical"]})
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "增加或取消部门要办理的事项" in text and "12345" in text
    # adding a matter or a flag (an automatic follow-up) is refused too
    for data in ({"pension_type": "enterprise_retired", "matters": ["cremation", "hukou", "medical", "pension",
                                                                    "provident"]},
                 {"pension_type": "enterprise_retired", "matters": ["cremation", "hukou", "medical", "pension"],
                  "flags": ["veteran"]}):
        assert _fix(client, app_id, "matters", data).status_code == 200
    # a different scenario would add or drop the certificate check
    assert _fix(client, app_id, "scenario", {"scenario": "unnatural"}).status_code == 200
    assert sorted(t.matter_code for t in _tasks(engine, app_id)) == before
    with Session(engine) as s:
        assert s.scalar(select(Party).where(Party.application_id == app_id, Party.role == "recipient")) is not None
        assert sorted(m.matter_code for m in s.scalars(
            select(ApplicationMatter).where(ApplicationMatter.application_id == app_id))) == before
    # a pension type that keeps the same matters may be corrected
    r = _fix(client, app_id, "matters", {"pension_type": "enterprise_working",
                                         "matters": ["cremation", "hukou", "medical", "pension"]})
    assert r.status_code == 303


def test_correction_service_refuses_too(client: TestClient, engine: Engine, app) -> None:  # type: ignore[no-untyped-def]
    app_id = full_application(client)
    svc = app.state.services if hasattr(app.state, "services") else None
    if svc is None:
        pytest.skip("no services on app.state")
    from portal.domain import application_form as steps
    from portal.services.applications import applicant_facts
    from portal.services.events import Actor
    with Session(engine) as s:
        app_row = s.get(Application, app_id)
        facts = applicant_facts(s, svc.vault, app_row.account_id)
        with pytest.raises(submission.CorrectionRefused):
            submission.apply_correction(s, svc.vault, app_row, steps.BY_NAME["matters"],
                                        {"pension_type": "enterprise_retired", "flags": [], "matters": ["cremation"]},
                                        facts, Actor("citizen", app_row.account_id, "陈建国", None))
        # and materialize never drops the recipient while a pension task is on the case
        answers = submission.read_draft(svc.vault, app_row).answers
        submission.materialize(s, svc.vault, app_row, {**answers, "matters": ["cremation"]}, facts)
        s.flush()
        assert s.scalar(select(Party).where(Party.application_id == app_id, Party.role == "recipient")) is not None
        s.rollback()


def test_correction_conflict_rules() -> None:
    base = {"d_hukou": "330302:五马街道", "scenario": "home", "pension_type": "enterprise_retired",
            "flags": [], "matters": ["cremation", "pension"]}
    assert submission.correction_conflict(base, {**base, "d_hukou": "330302:松台街道"}) is None
    assert submission.correction_conflict(base, {**base, "d_hukou": "330303:永中街道"}).field == "d_hukou"
    assert submission.correction_conflict(base, {**base, "pension_type": "resident"}) is None
    assert submission.correction_conflict(base, {**base, "pension_type": "public_institution"}).field == "pension_type"
    assert submission.correction_conflict(base, {**base, "matters": ["cremation"]}).field == "matters"
    assert submission.correction_conflict(base, {**base, "flags": ["assistance"]}).field == "matters"
    assert submission.correction_conflict(base, {**base, "scenario": "hospital"}) is None  # both add 死亡证明核验
    assert submission.correction_conflict(base, {**base, "scenario": "unnatural"}).field == "scenario"


# --- 2. only the tasks returned for the fixed step resume ----------------------------------------


def test_resume_is_told_which_step_was_fixed(client: TestClient, engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import portal.services.workflow as workflow

    calls: list[dict[str, Any]] = []

    def resume(session, application, actor, *, step=None):  # type: ignore[no-untyped-def]
        calls.append({"step": step})
        return []

    monkeypatch.setattr(workflow, "resume_after_correction", resume)
    app_id = full_application(client)
    _return(engine, app_id, "pension", "recipient")
    _return(engine, app_id, "certificate", "certificate")
    r = _fix(client, app_id, "recipient", typical()["recipient"])
    assert r.status_code == 303 and calls == [{"step": "recipient"}]
    calls.clear()
    answers = typical()
    r = _fix(client, app_id, "death", answers["death"])  # 去世时间 belongs to the certificate here
    assert r.status_code == 303 and calls == [{"step": "certificate"}]


# --- 3. fix mode cannot turn the case into a duplicate of another family's -----------------------


def test_fix_refuses_the_id_of_a_deceased_already_in_progress(app, client: TestClient, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        full_application(other, "linxiaoyan", deceased_id=DECEASED_ID_2, death=OLD)
    app_id = full_application(client, death=OLD)
    _return(engine, app_id, "hukou", "deceased")
    r = _fix(client, app_id, "deceased", {**typical()["deceased"], "d_name": "陈老四", "d_id": DECEASED_ID_2})
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert "已经有一份申请在办理中" in text and "12345" in text
    assert 'value="陈老四"' in r.text  # kept
    with Session(engine) as s:
        mine = s.get(Application, app_id)
        assert mine.deceased.name == "陈老三"


# --- 5. personal numbers are masked on screen ----------------------------------------------------


def test_personal_numbers_masked_on_screen(client: TestClient) -> None:
    start(client)
    answers = typical()
    answers["recipient"] = {"r_who": "other", "r_name": "陈小红", "r_relation": "child", "r_id": RECIPIENT_ID,
                            "r_bank": "温州银行", "r_account": GOOD_ACCOUNT}
    answer_all(client, answers, until="applicant")
    page = client.get("/apply/step/applicant").text
    assert APPLICANT_ID not in page and "3303**********031X" in page
    assert APPLICANT_PHONE not in page and "199****0001" in page
    answer_all(client, {k: answers[k] for k in ("applicant", "recipient")})
    check = client.get("/apply/step/check").text
    for secret in (APPLICANT_ID, APPLICANT_PHONE, RECIPIENT_ID, GOOD_ACCOUNT):
        assert secret not in check, secret
    assert "3303**********031X" in check and "3303**********0044" in check and "6222 **** **** **** 0128" in check
    # the field the family edits still holds what they typed
    assert f'value="{GOOD_ACCOUNT}"' in client.get("/apply/step/recipient?back=check").text


# --- 6. a matter removed from the catalogue does not break the confirmation ----------------------


def test_confirmation_survives_a_removed_matter(client: TestClient, engine: Engine) -> None:
    app_id = full_application(client)
    with Session(engine) as s, s.begin():
        task = s.scalar(select(DepartmentTask).where(DepartmentTask.application_id == app_id,
                                                     DepartmentTask.matter_code == "medical"))
        task.matter_code, task.department = "retired_matter", "gone_department"
        assert s.scalar(select(TaskDependency.task_id).where(TaskDependency.depends_on_id == task.id)) is not None
    r = client.get(f"/apply/{app_id}/done")
    assert r.status_code == 200
    assert "retired_matter" in r.text and "gone_department" in r.text
    assert DECEASED_ID not in r.text
