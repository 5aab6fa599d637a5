"""Issue 11 item 18: tidy SMS punctuation, staff wording in the staff timeline, 领取人 = 申请人."""
from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from portal.db import transaction
from portal.models import Application, Notification
from portal.services import workflow as wf
from tests.helpers import login
from tests.html_structure import read
from tests.integration.factories import new_application, staff, tasks_by_matter
from tests.integration.test_apply_support import DECEASED_ID, csrf, full_application


def _texts(db, app_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with db() as s:
        return list(s.scalars(select(Notification.body).where(Notification.application_id == app_id)
                              .order_by(Notification.id)))


def test_a_reason_ending_in_punctuation_gives_no_double_punctuation(db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.return_application(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"), "请补充户口簿。")
    other = new_application(db, vault, name="陈德华")
    with transaction(db) as s:
        wf.accept(s, other, s.get(Application, other).version, staff(s, "clerk"))
    with transaction(db) as s:
        t = tasks_by_matter(s, other)
        wf.return_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"), "编号少了一位！", "certificate")
        wf.refuse_task(s, t["cremation"].id, t["cremation"].version, staff(s, "officer-binyiguan"), "已在外地火化.")
    texts = _texts(db, app_id) + _texts(db, other)
    assert any("请补充户口簿。" in t for t in texts) and any("编号少了一位！" in t for t in texts)
    for text in texts:
        assert not re.search(r"[。．.！!？?，,；;]\s*[。．！？，；]", text), text


def _timeline(html: str) -> str:
    box = re.search(r'<ol class="timeline bo-timeline".*?</ol>', html, re.S)
    assert box
    return re.sub(r"<[^>]+>", " ", box.group(0))


def test_the_staff_timeline_speaks_to_staff_and_the_recipient_is_the_applicant(app, client, db) -> None:  # type: ignore[no-untyped-def]
    app_id = full_application(client)  # the family submits through the form; they receive the money themselves
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        hukou = tasks_by_matter(s, app_id)["hukou"]
        wf.return_task(s, hukou.id, hukou.version, staff(s, "officer-gongan"), "请核对死亡证明编号", "certificate")
    fixed = client.post(f"/apply/{app_id}/fix/certificate", data={"csrf_token": csrf(client), "cert_no": DECEASED_ID})
    assert fixed.status_code == 303

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as clerk:
        login(clerk, "clerk")
        html = clerk.get(f"/admin/applications/{app_id}").text
    timeline = _timeline(html)
    assert not re.search(r"[a-z]+:[a-z_]+:[a-z_]+", timeline), timeline  # no raw event codes
    assert "您" not in timeline, timeline  # the family's wording stays on the family's page
    for label in ("家属提交申请", "窗口受理", "退回家属补正", "家属补正", "恢复办理"):
        assert label in timeline, (label, timeline)
    assert "请核对死亡证明编号" in timeline

    rows = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", html, re.S))
    assert rows["领取人手机号"].strip() == "同申请人" and rows["领取人身份证号"].strip() == "同申请人"
    assert "未填写" not in html
    reveal_choices = [a.get("value") for a in read(html).attrs_of_id.values() if a.get("tag") == "option"]
    assert "recipient_phone" not in html.split('id="f-reveal-field"')[-1].split("</select>")[0], reveal_choices
