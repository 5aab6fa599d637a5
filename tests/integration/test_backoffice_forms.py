"""Issue 11 item 16: the clerk's page has several forms; ids are unique and errors stay with their form."""
from __future__ import annotations

import re

from tests.conftest import csrf_from
from tests.helpers import login
from tests.html_structure import duplicate_ids, read
from tests.integration.factories import new_application


def _version(html: str) -> str:
    m = re.search(r'name="version" value="(\d+)"', html)
    assert m
    return m.group(1)


def _labels_point_into_their_own_form(html: str) -> None:
    page = read(html)
    assert duplicate_ids(page) == []
    for target, form, text in page.labels:
        assert target in page.ids, (text, target)
        assert page.form_of_id[target] == form, (text, target, form)


def test_ids_are_unique_and_labels_point_into_their_own_form(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    html = client.get(f"/admin/applications/{app_id}").text
    assert "退回家属" in html and "查看原因" in html  # both forms are on the page
    _labels_point_into_their_own_form(html)


def test_a_reveal_without_a_reason_shows_its_error_in_the_reveal_form(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    page = client.get(f"/admin/applications/{app_id}")
    bad = client.post(f"/admin/applications/{app_id}/reveal",
                      data={"csrf_token": csrf_from(page.text), "field": "applicant_id", "reason": ""})
    assert bad.status_code == 400
    _labels_point_into_their_own_form(bad.text)
    errors = read(bad.text).errors
    assert [form for _, form, _ in errors] == [f"/admin/applications/{app_id}/reveal#pii"], errors
    assert "请写明查看的原因" in errors[0][2]
    structure = read(bad.text)
    reason = next(i for i, a in structure.attrs_of_id.items()
                  if a.get("name") == "reason" and structure.form_of_id[i].endswith("/reveal#pii"))
    assert structure.attrs_of_id[reason].get("aria-invalid") == "true"
    assert errors[0][0] in structure.attrs_of_id[reason]["aria-describedby"].split()
    # the error summary links to the field that needs fixing
    assert f'href="#{reason}"' in bad.text and bad.text.count("<title>错误：") == 1


def test_a_return_without_a_reason_shows_its_error_in_the_return_form(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    app_id = new_application(db, vault)
    login(client, "clerk")
    page = client.get(f"/admin/applications/{app_id}")
    bad = client.post(f"/admin/applications/{app_id}/return",
                      data={"csrf_token": csrf_from(page.text), "version": _version(page.text), "reason": ""})
    assert bad.status_code == 400
    errors = read(bad.text).errors
    assert [form for _, form, _ in errors] == [f"/admin/applications/{app_id}/return"], errors


def test_the_officer_task_page_has_unique_ids_too(client, db, vault) -> None:  # type: ignore[no-untyped-def]
    from portal.db import transaction
    from portal.models import Application
    from portal.services import workflow as wf
    from tests.integration.factories import staff, tasks_by_matter

    app_id = new_application(db, vault)
    with transaction(db) as s:
        wf.accept(s, app_id, s.get(Application, app_id).version, staff(s, "clerk"))
    with db() as s:
        task_id = tasks_by_matter(s, app_id)["medical"].id
    login(client, "officer-yibao")
    html = client.get(f"/admin/tasks/{task_id}").text
    assert "退回家属补正" in html and "不予办理" in html and "办结这个事项" in html
    _labels_point_into_their_own_form(html)
