"""Issue 11 item 13: the confirmation page, the progress page and the receipt promise the same date.

Before the window accepts, every matter shows an expected date (预计), the matter that waits on
another (人社 after 医保, 注2/注4) included, counted after its prerequisite's date; once the clock
runs the date is firm. All three read portal.services.deadlines, so they cannot disagree.
"""
from __future__ import annotations

import re

from pdf.receipt import render_html
from portal.db import transaction
from portal.domain.deadlines import due_on, promise_text
from portal.domain.status import cn_date
from portal.models import Application
from portal.services import deadlines, receipts
from portal.services import workflow as wf
from tests.helpers import login
from tests.integration.factories import new_application, staff, tasks_by_matter

NAMES = {"cremation": "火化前期手续办理", "hukou": "亡故人户口注销", "medical": "医疗保险个人账户清算",
         "pension": "养老保险停发、丧葬费和抚恤金申领"}


def _progress_dates(html: str) -> dict[str, str]:
    """matter name -> the date line of its row on the progress page."""
    out = {}
    for name, code in ((n, c) for c, n in NAMES.items()):
        row = re.search(rf'<h3 class="task-name">{re.escape(name)}</h3>(.*?)</li>', html, re.S)
        assert row, name
        line = re.search(r'class="task-date"[^>]*>(.*?)</p>', row.group(1), re.S)
        out[code] = re.sub(r"<[^>]+>", "", line.group(1)).strip() if line else ""
    return out


def _receipt_dates(settings, vault, db, app_id: int) -> tuple[dict[str, str], str]:  # noqa: ANN001
    with transaction(db) as s:
        view = receipts.receipt_view(s, vault, s.get(Application, app_id), settings, token="t")
    return {code: next(m.deadline for m in view.matters if m.name == name) for code, name in NAMES.items()}, \
        render_html(view, copy="family")


def test_expected_dates_before_acceptance_are_the_same_everywhere(settings, client, db, vault) -> None:  # noqa: ANN001
    app_id = new_application(db, vault)
    today = wf.today()
    expected = {code: due_on(today, wf.time_limit(code)) for code in ("cremation", "hukou", "medical")}
    expected["pension"] = due_on(expected["medical"], wf.time_limit("pension"))  # starts after 医保 (注2)

    login(client, "chenjianguo")
    progress = _progress_dates(client.get(f"/my/{app_id}").text)
    done = client.get(f"/apply/{app_id}/done").text
    on_receipt, html = _receipt_dates(settings, vault, db, app_id)

    for code, due in expected.items():
        assert cn_date(due) in progress[code] and "预计" in progress[code], (code, progress[code])
        assert f"预计{cn_date(due)}前" in on_receipt[code], (code, on_receipt[code])
        assert f"预计{cn_date(due)}前" in done
    assert expected["pension"] > expected["medical"]
    assert "受理后确定具体日期" not in html  # no longer contradicts the dates it prints


def test_firm_dates_after_acceptance_and_the_dependent_one_stays_expected(settings, client, db, vault) -> None:  # noqa: ANN001
    app_id = new_application(db, vault)
    accepted_on = wf.today()
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"), on=accepted_on)
    with transaction(db) as s:
        tasks = tasks_by_matter(s, app_id)
        firm = {c: tasks[c].deadline for c in ("cremation", "hukou", "medical")}
        pension_stored = tasks["pension"].deadline
    pension = due_on(firm["medical"], wf.time_limit("pension"))
    assert pension_stored == pension  # the workflow stores the same date it promised

    login(client, "chenjianguo")
    progress = _progress_dates(client.get(f"/my/{app_id}").text)
    done = client.get(f"/apply/{app_id}/done").text
    on_receipt, _ = _receipt_dates(settings, vault, db, app_id)
    for code, due in firm.items():
        assert cn_date(due) in progress[code] and "预计" not in progress[code], (code, progress[code])
        assert on_receipt[code].endswith(f"{cn_date(due)}前") and "预计" not in on_receipt[code]
    assert cn_date(pension) in progress["pension"] and "预计" in progress["pension"]  # the waiting one has a date too
    assert on_receipt["pension"] == f"预计{cn_date(pension)}前"
    assert f"预计{cn_date(pension)}前" in done


def test_a_returned_prerequisite_pauses_the_dependent_date(settings, client, db, vault) -> None:  # noqa: ANN001
    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with transaction(db) as s:
        med = tasks_by_matter(s, app_id)["medical"]
        wf.return_task(s, med.id, med.version, staff(s, "officer-yibao"), "请补充医疗费票据", "applicant")
    login(client, "chenjianguo")
    progress = _progress_dates(client.get(f"/my/{app_id}").text)
    assert "补正后" in progress["medical"] and "补正后" in progress["pension"]
    with transaction(db) as s:
        promised = deadlines.promises(s.get(Application, app_id), on=wf.today())
    assert promise_text(promised["pension"]) == "补正后重新计算"
