"""Property-based fuzzing (hypothesis) of every form and every searchable page.

For each POST route that reads a form, and the query parameters of the search and list pages:
hostile strings, numbers out of range, missing and repeated fields (tests/integration/fuzz_support.py).
Asserted for every case: no 5xx, no unescaped echo of the input, no redirect off the site; on the
一表申请 steps and corrections also that nothing already entered is lost: a rejected save keeps
every saved answer and shows again exactly what was typed, a 保存，稍后继续 keeps what was typed,
and no step's save touches another step's answers.

Bounded by example counts (fuzz_settings) and derandomized, so CI runs the same cases every time;
FUZZ_RANDOM=1 explores new ones, FUZZ_SCALE=10 runs ten times as many.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.db import transaction
from portal.domain import application_form as steps
from portal.domain.catalogue import default_catalogue
from portal.domain.reference import APPLICANT_RELATIONS, ASHES_CATEGORIES, ETHNICITIES, PENSION_TYPES, SCENARIOS
from portal.models import Application
from portal.services import applications as drafts
from tests.conftest import csrf_from
from tests.integration import fuzz_support as fz
from tests.integration.test_apply_support import RECIPIENT_ID, answer_all, start, typical

#: POST routes fuzzed here, by test; every POST route of the app must be listed or excused.
FUZZED_POSTS = {
    "/apply/start", "/apply/submit", "/apply/step/{step}", "/apply/step/{step}/check",
    "/apply/{app_id:int}/fix/{step}", "/apply/{app_id:int}/fix/{step}/check",  # test_apply_forms
    "/admin/applications/{app_id:int}/accept", "/admin/applications/{app_id:int}/return",
    "/admin/applications/{app_id:int}/channel", "/admin/applications/{app_id:int}/reveal",
    "/admin/tasks/{task_id:int}/{action:str}",  # test_staff_forms
    "/admin/staff", "/admin/staff/{member_id:int}/active", "/admin/outbox", "/prefs/elder",  # test_admin_forms
}
NOT_FUZZED = {"/logout": "reads no field but the CSRF token (and ends the session the fuzz runs in)"}


def test_every_form_route_is_fuzzed(app) -> None:  # type: ignore[no-untyped-def]
    posts = {r.path for r in app.router.routes if isinstance(r, Route) and "POST" in (r.methods or set())}
    missing = posts - FUZZED_POSTS - set(NOT_FUZZED)
    assert not missing, f"POST routes without a fuzz target in tests/integration/test_fuzz_forms.py: {sorted(missing)}"
    assert not (FUZZED_POSTS - posts), f"fuzz targets for routes that no longer exist: {sorted(FUZZED_POSTS - posts)}"


def _report(capsys: pytest.CaptureFixture[str], group: str, before: int) -> None:
    t = fz.TALLY
    with capsys.disabled():
        print(f"\nfuzz {group}: {t.cases - before} cases; all fuzz so far: {t.cases} cases, "
              f"{t.server_errors} answered 5xx, {t.throttled} throttled (429)")


# --- valid values, so that some cases get past the first check -------------------------------------

def _valid_answers() -> dict[str, list[str]]:
    cat = default_catalogue()
    valid: dict[str, list[str]] = {}
    for answers in typical().values():
        for name, v in answers.items():
            if isinstance(v, str) and v:
                valid.setdefault(name, []).append(v)
    extra = {
        "scenario": [s.code for s in SCENARIOS], "d_ethnicity": [c for c, _ in ETHNICITIES[:3]],
        "d_hukou": ["330302:五马街道", "330381:安阳街道", "330302:", ":"], "body_at_fh": ["yes", "no"],
        "funeral_home": [*cat.county("330302").funeral_homes[:1], steps.OTHER], "funeral_home_other": ["东山殡仪馆"],
        "ashes_category": [c for c, _ in ASHES_CATEGORIES], "pension_type": [c for c, _ in PENSION_TYPES],
        "a_relation": [c for c, _ in APPLICANT_RELATIONS[:3]], "r_relation": [c for c, _ in APPLICANT_RELATIONS[:3]],
        "r_who": ["self", "other"], "r_name": ["林小红"], "r_id": [RECIPIENT_ID], "r_account_confirm": ["yes"],
        "a_phone": ["13800138000"], "pledge": ["yes"], "declaration": ["yes"], "action": ["save", "next"],
    }
    for name, values in extra.items():
        valid.setdefault(name, []).extend(values)
    return valid


VALID = _valid_answers()
KIND = {"death_date": "date", "pickup_date": "date", "death_time": "time", "pickup_time": "time",
        "r_account": "number", "d_id": "number", "r_id": "number", "cert_no": "number", "a_phone": "number"}
MULTI = {"matters": [m.code for m in default_catalogue().requestable_matters()], "flags": [c for c, _, _ in steps.FLAGS]}


def step_form(step: steps.Step) -> st.SearchStrategy[dict[str, Any]]:
    fields = {name: fz.value(MULTI.get(name) or VALID.get(name, ()), kind=KIND.get(name, "text"))
              for name in step.fields if name not in ("r_luhn_ok",)}
    fields["action"] = fz.weighted((2, st.just("save")), (1, st.just("next")), (1, fz.HOSTILE))
    return fz.form(fields, multi=tuple(step.multi))


# --- the family: steps, save for later, check answers, submit, corrections -------------------------

@dataclass
class Family:
    client: TestClient
    account_id: int
    baseline: drafts.Draft
    returned_id: list[int]  # one slot: replaced when a correction went through


def _draft_app(db, account_id: int):  # type: ignore[no-untyped-def]
    with db() as s:
        app = drafts.open_draft(s, account_id)
        return app.id if app else None


def _answers(db, vault, app_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return drafts.read_draft(vault, app).answers


@pytest.fixture
def family(client: TestClient, db, vault) -> Iterator[Family]:  # type: ignore[no-untyped-def]
    from tests.integration.factories import returned_application

    start(client)
    answer_all(client, typical())
    with db() as s:
        app = s.scalar(select(Application).where(Application.status == "draft"))
        assert app is not None
        baseline = drafts.read_draft(vault, app)
        account_id = app.account_id
    assert set(baseline.done) >= {"scenario", "recipient"}
    yield Family(client, account_id, baseline, [returned_application(db, vault)])


def _reset_draft(fam: Family, db, vault) -> int:  # type: ignore[no-untyped-def]
    """Every case starts from the same complete draft (re-opened if a case submitted it)."""
    if _draft_app(db, fam.account_id) is None:
        fam.client.post("/apply/start", data={"csrf_token": csrf_from(fam.client.get("/").text)})
    with transaction(db) as s:
        app = drafts.open_draft(s, fam.account_id)
        assert app is not None
        drafts.write_draft(vault, app, copy.deepcopy(fam.baseline), current_step="check")
        return app.id


def _returned(fam: Family, db, vault) -> int:  # type: ignore[no-untyped-def]
    from tests.integration.factories import returned_application

    with db() as s:
        if s.get(Application, fam.returned_id[0]).status != "returned":  # type: ignore[union-attr]
            fam.returned_id[0] = returned_application(db, vault)
    return fam.returned_id[0]


def _kept(before: dict[str, Any], after: dict[str, Any], step: steps.Step, what: str) -> None:
    """Answers of the other steps are exactly as they were."""
    for name in set(before) | set(after):
        if name not in step.fields and name != "declaration":
            assert before.get(name) == after.get(name), f"{what}: answer {name!r} changed {before.get(name)!r} → {after.get(name)!r}"


EDITABLE = [s for s in steps.STEPS if s.name != "check"]
STEP_FORMS = {s.name: step_form(s) for s in steps.STEPS}  # built once: building strategies is not free
GUIDE_FORM = fz.form({k: fz.value(VALID.get(k, ()), kind=KIND.get(k, "text")) for k in steps.GUIDE_KEYS})


def test_apply_forms(family: Family, db, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    before_total = fz.TALLY.cases
    client = family.client
    token = csrf_from(client.get("/").text)

    @fz.fuzz_settings(examples=260)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(("step", "step", "step", "check", "fix", "fixcheck", "submit", "start")), "kind")
        if kind == "submit":
            app_id = _reset_draft(family, db, vault)
            with db() as s:
                key = s.get(Application, app_id).submit_key  # type: ignore[union-attr]
            posted = data.draw(fz.form({"submit_key": fz.value([key]), "declaration": fz.value(["yes"])}), "form")
            r = fz.send(client, "apply", "POST", "/apply/submit", data={"csrf_token": token, **posted}, follow=True)
            if r.status_code == 200 and _draft_app(db, family.account_id) == app_id:  # re-shown or 已有申请
                _kept(family.baseline.answers, _answers(db, vault, app_id), steps.BY_NAME["check"], f"submit {posted!r}")
            return
        if kind == "start":
            posted = data.draw(GUIDE_FORM, "form")
            fz.send(client, "apply", "POST", "/apply/start", data={"csrf_token": token, **posted}, follow=True)
            return
        step = data.draw(st.sampled_from(EDITABLE if kind.startswith("fix") else steps.STEPS), "step")
        posted = data.draw(STEP_FORMS[step.name], "form")
        if kind in ("step", "check"):
            app_id = _reset_draft(family, db, vault)
            url = f"/apply/step/{step.name}" + ("/check" if kind == "check" else "")
        else:
            app_id = _returned(family, db, vault)
            url = f"/apply/{app_id}/fix/{step.name}" + ("/check" if kind == "fixcheck" else "")
        before = _answers(db, vault, app_id)
        headers = {"HX-Request": "true", "HX-Trigger-Name": data.draw(st.sampled_from(step.fields))} \
            if kind.endswith("check") else None
        r = fz.send(client, "apply", "POST", url, data={"csrf_token": token, **posted}, headers=headers,
                    follow=kind in ("step", "fix"))
        after = _answers(db, vault, app_id)
        what = f"{kind} {step.name} {posted!r}"
        _kept(before, after, step, what)
        if r.status_code == 200:  # shown again: nothing saved, and what was typed is on the page
            assert after == before, f"{what}: a re-shown form changed the saved answers"
            fz.assert_reshown(r.text, posted, step.fields, what)
        elif r.status_code == 303 and r.headers["location"] == "/apply/saved":  # 保存，稍后继续
            for name in step.fields:
                if name not in step.multi and (fz.typed(posted.get(name)) or "").strip():
                    assert after.get(name) not in (None, ""), f"{what}: saved for later, but {name!r} was lost"

    case()
    _report(capsys, "一表申请 (steps, checks, corrections, submit, start)", before_total)
