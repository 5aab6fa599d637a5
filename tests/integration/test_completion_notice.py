"""办结告知: once every matter is finished, the family reads each result and what is left for them."""
from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from portal.db import transaction
from portal.models import Application, Notification
from portal.services import workflow as wf
from tests.helpers import login
from tests.integration.factories import new_application, staff, tasks_by_matter


def _finish_everything(db, app_id: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(db) as s:
        app = s.get(Application, app_id)
        wf.accept(s, app_id, app.version, staff(s, "clerk"))
    with transaction(db) as s:
        t = tasks_by_matter(s, app_id)
        wf.refuse_task(s, t["cremation"].id, t["cremation"].version, staff(s, "officer-binyiguan"), "已在外地火化")
        wf.complete_task(s, t["hukou"].id, t["hukou"].version, staff(s, "officer-gongan"),
                         {"cancelled_on": wf.today().isoformat()})
        for code, task in t.items():  # the automatic 注5 matters (e.g. the death certificate)
            if code not in ("cremation", "hukou"):
                wf.complete_task(s, task.id, task.version, staff(s, f"officer-{task.department}"), {})


def test_the_family_gets_the_notice_on_the_page_as_a_pdf_and_by_text(db, vault, client) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, scenario="unnatural")
    login(client, "chenjianguo")
    assert "办结告知" not in client.get(f"/my/{app_id}").text
    early = client.get(f"/my/{app_id}/completion.pdf")  # not finished yet: the progress page instead
    assert early.status_code == 303 and early.headers["location"] == f"/my/{app_id}"
    _finish_everything(db, app_id)

    page = client.get(f"/my/{app_id}")
    assert page.status_code == 200 and "办结告知" in page.text
    assert "户口已于" in page.text and "不予办理" in page.text and "银行存款" in page.text

    pdf = client.get(f"/my/{app_id}/completion.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "no-store" in pdf.headers["cache-control"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in ("办结告知", "户口注销", "户口已于", "不予办理", "已在外地火化", "银行存款", "不动产登记中心", "12348"):
        assert expected in text.replace("\n", ""), expected
    with db() as s:
        last = s.scalars(select(Notification.body).where(Notification.application_id == app_id)
                         .order_by(Notification.id.desc())).first()
    assert "办结告知" in last and "。。" not in last


def test_another_family_cannot_read_the_notice(db, vault, client) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault, matters={"cremation", "hukou"}, scenario="unnatural")
    _finish_everything(db, app_id)
    login(client, "linxiaoyan")
    assert client.get(f"/my/{app_id}/completion.pdf").status_code == 404
