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
    "/admin/applications/{app_id:int}/exceptions",
    "/admin/tasks/{task_id:int}/{action:str}",  # test_staff_forms
    "/admin/staff", "/admin/staff/{member_id:int}/active", "/prefs/elder",
    "/admin/applications/{app_id:int}/archive.pdf", "/admin/jobs/{job_id:int}/retry",
    "/admin/jobs/{job_id:int}/cancel", "/admin/api-clients", "/admin/api-clients/webhooks",  # test_admin_forms
}
NOT_FUZZED = {
    "/logout": "reads no field but the CSRF token (and ends the session the fuzz runs in)",
    "/api/v1/token": "OAuth form of the machine interface: schemathesis (test_api_schema.py) and test_api_token.py",
    "/api/v1/tasks/{task_id:int}/actions": "JSON, not a form: schemathesis (test_api_schema.py) and test_api_tasks.py",
    "/api/v1/webhooks": "JSON, not a form: schemathesis (test_api_schema.py) and test_api_webhooks.py",
    "/admin/api-clients/webhooks/{webhook_id:int}/delete": "reads no field but the CSRF token (test_api_webhooks.py)",
    "/admin/api-clients/{client_id:str}/rotate": "reads no field but the CSRF token (test_api_admin.py)",
    "/admin/api-clients/{client_id:str}/revoke": "reads no field but the CSRF token (test_api_admin.py)",
    "/api/v1/events": "JSON CloudEvents of the machine interface: schemathesis (test_api_schema.py) and test_api_events.py",
}
NOT_FUZZED |= {
    "/apply/{draft_id:int}/continue/step/{step}": "the /apply/step/{step} handler and checks, fuzzed there",
    "/apply/{draft_id:int}/continue/step/{step}/check": "the /apply/step/{step}/check handler, fuzzed there",
    "/apply/{draft_id:int}/continue/submit": "reads only the declaration box; intake.submit is fuzzed via /apply/submit",
    "/api/v1/events": "CloudEvents of the machine interface (JSON, bearer token): test_api_events.py",
    # 代办 runs the family's own step handler and checks (apply_steps.fill_step), fuzzed above through
    # /apply/step/{step}; only the draft's owner differs.
    "/admin/proxy/{proxy_id:int}/step/{step}": "the /apply/step/{step} handler and checks, fuzzed there",
    "/admin/proxy/{proxy_id:int}/step/{step}/check": "the /apply/step/{step}/check handler, fuzzed there",
    "/admin/proxy/{proxy_id:int}/submit": "reads only the declaration box; intake.submit is fuzzed via /apply/submit",
}
FUZZED_POSTS |= {"/admin/proxy", "/admin/search",  # test_proxy_application.py, test_case_search.py
                 "/my/phone", "/my/phone/verify", "/my/phone/stop",  # test_text_phone.py
                 "/my/{app_id:int}/access", "/my/{app_id:int}/access/{access_id:int}/revoke",  # test_sharing.py
                 "/admin/report"}  # test_death_report.py


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
    on_form: dict[str, set[str]]  # step -> the fields its page shows this family


def _draft_app(db, account_id: int):  # type: ignore[no-untyped-def]
    with db() as s:
        app = drafts.open_draft(s, account_id)
        return app.id if app else None


def _draft(db, vault, app_id: int) -> drafts.Draft:  # type: ignore[no-untyped-def]
    with db() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return drafts.read_draft(vault, app)


def _answers(db, vault, app_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return _draft(db, vault, app_id).answers


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
    on_form = {s.name: fz.field_names(client.get(f"/apply/step/{s.name}").text) for s in EDITABLE}
    yield Family(client, account_id, baseline, [returned_application(db, vault)], on_form)


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
            assert before.get(name) == after.get(name), \
                f"{what}: answer {name!r} changed {before.get(name)!r} → {after.get(name)!r}"


EDITABLE = [s for s in steps.STEPS if s.name != "check"]
STEP_FORMS = {s.name: step_form(s) for s in steps.STEPS}  # built once: building strategies is not free
GUIDE_FORM = fz.form({k: fz.value(VALID.get(k, ()), kind=KIND.get(k, "text")) for k in steps.GUIDE_KEYS})


def test_apply_forms(family: Family, db, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    before_total = fz.TALLY.cases
    client = family.client
    token = csrf_from(client.get("/").text)

    @fz.fuzz_settings(examples=360)
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
                _kept(family.baseline.answers, _answers(db, vault, app_id), steps.BY_NAME["check"], f"submit {fz.brief(posted)}")
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
        saved = _draft(db, vault, app_id)
        after = saved.answers
        what = f"{kind} {step.name} {fz.brief(posted)}"
        _kept(before, after, step, what)
        if r.status_code == 200:  # shown again: nothing saved, and what was typed is on the page
            assert after == before, f"{what}: a re-shown form changed the saved answers"
            fz.assert_reshown(r.text, posted, step.fields, what)
        elif r.status_code == 303 and r.headers["location"] == "/apply/saved" and step.name not in saved.done:
            # 保存，稍后继续 with answers that do not pass yet: everything typed on the page is kept
            # (a complete save keeps the checked answers, as 继续 does; a_phone is not on the page
            # when the login gave a phone)
            for name in family.on_form.get(step.name, set()) & set(step.fields) - set(step.multi):
                if (fz.typed(posted.get(name)) or "").strip():
                    assert after.get(name) not in (None, ""), f"{what}: saved for later, but {name!r} was lost"

    case()
    _report(capsys, "一表申请 (steps, checks, corrections, submit, start)", before_total)


# --- staff: the window, department tasks ------------------------------------------------------------

@dataclass
class Staffed:
    clients: dict[str, TestClient]
    tokens: dict[str, str]


@pytest.fixture
def staffed(app, db) -> Iterator[Staffed]:  # type: ignore[no-untyped-def]
    """Signed-in clients: the window clerk, two officers, the administrator, the family, a visitor."""
    from contextlib import ExitStack

    from tests.helpers import login

    with ExitStack() as stack:
        clients: dict[str, TestClient] = {}
        tokens: dict[str, str] = {}
        for who in ("clerk", "officer-yibao", "officer-gongan", "admin", "chenjianguo", "anonymous"):
            c = stack.enter_context(TestClient(app, base_url="http://testserver", follow_redirects=False))
            if who != "anonymous":
                login(c, who)
            clients[who], tokens[who] = c, csrf_from(c.get("/").text)
        yield Staffed(clients, tokens)


class Cases:
    """Fixture records in the state the fuzzed actions need, renewed when a case moved them on."""

    def __init__(self, db, vault) -> None:  # type: ignore[no-untyped-def]
        self.db, self.vault = db, vault
        self.submitted: int | None = None
        self.tasks: dict[str, int] = {}

    def submitted_app(self) -> tuple[int, int]:
        from tests.integration.factories import new_application

        with self.db() as s:
            app = s.get(Application, self.submitted) if self.submitted else None
            if app is not None and app.status == "submitted":
                return app.id, app.version
        self.submitted = new_application(self.db, self.vault)
        return self.submitted_app()

    def task_in_progress(self, matter: str, officer: str) -> tuple[int, int, int]:
        """A 医保 or 公安 task that its officer has taken (so complete/refuse/return get that far)."""
        from portal.models import DepartmentTask
        from portal.services import workflow as wf
        from tests.integration.factories import new_application, staff, tasks_by_matter

        with self.db() as s:
            task = s.get(DepartmentTask, self.tasks[matter]) if matter in self.tasks else None
            if task is not None and task.status == "in_progress":
                return task.id, task.version, task.application_id
        app_id = new_application(self.db, self.vault)
        with transaction(self.db) as s:
            app = s.get(Application, app_id)
            wf.accept(s, app_id, app.version, staff(s, "clerk"))  # type: ignore[union-attr]
        with transaction(self.db) as s:
            task = tasks_by_matter(s, app_id)[matter]
            wf.take_task(s, task.id, task.version, staff(s, officer))
            self.tasks[matter] = task.id
        return self.task_in_progress(matter, officer)


def test_staff_forms(staffed: Staffed, db, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    from portal.domain.status import CORRECTION_STEPS
    from portal.services import workflow as wf

    before_total = fz.TALLY.cases
    cases = Cases(db, vault)
    reason = fz.value(["请补充户口簿首页复印件", "核对"])
    window_forms = {
        "accept": fz.form({"version": fz.value(kind="number")}),
        "return": fz.form({"version": fz.value(kind="number"), "reason": reason}),
        "channel": fz.form({"version": fz.value(kind="number"), "channel": fz.value(list(wf.CHANNELS))}),
        "reveal": fz.form({"field": fz.value(list(wf.REVEALABLE)), "reason": reason}),
        "exceptions": fz.form({"exception_id": fz.value(kind="number"), "resolution": reason}),
    }
    task_form = fz.form({
        "version": fz.value(kind="number"), "settlement_amount": fz.value(["-320.50", "1200"], kind="number"),
        "cancelled_on": fz.value(kind="date"), "reason": reason, "refuse_reason": reason,
        "step": fz.value(list(CORRECTION_STEPS)),
    })
    actions = fz.weighted((4, st.sampled_from(("take", "complete", "refuse", "return"))), (1, fz.HOSTILE))

    @fz.fuzz_settings(examples=180)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        if data.draw(st.booleans(), "window"):
            action = data.draw(st.sampled_from(sorted(window_forms)), "action")
            app_id, version = cases.submitted_app()
            posted = data.draw(window_forms[action], "form")
            if data.draw(st.booleans(), "right version"):
                posted["version"] = str(version)
            r = fz.send(staffed.clients["clerk"], "staff", "POST", f"/admin/applications/{app_id}/{action}",
                        data={"csrf_token": staffed.tokens["clerk"], **posted}, follow=True)
            if r.status_code == 303:  # done: the family sees the staff's words on their progress page
                fz.send(staffed.clients["chenjianguo"], "staff", "GET", f"/my/{app_id}")
            return
        matter, officer = data.draw(st.sampled_from((("medical", "officer-yibao"), ("hukou", "officer-gongan"))), "task")
        task_id, version, app_id = cases.task_in_progress(matter, officer)
        action = data.draw(actions, "action")
        posted = data.draw(task_form, "form")
        if data.draw(st.booleans(), "right version"):
            posted["version"] = str(version)
        r = fz.send(staffed.clients[officer], "staff", "POST", f"/admin/tasks/{task_id}/{quote(action, safe='')}",
                    data={"csrf_token": staffed.tokens[officer], **posted}, follow=True)
        if r.status_code == 303:
            fz.send(staffed.clients["chenjianguo"], "staff", "GET", f"/my/{app_id}")

    case()
    _report(capsys, "back office (window and department actions)", before_total)


def test_admin_forms(staffed: Staffed, db, vault, settings, capsys) -> None:  # type: ignore[no-untyped-def]
    from portal.models import Job, StaffMember
    from tests.integration.factories import new_application

    before_total = fz.TALLY.cases
    cat = default_catalogue()
    with transaction(db) as s:
        target = StaffMember(issuer=settings.oidc_issuer, sub="fuzz-target", name="待停用", role="officer",
                             department="minzheng", county_code="330302")
        s.add(target)
        s.flush()
        target_id = target.id
    case_id = new_application(db, vault)  # its archive copy, and the texts it queued (jobs)
    with db() as s:
        job_ids = list(s.scalars(select(Job.id)))
    staff_form = fz.form({
        "sub": fz.value(["zj-u-9001", "zj-u-0101"]), "name": fz.value(["王芳"]),
        "role": fz.value(["window_clerk", "officer", "admin"]), "department": fz.value([d.code for d in cat.departments]),
        "county_code": fz.value([c.code for c in cat.counties]),
    })
    active_form = fz.form({"version": fz.value(kind="number"), "active": fz.value(["1", "0"])})
    api_client_form = fz.form({"name": fz.value(["鹿城区医保局业务系统"]), "department": fz.value([d.code for d in cat.departments]),
                               "county_code": fz.value([c.code for c in cat.counties])})
    webhook_form = fz.form({"client_id": fz.value(["dc_nobody"]), "url": fz.value(["https://example.gov.cn/hook"])})
    elder_form = fz.form({"elder": fz.value(["1", "0"]), "next": fz.value(["/", "/policy", "//evil.example", "/\\evil"])})
    admin, token = staffed.clients["admin"], staffed.tokens["admin"]

    @fz.fuzz_settings(examples=100)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        which = data.draw(st.sampled_from(("staff", "staff", "active", "archive", "job", "elder", "api_client")), "form")
        if which == "staff":
            posted = data.draw(staff_form, "fields")
            fz.send(admin, "admin", "POST", "/admin/staff", data={"csrf_token": token, **posted}, follow=True)
        elif which == "active":
            posted = data.draw(active_form, "fields")
            if data.draw(st.booleans(), "right version"):
                with db() as s:
                    posted["version"] = str(s.get(StaffMember, target_id).version)  # type: ignore[union-attr]
            fz.send(admin, "admin", "POST", f"/admin/staff/{target_id}/active", data={"csrf_token": token, **posted},
                    follow=True)
        elif which == "archive":
            posted = data.draw(fz.form({"archive_reason": fz.HOSTILE}), "fields")
            fz.send(admin, "admin", "POST", f"/admin/applications/{case_id}/archive.pdf",
                    data={"csrf_token": token, **posted}, follow=True)
        elif which == "api_client":
            posted = data.draw(api_client_form, "fields")
            fz.send(admin, "admin", "POST", "/admin/api-clients", data={"csrf_token": token, **posted}, follow=True)
            posted = data.draw(webhook_form, "webhook fields")
            fz.send(admin, "admin", "POST", "/admin/api-clients/webhooks", data={"csrf_token": token, **posted}, follow=True)
        elif which == "job":
            job_id = data.draw(st.one_of(st.sampled_from(job_ids or [1]), st.integers(0, 10**9)), "job")
            verb = data.draw(st.sampled_from(("retry", "cancel")), "verb")
            fz.send(admin, "admin", "POST", f"/admin/jobs/{job_id}/{verb}", data={"csrf_token": token}, follow=True)
        else:
            posted = data.draw(elder_form, "fields")
            visitor = staffed.clients["anonymous"]
            fz.send(visitor, "admin", "POST", "/prefs/elder",
                    data={"csrf_token": staffed.tokens["anonymous"], **posted}, follow=True)

    case()
    _report(capsys, "administration and preferences", before_total)


# --- query parameters of the search and list pages, and ids in paths ---------------------------------

GUIDE_QUERY = fz.form({
    "death_date": fz.value_q(kind="date"), "place": fz.value_q(["home", "hospital", "unnatural", "abroad"]),
    "hukou": fz.value_q(["wenzhou", "other"]), "pension_type": fz.value_q([c for c, _ in PENSION_TYPES]),
    "contribution_years": fz.value_q(["25", "25.5"], kind="number"),
    "years_drawing_pension": fz.value_q(["6"], kind="number"), "local_basic_pension": fz.value_q(["350元"], kind="number"),
    "has": fz.value_q(["veteran", "disability", "assistance", "provident_fund"]),
    "died_abroad": fz.value_q(["1"]), "hukou_in_wenzhou": fz.value_q(["0", "1"]), "veteran": fz.value_q(["1", "true"]),
}, multi=("has",), query=True)
SEARCH_QUERY = fz.form({"q": fz.value_q(["丧葬费", "抚恤金 医保"])}, query=True)
SINCE_QUERY = fz.form({"since": fz.HOSTILE_QUERY}, query=True)
APPLY_QUERY = fz.form({k: fz.value_q(VALID.get(k, ()), kind=KIND.get(k, "text")) for k in (*steps.GUIDE_KEYS, "intro")}, query=True)


def test_search_and_list_queries(staffed: Staffed, db, vault, capsys) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    from portal.services import queues
    from tests.integration.factories import new_application

    before_total = fz.TALLY.cases
    app_id = new_application(db, vault)  # the family's (chenjianguo), for /my/<id>?since=
    c = staffed.clients
    window_query = fz.form({"status": fz.value_q(list(queues.WINDOW_FILTERS)), "q": fz.value_q(["陈", "330302"])}, query=True)
    tasks_query = fz.form({"status": fz.value_q(list(queues.TASK_FILTERS)), "overdue": fz.value_q(["1"]),
                           "q": fz.value_q(["陈"]), "page": fz.db_int(fz.value_q(["1", "2"], kind="number"))}, query=True)
    ids = fz.ints().map(str)
    id_pages = ("/my/{}", "/my/{}/receipt.pdf", "/apply/{}/done", "/apply/{}/fix/deceased",
                "/admin/applications/{}", "/admin/applications/{}/archive.pdf", "/admin/tasks/{}")

    @fz.fuzz_settings(examples=300)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        htmx = {"HX-Request": "true"} if data.draw(st.booleans(), "htmx") else None
        which = data.draw(st.sampled_from(("search", "guide", "plan", "ics", "apply", "verify", "article", "step",
                                           "window", "tasks", "since", "ids")), "page")
        if which == "search":
            fz.send(c["anonymous"], "query", "GET", "/policy/search", params=data.draw(SEARCH_QUERY), headers=htmx)
        elif which in ("guide", "plan", "ics"):
            url = {"guide": "/policy/guide/result", "plan": "/policy/plan", "ics": "/policy/plan.ics"}[which]
            fz.send(c["anonymous"], "query", "GET", url, params=data.draw(GUIDE_QUERY), headers=htmx)
        elif which == "apply":
            who = data.draw(st.sampled_from(("anonymous", "chenjianguo")), "who")
            fz.send(c[who], "query", "GET", "/apply", params=data.draw(APPLY_QUERY))
        elif which in ("verify", "article", "step"):
            prefix = {"verify": "/verify/", "article": "/policy/", "step": "/apply/step/"}[which]
            who = "chenjianguo" if which == "step" else "anonymous"
            fz.send(c[who], "query", "GET", prefix + quote(data.draw(fz.HOSTILE_QUERY, "path"), safe=""))
        elif which == "window":
            fz.send(c["clerk"], "query", "GET", "/admin/window", params=data.draw(window_query))
        elif which == "tasks":
            fz.send(c["officer-gongan"], "query", "GET", "/admin/tasks", params=data.draw(tasks_query))
        elif which == "since":
            since = data.draw(SINCE_QUERY)
            fz.send(c["chenjianguo"], "query", "GET", f"/my/{app_id}", params=since, headers={"HX-Request": "true"})
        else:
            who = data.draw(st.sampled_from(("chenjianguo", "clerk", "officer-gongan")), "who")
            page = data.draw(st.sampled_from(id_pages), "page").format(data.draw(ids, "id"))
            fz.send(c[who], "query", "GET", page)

    case()
    _report(capsys, "search and list queries, ids in paths", before_total)
