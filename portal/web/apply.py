"""一表申请: the guided application for families, one topic per screen.

Every step is a plain form POST with redirect-after-post; htmx only adds checking a field as
it is left (POST /apply/step/<step>/check, the page re-rendered and only that field swapped).
The handlers live by use case: filling in (apply_steps), check and submit (apply_check),
corrections (apply_fix); what their pages share is in apply_view.
"""
from __future__ import annotations

from starlette.routing import Route

from portal.config import Settings
from portal.web.apply_check import done_page, submit_post
from portal.web.apply_fix import fix_page
from portal.web.apply_steps import (
    claim_page,
    in_progress_page,
    saved_page,
    start_page,
    start_post,
    step_field_check,
    step_page,
)
from portal.web.common import Services


def routes(settings: Settings, svc: Services) -> list[Route]:
    return [
        Route("/apply", start_page, methods=["GET"]),
        Route("/apply/start", start_post, methods=["POST"]),
        Route("/apply/saved", saved_page, methods=["GET"]),
        Route("/apply/claim/{token}", claim_page, methods=["GET"]),
        Route("/apply/in-progress", in_progress_page, methods=["GET"]),
        Route("/apply/submit", submit_post, methods=["POST"]),
        Route("/apply/step/{step}", step_page, methods=["GET", "POST"]),
        Route("/apply/step/{step}/check", step_field_check, methods=["POST"]),
        Route("/apply/{app_id:int}/done", done_page, methods=["GET"]),
        Route("/apply/{app_id:int}/fix/{step}", fix_page, methods=["GET", "POST"]),
        Route("/apply/{app_id:int}/fix/{step}/check", step_field_check, methods=["POST"]),
    ]
