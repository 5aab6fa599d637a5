"""Issue 11 item 17: the correction page repeats what the department (or the window) asked for."""
from __future__ import annotations

from portal.db import transaction
from portal.models import Application
from portal.services import workflow as wf
from tests.helpers import login
from tests.integration.factories import new_application, staff, tasks_by_matter


def test_the_correction_page_shows_the_departments_reason(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        hukou = tasks_by_matter(s, app_id)["hukou"]
        wf.return_task(s, hukou.id, hukou.version, staff(s, "officer-gongan"), "死亡证明编号少了一位，请对照证明重新填写",
                       "certificate")
        cremation = tasks_by_matter(s, app_id)["cremation"]
        wf.return_task(s, cremation.id, cremation.version, staff(s, "officer-binyiguan"), "请写明公墓的具体名称", "ashes")
    login(client, "chenjianguo")
    page = client.get(f"/apply/{app_id}/fix/certificate")
    assert page.status_code == 200
    text = page.text
    assert "死亡证明编号少了一位，请对照证明重新填写" in text
    assert "公安局" in text and "亡故人户口注销" in text  # who asked, for which matter
    assert "请写明公墓的具体名称" not in text  # another step's request is on its own page
    assert "请写明公墓的具体名称" in client.get(f"/apply/{app_id}/fix/ashes").text


def test_the_correction_page_shows_the_windows_reason(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.return_application(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"),
                              "请补充逝者户籍详细地址的门牌号")
    login(client, "chenjianguo")
    text = client.get(f"/apply/{app_id}/fix/deceased").text
    assert "请补充逝者户籍详细地址的门牌号" in text and "窗口" in text
