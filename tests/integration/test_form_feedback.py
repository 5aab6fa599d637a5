"""Issue 11 items 14 and 15: long text is refused in words (never cut off), a failed Luhn check is a warning."""
from __future__ import annotations

from starlette.testclient import TestClient

from tests.html_structure import read
from tests.integration.test_apply_support import BAD_LUHN_ACCOUNT, answer_all, post_step, start, typical


def test_a_card_number_failing_luhn_is_a_gentle_warning_not_an_error(client: TestClient) -> None:
    start(client)
    answers = typical()
    answers["recipient"] = {**answers["recipient"], "r_account": BAD_LUHN_ACCOUNT}
    answer_all(client, answers, until="recipient")
    page = post_step(client, "recipient", answers["recipient"])
    assert page.status_code == 200  # still asks the family to confirm before going on
    html = page.text
    assert "<title>错误：" not in html and "error-summary" not in html and "field--error" not in html
    structure = read(html)
    assert structure.errors == []  # nothing is shown as an error
    assert all(a.get("aria-invalid") != "true" for a in structure.attrs_of_id.values())
    assert structure.attrs_of_id["f-r_account"]["value"] == BAD_LUHN_ACCOUNT  # kept as typed
    warning = structure.attrs_of_id["f-r_account_confirm-warning"]
    assert "warning-text" in warning["class"]
    assert "f-r_account_confirm-warning" in structure.attrs_of_id["f-r_account_confirm"]["aria-describedby"]
    assert "我已核对，卡号无误" in html
    confirmed = post_step(client, "recipient", {**answers["recipient"], "r_account_confirm": "yes"})
    assert confirmed.status_code == 303
