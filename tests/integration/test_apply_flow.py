"""The whole 一表申请 journey through HTTP: start page, steps, check answers, submit, confirmation."""
from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from portal.domain.application_form import DECLARATION
from portal.models import (
    Application,
    ApplicationMatter,
    CitizenAccount,
    Deceased,
    DepartmentTask,
    Event,
    Party,
    TaskDependency,
)
from tests.helpers import login
from tests.integration.test_apply_support import (
    BAD_LUHN_ACCOUNT,
    DECEASED_ID,
    OLD,
    RECENT,
    RECIPIENT_ID,
    answer_all,
    csrf,
    errors_in,
    full_application,
    post_step,
    start,
    submit,
    typical,
)

# --- start page ----------------------------------------------------------------------------


def test_start_page_for_visitors(client: TestClient) -> None:
    page = client.get("/apply")
    assert page.status_code == 200
    text = page.text
    for words in ("火化前期手续办理", "亡故人户口注销", "住房公积金结算", "注5", "15 分钟", "请先准备好", "提交以后"):
        assert words in text
    assert 'href="/login?next=/apply"' in text


def test_start_needs_login(client: TestClient) -> None:
    r = client.get("/apply/step/scenario")
    assert r.status_code in (302, 303) and r.headers["location"].startswith("/login")


def test_unverified_user_is_told_how_to_verify(client: TestClient) -> None:
    login(client, "unverified", "/apply")
    page = client.get("/apply")
    assert "需要先完成实名认证" in page.text and "浙里办" in page.text
    assert 'action="/apply/start"' not in page.text
    r = client.post("/apply/start", data={"csrf_token": csrf(client)})
    assert r.headers["location"] == "/apply"
    assert client.get("/apply/step/scenario").headers["location"] == "/apply"


def test_passport_user_is_guided_to_the_window(client: TestClient) -> None:
    login(client, "passport", "/apply")
    page = client.get("/apply")
    assert "请到窗口由工作人员代办" in page.text and "乡镇（街道）行政服务中心" in page.text
    r = client.post("/apply/start", data={"csrf_token": csrf(client)})
    assert r.headers["location"] == "/apply"


# --- the typical case ----------------------------------------------------------------------


def test_typical_case_end_to_end(client: TestClient, engine: Engine) -> None:
    assert start(client) == "/apply/step/scenario"
    # every screen: question as h1, back link, one 继续, save-for-later, novalidate form
    answers = typical()
    screens = 0
    for step, data in answers.items():
        page = client.get(f"/apply/step/{step}")
        assert page.status_code == 200, (step, page.headers.get("location"))
        assert page.text.count("<h1") == 1, step
        assert 'class="back-link"' in page.text and "保存，稍后继续" in page.text and ">继续<" in page.text
        assert "novalidate" in page.text
        r = post_step(client, step, data)
        assert r.status_code == 303, (step, errors_in(r.text))
        screens += 1
    assert r.headers["location"] == "/apply/step/check"
    check = client.get("/apply/step/check")
    screens += 1
    assert screens == 10
    assert DECLARATION in html.unescape(check.text)
    assert "确认并提交申请" in check.text
    r = submit(client)
    assert r.status_code == 303
    app_id = int(r.headers["location"].split("/")[2])

    with Session(engine) as s:
        app = s.get(Application, app_id)
        assert app.status == "submitted" and app.submitted_at is not None
        assert re.fullmatch(r"330302-\d{8}-0001", app.number), app.number
        assert app.county_code == "330302" and app.township == "五马街道" and app.scenario == "home"
        d = s.scalar(select(Deceased).where(Deceased.application_id == app_id))
        assert (d.name, d.gender, d.birth_date, d.ethnicity) == ("陈老三", "男", date(1940, 1, 1), "01")
        assert d.age == 86 and d.certificate_type == "medical"
        assert d.certificate_no_bidx == d.id_card_bidx and DECEASED_ID not in d.certificate_no_enc  # sealed
        assert d.body_at_funeral_home is False and d.pickup_address and d.pickup_time is not None
        assert d.ashes_category == "commercial_cemetery" and d.ashes_place == "仙岩公墓"
        assert d.pension_type == "enterprise_retired" and d.civil_pledge_at is not None
        assert DECEASED_ID not in d.id_card_enc
        parties = {p.role: p for p in s.scalars(select(Party).where(Party.application_id == app_id))}
        assert parties["applicant"].name == "陈建国" and parties["applicant"].relation == "child"
        assert parties["recipient"].name == "陈建国" and parties["recipient"].needs_review is False
        assert parties["recipient"].bank_name == "中国农业银行"
        matters = {m.matter_code: m.automatic for m in s.scalars(
            select(ApplicationMatter).where(ApplicationMatter.application_id == app_id))}
        assert matters == {"cremation": False, "hukou": False, "medical": False, "pension": False, "certificate": True}
        tasks = {t.matter_code: t for t in s.scalars(select(DepartmentTask).where(DepartmentTask.application_id == app_id))}
        assert {t.department for t in tasks.values()} == {"binyiguan", "gongan", "yibao", "renshe", "weijian"}
        assert all(t.status == "waiting" and t.county_code == "330302" and t.deadline for t in tasks.values())
        assert tasks["pension"].deadline > tasks["medical"].deadline >= tasks["cremation"].deadline
        deps = s.scalars(select(TaskDependency)).all()
        assert [(d.task_id, d.depends_on_id) for d in deps] == [(tasks["pension"].id, tasks["medical"].id)]
        event = s.scalar(select(Event).where(Event.tag == "citizen:application:submit"))
        assert event.public and app.number in event.summary and event.application_id == app_id

    done = client.get(f"/apply/{app_id}/done")
    assert done.status_code == 200
    assert app.number in done.text
    assert f'href="/my/{app_id}/receipt.pdf"' in done.text and f'href="/my/{app_id}"' in done.text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日前", done.text)
    assert "人力资源和社会保障局" in done.text and "等“医疗保险个人账户清算”办完后开始" in done.text


@pytest.mark.parametrize("scenario,death", [("home", RECENT), ("home", OLD), ("hospital", RECENT),
                                            ("hospital", OLD), ("unnatural", RECENT)])
def test_every_scenario_and_both_certificate_formats(client: TestClient, engine: Engine, scenario: str,
                                                     death: date) -> None:
    start(client)
    answers = typical(death=death, scenario=scenario)
    if scenario == "hospital":
        answers["funeral"] = {"body_at_fh": "yes", "funeral_home": "温州市殡仪馆"}
    answer_all(client, answers, until="certificate")
    page = client.get("/apply/step/certificate")
    new_format = scenario != "unnatural" and death >= date(2026, 7, 1)
    assert (f'value="{DECEASED_ID}"' in page.text) is new_format
    if scenario == "unnatural":
        assert "《死亡证明书》" in page.text
    answer_all(client, {k: v for k, v in answers.items() if k not in ("scenario", "deceased", "death")})
    r = submit(client)
    app_id = int(r.headers["location"].split("/")[2])
    with Session(engine) as s:
        d = s.scalar(select(Deceased).where(Deceased.application_id == app_id))
        assert d.certificate_type == ("police" if scenario == "unnatural" else "medical")
        codes = set(s.scalars(select(DepartmentTask.matter_code).where(DepartmentTask.application_id == app_id)))
        assert ("certificate" in codes) is (scenario != "unnatural")
        if scenario == "hospital":
            assert d.body_at_funeral_home and d.funeral_home == "温州市殡仪馆"


def test_special_groups_add_follow_ups(client: TestClient, engine: Engine) -> None:
    start(client)
    answers = typical()
    answers["matters"] = {**answers["matters"], "flags": ["veteran", "disability", "assistance"]}
    answer_all(client, answers)
    app_id = int(submit(client).headers["location"].split("/")[2])
    with Session(engine) as s:
        rows = s.execute(select(ApplicationMatter.matter_code, ApplicationMatter.automatic)
                         .where(ApplicationMatter.application_id == app_id)).all()
        automatic = {code for code, auto in rows if auto}
        assert automatic == {"certificate", "veteran", "disability", "assistance"}
        depts = set(s.scalars(select(DepartmentTask.department).where(DepartmentTask.application_id == app_id)))
        assert {"tuiyi", "canlian", "minzheng"} <= depts
        d = s.scalar(select(Deceased).where(Deceased.application_id == app_id))
        assert d.is_veteran and d.has_disability_cert and d.receives_assistance
    assert "根据您填写的情况自动办理" in client.get(f"/apply/{app_id}/done").text


def test_public_institution_pension_follows_the_original_process(client: TestClient) -> None:
    start(client)
    answers = typical()
    answer_all(client, answers, until="matters")
    r = post_step(client, "matters", {"pension_type": "public_institution", "matters": ["hukou", "pension"]})
    assert r.status_code == 200 and any("原渠道" in e for e in errors_in(r.text))
    r = post_step(client, "matters", {"pension_type": "public_institution", "matters": ["cremation", "hukou"]})
    assert r.status_code == 303
    post_step(client, "applicant", answers["applicant"])
    # no recipient step without the pension matter
    assert client.get("/apply/step/recipient").headers["location"] == "/apply/step/check"
    assert "丧葬费和抚恤金领取人" not in client.get("/apply/step/check").text


def test_sibling_recipient_is_accepted_and_flagged(client: TestClient, engine: Engine) -> None:
    start(client)
    answers = typical()
    answers["recipient"] = {"r_who": "other", "r_name": "陈小红", "r_relation": "sibling", "r_id": RECIPIENT_ID,
                            "r_bank": "温州银行", "r_account": BAD_LUHN_ACCOUNT}
    answer_all(client, answers, until="recipient")
    r = post_step(client, "recipient", answers["recipient"])
    assert r.status_code == 200
    assert "我已核对，卡号无误" in r.text and BAD_LUHN_ACCOUNT in r.text  # value kept, warning shown
    r = post_step(client, "recipient", {**answers["recipient"], "r_account_confirm": "yes"})
    assert r.status_code == 303
    check = client.get("/apply/step/check")
    assert "不是逝者的直系亲属" in check.text
    app_id = int(submit(client).headers["location"].split("/")[2])
    with Session(engine) as s:
        rec = s.scalar(select(Party).where(Party.application_id == app_id, Party.role == "recipient"))
        assert rec.needs_review and rec.luhn_warning_confirmed and rec.relation == "sibling" and rec.name == "陈小红"


def test_phone_is_asked_only_when_the_login_has_none(client: TestClient, engine: Engine) -> None:
    start(client)
    with Session(engine) as s, s.begin():
        s.query(CitizenAccount).update({CitizenAccount.phone_enc: None})
    answers = typical()
    answer_all(client, answers, until="applicant")
    assert 'name="a_phone"' in client.get("/apply/step/applicant").text
    r = post_step(client, "applicant", {**answers["applicant"], "a_phone": "12345"})
    assert r.status_code == 200 and "f-a_phone" in r.text
    r = post_step(client, "applicant", {**answers["applicant"], "a_phone": "+86 139 0000 1234"})
    assert r.status_code == 303


# --- validation pattern, check answers, save for later -------------------------------------


def test_errors_follow_the_pattern(client: TestClient) -> None:
    start(client)
    post_step(client, "scenario", {"scenario": "home"})
    r = post_step(client, "deceased", {"d_name": "王2", "d_id": "330302194001010011", "d_ethnicity": "01",
                                       "d_hukou": "", "d_address": "解放街188号"})
    assert r.status_code == 200
    text = r.text
    assert "<title>错误：" in text
    assert "请修改以下问题" in text and 'href="#f-d_name"' in text and 'href="#f-d_id"' in text
    assert 'href="#f-d_hukou"' in text and 'data-autofocus' in text
    assert 'aria-invalid="true"' in text
    assert 'value="王2"' in text and 'value="330302194001010011"' in text and 'value="解放街188号"' in text
    assert "身份证号码的最后一位校验不通过" in text


def test_cannot_skip_ahead(client: TestClient) -> None:
    start(client)
    post_step(client, "scenario", {"scenario": "home"})
    r = client.get("/apply/step/matters")
    assert r.headers["location"] == "/apply/step/deceased"
    assert client.get("/apply/step/check").headers["location"] == "/apply/step/deceased"
    assert client.get("/apply/step/nope").status_code == 404


def test_check_answers_shows_unfilled_optionals_and_edit_links(client: TestClient) -> None:
    start(client)
    answer_all(client, typical())
    check = client.get("/apply/step/check").text
    assert check.count("未填写") == 2  # 暂住地, 出殡路线
    assert 'href="/apply/step/deceased?back=check#f-d_name"' in check
    assert '修改<span class="visually-hidden">姓名</span>' in check
    assert "男，1940年1月1日出生" in check and "86岁" in check
    # 修改 returns to check answers
    page = client.get("/apply/step/ashes?back=check")
    assert 'href="/apply/step/check"' in page.text and 'action="/apply/step/ashes?back=check"' in page.text
    r = post_step(client, "ashes", {**typical()["ashes"], "route": "解放街—人民路—殡仪馆"}, back=True)
    assert r.headers["location"] == "/apply/step/check"
    assert "解放街—人民路—殡仪馆" in client.get("/apply/step/check").text
    # adding the pension matter from check answers sends the family to the recipient first
    post_step(client, "matters", {"pension_type": "enterprise_retired", "matters": ["hukou"]}, back=True)
    r = post_step(client, "matters", {"pension_type": "enterprise_retired", "matters": ["hukou", "pension"]}, back=True)
    assert r.headers["location"] == "/apply/step/check"  # recipient answers were kept


def test_declaration_is_required(client: TestClient, engine: Engine) -> None:
    start(client)
    answer_all(client, typical())
    key = re.search(r'name="submit_key" value="([^"]+)"', client.get("/apply/step/check").text).group(1)
    r = client.post("/apply/submit", data={"csrf_token": csrf(client), "submit_key": key})
    assert r.status_code == 200 and "请阅读申请人承诺" in r.text and "<title>错误：" in r.text
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Application).where(Application.status != "draft")) == 0


def test_save_for_later_keeps_unfinished_answers(client: TestClient) -> None:
    start(client)
    post_step(client, "scenario", {"scenario": "home"})
    r = post_step(client, "deceased", {"d_name": "陈老三", "d_id": "33030219400101", "d_ethnicity": "01",
                                       "d_hukou": ""}, action="save")
    assert r.headers["location"] == "/apply/saved"
    assert "已保存" in client.get("/apply/saved").text
    # /apply resumes where the family stopped, with what they typed
    assert client.get("/apply").headers["location"] == "/apply/step/deceased"
    page = client.get("/apply/step/deceased").text
    assert 'value="陈老三"' in page and 'value="33030219400101"' in page
    assert client.get("/apply/step/death").headers["location"] == "/apply/step/deceased"


def test_numbers_count_up_per_county_and_day(client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
    first = full_application(client)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        second = full_application(other, "linxiaoyan", deceased_id="330302193805050021")
    n1 = client.get(f"/apply/{first}/done").text
    assert re.search(r"330302-\d{8}-0001", n1)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as other:
        login(other, "linxiaoyan")
        assert re.search(r"330302-\d{8}-0002", other.get(f"/apply/{second}/done").text)


def test_field_check_for_htmx(client: TestClient) -> None:
    start(client)
    post_step(client, "scenario", {"scenario": "home"})
    r = client.post("/apply/step/deceased/check", data={"csrf_token": csrf(client), "d_id": DECEASED_ID},
                    headers={"HX-Request": "true", "HX-Trigger-Name": "d_id"})
    assert r.status_code == 200 and "根据身份证号码：男，1940年1月1日出生" in r.text
    assert "请修改以下问题" not in r.text  # the empty name is not reported while typing
    r = client.post("/apply/step/deceased/check", data={"csrf_token": csrf(client), "d_id": "330302194001010011"},
                    headers={"HX-Request": "true", "HX-Trigger-Name": "d_id"})
    assert "最后一位校验不通过" in r.text
