"""The family's progress page: own applications only, words for every status, htmx polling."""
from __future__ import annotations

import re

from portal.db import transaction
from portal.models import Application
from portal.services import workflow as wf
from tests.helpers import login
from tests.integration.factories import new_application, staff, tasks_by_matter


def test_a_citizen_sees_only_their_own_progress(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    mine = new_application(db, vault, citizen="chenjianguo", name="陈德明")
    theirs = new_application(db, vault, citizen="linxiaoyan", name="林国平")
    assert client.get(f"/my/{mine}").status_code in (302, 303)  # login first
    login(client, "chenjianguo")
    listing = client.get("/my")
    assert listing.status_code == 200 and "陈德明" in listing.text and "林国平" not in listing.text
    assert client.get(f"/my/{mine}").status_code == 200
    assert client.get(f"/my/{theirs}").status_code == 404
    assert client.get("/my/999999").status_code == 404


def test_progress_page_shows_each_matter_in_words(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "chenjianguo")
    page = client.get(f"/my/{app_id}")
    assert "已提交，等待窗口受理" in page.text and "窗口受理后开始办理" in page.text
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        wf.take_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"))
        wf.complete_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"),
                         {"cancelled_on": wf.today().isoformat()})
        wf.return_task(s, t["cremation"].id, t["cremation"].version, staff(s, "officer-binyiguan"),
                       "骨灰安放地点没写具体名称", "ashes")
        wf.refuse_task(s, t["certificate"].id, t["certificate"].version, staff(s, "officer-weijian"), "证明已由医院核验")
        wf.take_task(s, t["medical"].id, t["medical"].version, staff(s, "officer-yibao"))
    page = client.get(f"/my/{app_id}")
    text = page.text
    assert "暂不能开始（等待：医疗保险个人账户清算）" in text
    assert "办理中" in text and "已办结" in text and "需补正" in text
    assert "不予办理" in text and "原因：证明已由医院核验" in text
    assert f"户口已于{wf.today().year}年" in text
    assert f'href="/apply/{app_id}/fix/ashes"' in text and "修改骨灰安放" in text
    assert "承诺办结" in text and "户口注销" in text and "还有" in text  # personal deadline list
    assert f"/my/{app_id}/receipt.pdf" in text
    assert "窗口已受理您的申请" in text  # family timeline from public events
    assert "黄丽华" not in text  # staff names are not shown to families


def test_htmx_poll_returns_the_block_or_204_when_unchanged(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "chenjianguo")
    full = client.get(f"/my/{app_id}")
    stamp = re.search(r'data-stamp="([0-9a-f]+)"', full.text).group(1)
    assert f'hx-get="/my/{app_id}?since={stamp}"' in full.text and 'hx-trigger="every 10s"' in full.text
    same = client.get(f"/my/{app_id}?since={stamp}", headers={"HX-Request": "true"})
    assert same.status_code == 204
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    fresh = client.get(f"/my/{app_id}?since={stamp}", headers={"HX-Request": "true"})
    assert fresh.status_code == 200
    assert fresh.text.lstrip().startswith('<div id="progress"') and "<html" not in fresh.text
    assert "已受理，各部门办理中" in fresh.text


def test_overdue_task_is_marked(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        tasks_by_matter(s, app_id)["medical"].deadline = wf.today() - timedelta(days=2)
    login(client, "chenjianguo")
    assert "已超过承诺时间" in client.get(f"/my/{app_id}").text


def test_family_fixes_the_named_step_and_only_that_matter_resumes(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    """Applications built like the demo seed carry the family's answers, so the correction loop works."""
    from tests.conftest import csrf_from

    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        wf.return_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"), "请核对证明编号", "certificate")
        wf.take_task(s, t["medical"].id, t["medical"].version, staff(s, "officer-yibao"))
    login(client, "chenjianguo")
    progress = client.get(f"/my/{app_id}")
    assert f'href="/apply/{app_id}/fix/certificate"' in progress.text
    form = client.get(f"/apply/{app_id}/fix/certificate")
    assert form.status_code == 200, form.text[:300]
    cert = re.search(r'name="cert_no"[^>]*value="([^"]*)"', form.text) or re.search(r'value="([^"]*)"[^>]*name="cert_no"', form.text)
    done = client.post(f"/apply/{app_id}/fix/certificate",
                       data={"csrf_token": csrf_from(form.text), "cert_no": cert.group(1) if cert else ""})
    assert done.status_code == 303, re.findall(r'class="field-error"[^>]*>(.*?)</p>', done.text)
    with db() as s:
        t = tasks_by_matter(s, app_id)
        assert t["hukou"].status == "pending" and t["medical"].status == "in_progress"
