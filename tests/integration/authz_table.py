"""Who may use which route: the expected authorisation decision, written once, as data.

`EXPECTED` maps every (route path, method) of the portal's route table to the roles that are
ALLOWED; every other role must be DENIED. `test_authz_matrix.py` requests every cell of
route × role and compares. A route without an entry here fails that test: deciding who may
use a new route is part of adding it.

The request behind each cell is aimed at one fixture application (see the test): submitted by
`family` in 鹿城区 (the county of `clerk`), then returned by the window (so the correction pages
open), with a task for 公安 (the department of `officer`). Path parameters are real ids of that
application, so a 404 means "not yours", never "no such thing".

What allowed and denied mean
- DENIED, anonymous visitor: a redirect to /login (they may be allowed once signed in), or a 404
  where the portal hides that the thing exists (the family's receipt). Never the page.
- DENIED, signed-in person: 403 (the role may never use the route) or 404 (the route is for
  their role, but this record is outside their county / department / account: the portal does
  not reveal that it exists).
- ALLOWED: anything else below 500 — the page (200), a redirect that is not to /login (e.g.
  after a POST, or to the step to fill in next), or a business refusal of the minimal form the
  matrix sends (400 invalid, 409 wrong version / state). The matrix checks the permission
  decision, not the outcome of the action.
- 5xx, a 403 for a failed CSRF check, or 429 (throttled) decide nothing and fail the cell.

The machine interface (/api/v1) ignores the browser's cookie: a department system calls it with a
bearer token (tests/integration/test_api_scope.py checks clients of each department and county).
Its protected routes are NOBODY here: every role of this matrix gets 401 problem+json.

HEAD is answered by the GET handler and is expected to decide exactly as GET (not written twice).
"""
from __future__ import annotations

ANONYMOUS = "anonymous"
FAMILY = "family"  # the applicant of the fixture application
OTHER_FAMILY = "other_family"  # another citizen, with no application of their own
CLERK = "clerk"  # window clerk of the application's county (鹿城区)
CLERK_OTHER_COUNTY = "clerk_other_county"  # window clerk of 瑞安市
OFFICER = "officer"  # 公安 officer of 鹿城区: the application has a 公安 task there
OFFICER_OTHER_DEPARTMENT = "officer_other_department"  # 残联 officer of 鹿城区: no task in it
OFFICER_OTHER_COUNTY = "officer_other_county"  # 公安 officer of 瑞安市
ADMIN = "admin"
HOTLINE = "hotline"  # 12345 operator of 鹿城区: reports deaths, sees no case
GRID = "grid_worker"  # 网格员 of 鹿城区: reports deaths, sees no case

#: role -> demo persona (auth/personas.toml) that plays it; None = not signed in.
PERSONAS: dict[str, str | None] = {
    ANONYMOUS: None,
    FAMILY: "chenjianguo",
    OTHER_FAMILY: "linxiaoyan",
    CLERK: "clerk",
    CLERK_OTHER_COUNTY: "clerk-ruian",
    OFFICER: "officer-gongan",
    OFFICER_OTHER_DEPARTMENT: "officer-canlian",
    OFFICER_OTHER_COUNTY: "officer-gongan-ruian",
    ADMIN: "admin",
    HOTLINE: "hotline",
    GRID: "grid",
}
ROLES = tuple(PERSONAS)

# --- groups of roles ------------------------------------------------------------------------
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}  # staff are citizens too: the citizen pages serve their own records
OWNER = frozenset({FAMILY})
STAFF = frozenset({CLERK, CLERK_OTHER_COUNTY, OFFICER, OFFICER_OTHER_DEPARTMENT, OFFICER_OTHER_COUNTY, ADMIN})
WINDOW = frozenset({CLERK, CLERK_OTHER_COUNTY, ADMIN})  # window pages, not tied to one application
WINDOW_OF_COUNTY = frozenset({CLERK, ADMIN})  # window actions on this application
OFFICERS = frozenset({OFFICER, OFFICER_OTHER_DEPARTMENT, OFFICER_OTHER_COUNTY})
CASE_VIEWERS = frozenset({CLERK, OFFICER, ADMIN})  # staff who may view this application
TASK_WORKER = frozenset({OFFICER})  # the department and county of the task
ADMINS = frozenset({ADMIN})
REPORTERS = frozenset({HOTLINE, GRID})
NOBODY: frozenset[str] = frozenset()  # /api/v1 with a cookie and no bearer token: 401 for everyone

#: (route path as declared, method) -> roles allowed.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # site
    ("/", "GET"): EVERYONE,
    ("/healthz", "GET"): EVERYONE,
    ("/prefs/elder", "POST"): EVERYONE,
    # login
    ("/login", "GET"): EVERYONE,
    ("/auth/callback", "GET"): EVERYONE,  # without a valid code it answers 400 to anyone
    ("/logout", "POST"): EVERYONE,
    # 一表申请 (each signed-in person works on their own draft)
    ("/apply", "GET"): EVERYONE,
    ("/apply/start", "POST"): SIGNED_IN,
    ("/apply/saved", "GET"): SIGNED_IN,
    ("/apply/in-progress", "GET"): SIGNED_IN,
    ("/apply/claim/{token}", "GET"): SIGNED_IN,  # an invitation to a proactive case; a wrong token leads to /apply
    ("/apply/submit", "POST"): OWNER,  # the form names the family's own draft (submit_key)
    ("/apply/step/{step}", "GET"): SIGNED_IN,
    ("/apply/step/{step}", "POST"): SIGNED_IN,
    ("/apply/step/{step}/check", "POST"): SIGNED_IN,
    ("/apply/{app_id:int}/done", "GET"): OWNER,
    ("/apply/{app_id:int}/fix/{step}", "GET"): OWNER,
    ("/apply/{app_id:int}/fix/{step}", "POST"): OWNER,
    ("/apply/{app_id:int}/fix/{step}/check", "POST"): OWNER,
    # 我的申请 and receipts
    ("/my", "GET"): SIGNED_IN,
    ("/my/{app_id:int}", "GET"): OWNER,
    # the family's draft {draft_id}, continued by the family or a relative they authorised (委托)
    ("/apply/{draft_id:int}/continue/step/{step}", "GET"): OWNER,
    ("/apply/{draft_id:int}/continue/step/{step}", "POST"): OWNER,
    ("/apply/{draft_id:int}/continue/step/{step}/check", "POST"): OWNER,
    ("/apply/{draft_id:int}/continue/submit", "POST"): OWNER,  # no declaration: the check page again
    ("/my/{app_id:int}/access", "GET"): OWNER,  # only the applicant authorises relatives
    ("/my/{app_id:int}/access", "POST"): OWNER,  # without fields: 400
    ("/my/{app_id:int}/access/{access_id:int}/revoke", "POST"): OWNER,
    ("/my/phone", "GET"): SIGNED_IN,  # each person's own phone for texts
    ("/my/phone", "POST"): SIGNED_IN,  # without a number: 400
    ("/my/phone/verify", "POST"): SIGNED_IN,  # without a code: 400
    ("/my/phone/stop", "POST"): SIGNED_IN,
    ("/my/{app_id:int}/receipt.pdf", "GET"): OWNER,
    ("/admin/applications/{app_id:int}/archive.pdf", "GET"): CASE_VIEWERS,  # the form's page
    ("/admin/applications/{app_id:int}/archive.pdf", "POST"): CASE_VIEWERS,  # a reason is needed: 400 without
    ("/my/{app_id:int}/completion.pdf", "GET"): OWNER,  # not finished yet: back to the progress page
    ("/verify/{token:str}", "GET"): EVERYONE,
    # 政策咨询
    ("/policy", "GET"): EVERYONE,
    ("/policy/search", "GET"): EVERYONE,
    ("/policy/guide", "GET"): EVERYONE,
    ("/policy/guide/result", "GET"): EVERYONE,
    ("/policy/plan", "GET"): EVERYONE,
    ("/policy/plan.ics", "GET"): EVERYONE,
    ("/policy/{slug:str}", "GET"): EVERYONE,
    # back office
    ("/admin", "GET"): STAFF | REPORTERS,
    ("/admin/report", "GET"): REPORTERS | ADMINS,  # 死讯简况
    ("/admin/report", "POST"): REPORTERS | ADMINS,  # without fields: 400
    ("/admin/window", "GET"): WINDOW,
    ("/admin/search", "GET"): STAFF,
    ("/admin/search", "POST"): STAFF,  # results are scoped to what each may see (tests/integration/test_case_search.py)
    ("/admin/proxy", "GET"): WINDOW,
    ("/admin/proxy", "POST"): WINDOW,  # without fields: 400, nothing started
    # 代办 draft {proxy_id}: started by the 鹿城 clerk; a window clerk of the county or an admin continues it
    ("/admin/proxy/{proxy_id:int}/step/{step}", "GET"): WINDOW_OF_COUNTY,
    ("/admin/proxy/{proxy_id:int}/step/{step}", "POST"): WINDOW_OF_COUNTY,
    ("/admin/proxy/{proxy_id:int}/step/{step}/check", "POST"): WINDOW_OF_COUNTY,
    ("/admin/proxy/{proxy_id:int}/submit", "POST"): WINDOW_OF_COUNTY,  # no declaration: the check page again
    ("/admin/applications/{app_id:int}/form.pdf", "GET"): WINDOW_OF_COUNTY,  # the 登记表 to sign
    ("/admin/applications/{app_id:int}", "GET"): CASE_VIEWERS,
    ("/admin/applications/{app_id:int}/accept", "POST"): WINDOW_OF_COUNTY,
    ("/admin/applications/{app_id:int}/return", "POST"): WINDOW_OF_COUNTY,
    ("/admin/applications/{app_id:int}/channel", "POST"): WINDOW_OF_COUNTY,
    ("/admin/applications/{app_id:int}/exceptions", "POST"): WINDOW_OF_COUNTY,  # no exception_id: 400
    ("/admin/applications/{app_id:int}/reveal", "POST"): CASE_VIEWERS,
    ("/admin/tasks", "GET"): OFFICERS,
    ("/admin/tasks/{task_id:int}", "GET"): TASK_WORKER,
    ("/admin/tasks/{task_id:int}/{action:str}", "POST"): TASK_WORKER,
    ("/admin/overview", "GET"): ADMINS,
    ("/admin/staff", "GET"): ADMINS,
    ("/admin/staff", "POST"): ADMINS,
    ("/admin/staff/{member_id:int}/active", "POST"): ADMINS,
    ("/admin/outbox", "GET"): ADMINS,
    ("/admin/jobs", "GET"): ADMINS,
    ("/admin/jobs/{job_id:int}/retry", "POST"): ADMINS,
    ("/admin/jobs/{job_id:int}/cancel", "POST"): ADMINS,
    ("/admin/api-clients", "GET"): ADMINS,
    ("/admin/api-clients", "POST"): ADMINS,  # the empty form: 400 with the fields
    ("/admin/api-clients/{client_id:str}/rotate", "POST"): ADMINS,
    ("/admin/api-clients/{client_id:str}/revoke", "POST"): ADMINS,
    ("/admin/api-clients/webhooks", "POST"): ADMINS,  # the empty form: 400 with the fields
    ("/admin/api-clients/webhooks/{webhook_id:int}/delete", "POST"): ADMINS,  # none such: a flash, back to the page
    # the machine interface (bearer tokens; see the note above)
    ("/api/v1/openapi.json", "GET"): EVERYONE,
    ("/api/v1/docs", "GET"): EVERYONE,
    ("/api/v1/problems/{problem:str}", "GET"): EVERYONE,
    ("/api/v1/token", "POST"): NOBODY,  # no HTTP Basic client credentials: 401 invalid_client
    ("/api/v1/me", "GET"): NOBODY,
    ("/api/v1/events", "POST"): NOBODY,
    ("/api/v1/tasks", "GET"): NOBODY,
    ("/api/v1/tasks/{task_id:int}", "GET"): NOBODY,
    ("/api/v1/tasks/{task_id:int}/actions", "POST"): NOBODY,
    ("/api/v1/webhooks", "GET"): NOBODY,
    ("/api/v1/webhooks", "POST"): NOBODY,
    ("/api/v1/webhooks/{webhook_id:int}", "DELETE"): NOBODY,
}

#: Mounted sub-applications the matrix does not enter, with the reason.
OUT_OF_SCOPE: dict[str, str] = {
    "/idp": "the embedded stand-in identity provider: its own login and sessions, not a portal page "
            "(tests/integration/test_idp.py covers it; in production it is not mounted)",
    "/static": "static files (CSS, JS, fonts), public by design; no personal data",
}

#: Path parameter values used in the requests (placeholders filled by the test from the fixture).
PATH_PARAMS: dict[str, str] = {
    "app_id": "{app_id}",
    "proxy_id": "{proxy_id}",  # a 代办 draft the 鹿城 clerk started
    "draft_id": "{draft_id}",  # the family's open draft
    "access_id": "{access_id}",  # the family's grant of read-only progress to a relative
    "task_id": "{task_id}",
    "job_id": "{job_id}",  # the fixture application's first text to send
    "member_id": "{member_id}",  # the 瑞安 公安 officer's membership (not the admin's own)
    "step": "scenario",
    "action": "take",
    "token": "{token}",
    "slug": "{slug}",
    "client_id": "{client_id}",  # a department client opened by the test
    "problem": "validation",
    "webhook_id": "1",
}

#: The minimal form sent with a POST besides the CSRF token (placeholders as above). Only what is
#: needed for the permission decision to be reached; no version and no declaration, so no action
#: really happens ({submit_key} is the family's draft, opened by the test).
FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("/apply/submit", "POST"): {"submit_key": "{submit_key}"},
}

#: Cells run last, because they end the role's session.
RUN_LAST = frozenset({("/logout", "POST")})
