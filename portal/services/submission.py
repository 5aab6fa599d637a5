"""Corrections of a submitted application: which steps may change, what may not change online,
and saving a corrected step (the case rows follow, the workflow resumes).

Submitting a draft lives in portal.services.intake; its names stay importable from here.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import application_form as steps
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.status import CORRECTION_ALIASES, CORRECTION_STEPS, corrected_steps
from portal.models import Application
from portal.services import applications as drafts
from portal.services import receipts, workflow
from portal.services.applications import ApplicantFacts, Draft, read_draft, write_draft
from portal.services.events import Actor, record
from portal.services.intake import (  # noqa: F401 - the old home of intake's names
    Outcome,
    SubmitResult,
    materialize,
    next_number,
    submit,
)

# The form splits some parts the back office asks for as one (portal.domain.status.CORRECTION_STEPS):
# 去世时间和原因 are on the death certificate and belong to the deceased's facts.


def correctable(app: Application, step: str) -> bool:
    """A submitted application may change `step` when it was sent back for that step.

    Either a department returned one matter naming the step (result["correction_step"]), or the
    window returned the whole application (status "returned"), which opens every step.
    """
    if app.status == st.APP_DRAFT or step == "check":
        return False
    if app.status == st.APP_RETURNED:
        return True
    asked = corrected_steps(step)
    return any(t.status == "returned" and (t.result or {}).get("correction_step") in asked for t in app.tasks)


# Changes a correction may not make online: the case rows (受理地, the department tasks and the
# matters) were set up from these answers at submission; the window changes them.
ASK_THE_WINDOW = "如需更改，请联系乡镇（街道）窗口，或拨打 12345 政务服务热线，工作人员会帮您处理。"
COUNTY_LOCKED = ("申请提交后，逝者的户籍所在县（市、区）不能在网上修改（同一县（市、区）内的乡镇（街道）可以修改）。"
                 + ASK_THE_WINDOW)
MATTERS_LOCKED = ("这样修改会增加或取消部门要办理的事项，申请提交后不能在网上这样修改。您填写的内容已保留。"
                  + ASK_THE_WINDOW)


class CorrectionRefused(ValueError):
    """A correction would change what the case was set up with (受理地 or the department tasks)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _task_codes(answers: dict[str, Any], catalogue: Catalogue) -> frozenset[str] | None:
    flags = set(answers.get("flags") or [])
    try:
        matters = catalogue.tasks_for(
            set(answers.get("matters") or []),
            pension_type=str(answers.get("pension_type") or ""),
            scenario=str(answers.get("scenario") or ""),
            veteran="veteran" in flags,
            disability="disability" in flags,
            assistance="assistance" in flags,
        )
    except (ValueError, KeyError):  # FieldError is a ValueError too
        return None
    return frozenset(m.code for m in matters)


def correction_conflict(old: dict[str, Any], new: dict[str, Any],
                        catalogue: Catalogue | None = None) -> CorrectionRefused | None:
    """Why the corrected answers `new` may not replace `old` online, or None when they may.

    Refused: another 户籍 county (the case's county and every department task belong to it) and
    any change of the matters, flags, pension type or scenario that changes the set of tasks
    (or which matters were asked for), so the case rows never drift from the answers.
    """
    catalogue = catalogue or default_catalogue()
    old_county = str(old.get("d_hukou") or "").split(":", 1)[0]
    new_county = str(new.get("d_hukou") or "").split(":", 1)[0]
    if old_county and new_county != old_county:
        return CorrectionRefused("d_hukou", COUNTY_LOCKED)
    keys = ("matters", "flags", "pension_type", "scenario")
    if all(old.get(k) == new.get(k) for k in keys):
        return None
    before, after = _task_codes(old, catalogue), _task_codes(new, catalogue)
    same_requested = set(old.get("matters") or []) == set(new.get("matters") or [])
    if before is not None and before == after and same_requested:
        return None
    if old.get("scenario") != new.get("scenario") and all(old.get(k) == new.get(k) for k in keys[:3]):
        return CorrectionRefused("scenario", MATTERS_LOCKED)
    field = "pension_type" if old.get("pension_type") != new.get("pension_type") and same_requested \
        and old.get("flags") == new.get("flags") else "matters"
    return CorrectionRefused(field, MATTERS_LOCKED)


def corrected_answers(answers: dict[str, Any], step: steps.Step, values: dict[str, Any]) -> dict[str, Any]:
    """The answers as they would be after saving `values` for `step`."""
    out = {k: v for k, v in answers.items() if k not in step.fields}
    out.update({k: v for k, v in values.items() if v is not None and v != ""})
    return out


def correction_steps_for(app: Application, step: str) -> list[str | None]:
    """The back office's step codes (portal.domain.status.CORRECTION_STEPS) a fix of `step` answers.

    None means "every returned matter" (a form step the back office has no code for, e.g. when
    the window returned the whole application).
    """
    if step in CORRECTION_STEPS:
        return [step]
    aliases = CORRECTION_ALIASES.get(step, frozenset())
    if aliases:
        asked = [(t.result or {}).get("correction_step") for t in sorted(app.tasks, key=lambda t: t.id)
                 if t.status == "returned"]
        found = list(dict.fromkeys(code for code in asked if code in aliases))
        return found or [None if app.status == "returned" else sorted(aliases)[0]]
    return [None]


def apply_correction(session: Session, vault: Vault, app: Application, step: steps.Step, values: dict[str, Any],
                     applicant: ApplicantFacts, actor: Actor) -> None:
    """Save a corrected step, update the case rows, log it and hand back to the workflow.

    Raises CorrectionRefused (nothing saved) when the change would move the case to another
    county or change its department tasks: the window does that.
    """
    draft: Draft = read_draft(vault, app)
    conflict = correction_conflict(draft.answers, corrected_answers(draft.answers, step, values))
    if conflict is not None:
        raise conflict
    before_fields = sorted(k for k in step.fields if k in draft.answers)
    for name in step.fields:
        draft.answers.pop(name, None)
    draft.answers.update({k: v for k, v in values.items() if v is not None and v != ""})
    write_draft(vault, app, draft)
    materialize(session, vault, app, draft.answers, applicant, pledge_at=None)
    app.updated_at = clock.now()
    record(session, actor, "citizen:application:correct", f"补正了申请中的“{step.title}”",
           application_id=app.id, public=True, before={"fields": before_fields},
           after={"step": step.name})
    receipts.queue_render(session, app)
    session.flush()
    for code in correction_steps_for(app, step.name):
        workflow.resume_after_correction(session, app, actor, step=code)


DUPLICATE_IN_FIX = ("这个身份证号码的逝者已经有一份申请在办理中，同一位逝者只需要申请一次，不能改成这个号码。"
                    "请核对号码；如有疑问，请联系乡镇（街道）窗口，或拨打 12345 政务服务热线。")


def _refusal(session: Session, vault: Vault, app: Application, step: steps.Step, answers: dict[str, Any],
             values: dict[str, Any], applicant: ApplicantFacts, actor: Actor) -> dict[str, str]:
    """Changes a correction may not make online, as field errors (the typed values are kept)."""
    conflict = correction_conflict(answers, corrected_answers(answers, step, values))
    if conflict is not None:
        return {conflict.field if conflict.field in step.fields else step.fields[0]: conflict.message}
    new_id = values.get("d_id")
    if new_id and drafts.find_in_progress(session, vault, actor, str(new_id), exclude_id=app.id) is not None:
        return {"d_id": DUPLICATE_IN_FIX}
    # The change must keep the rest of the application consistent (e.g. a new date of death
    # must still fit the certificate number).
    trial = {k: v for k, v in answers.items() if k not in step.fields} | values
    done = [s.name for s in steps.applicable(trial)]
    broken = steps.first_invalid(trial, done, steps.Applicant(applicant.name, applicant.id_card, applicant.phone))
    if broken is not None:
        return {step.fields[0]: (f"这样修改后，“{steps.BY_NAME[broken].title}”里已填的内容就对不上了。"
                                 "请核对后再提交；如有疑问，请拨打 12345 或到乡镇（街道）窗口咨询")}
    return {}


def correct_step(session: Session, vault: Vault, app: Application, step: steps.Step, values: dict[str, Any],
                 applicant: ApplicantFacts, actor: Actor) -> dict[str, str]:
    """Save the checked `values` of a correction, or say why not as field errors (nothing saved)."""
    answers = read_draft(vault, app).answers
    errors = _refusal(session, vault, app, step, answers, values, applicant, actor)
    if errors:
        return errors
    try:
        apply_correction(session, vault, app, step, values, applicant, actor)
    except CorrectionRefused as refused:
        return {refused.field if refused.field in step.fields else step.fields[0]: refused.message}
    return {}
