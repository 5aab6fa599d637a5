"""Intake: a family's draft becomes a case, exactly once (submit, 编号, duplicate check, case rows).

`submit` runs inside the caller's transaction. The draft is claimed with one conditional
UPDATE (status 'draft' -> 'submitted'), so a double tap, a refresh or two tabs posting the same
submit key create one application: on SQLite the second writer waits for the first to commit,
on PostgreSQL the row lock makes the second UPDATE re-check the status and match nothing.
`submit_draft` is the whole use case for the web: the declaration, the submission in its own
transaction, and the race with the family's own double tap.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import date, datetime
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from portal.crypto import Vault
from portal.db import transaction
from portal.domain import application_form as steps
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.deadlines import schedule
from portal.domain.form_steps import declared
from portal.domain.idcard import age_at, parse_id
from portal.models import (
    Application,
    ApplicationMatter,
    Deceased,
    DepartmentTask,
    NumberSequence,
    Party,
    TaskDependency,
)
from portal.services import notifications, pii, receipts
from portal.services.applications import (
    ApplicantFacts,
    Draft,
    InProgress,
    active_for_deceased,
    applicant_facts,
    in_progress_view,
    log_in_progress_check,
    read_draft,
    write_draft,
)
from portal.services.events import Actor, record

Outcome = Literal["submitted", "already", "duplicate", "incomplete", "unknown"]


@dataclass
class SubmitResult:
    outcome: Outcome
    application: Application | None = None
    duplicate: Application | None = None
    step: str | None = None  # first step to finish when incomplete


def next_number(session: Session, county_code: str, day: date) -> str:
    """Next readable 编号 for a county and day, e.g. 330302-20261122-0007.

    One atomic upsert (INSERT .. ON CONFLICT DO UPDATE .. RETURNING) on both SQLite and
    PostgreSQL, so concurrent submissions never get the same sequence number.
    """
    prefix = f"{county_code}-{day:%Y%m%d}"
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(NumberSequence)
        .values(prefix=prefix, last=1)
        .on_conflict_do_update(index_elements=[NumberSequence.prefix], set_={"last": NumberSequence.last + 1})
        .returning(NumberSequence.last)
    )
    last = session.execute(stmt).scalar_one()
    return f"{prefix}-{last:04d}"


def _datetime(day: str | None, at: str | None) -> datetime | None:
    if not day or not at:
        return None
    return datetime.combine(date.fromisoformat(day), datetime.strptime(at, "%H:%M").time())


def materialize(session: Session, vault: Vault, app: Application, answers: dict[str, Any],
                applicant: ApplicantFacts, *, pledge_at: datetime | None = None) -> None:
    """Create or update the Deceased and Party rows from the answers (also used by corrections)."""
    card = parse_id(answers["d_id"])
    died = _datetime(answers.get("death_date"), answers.get("death_time"))
    assert died is not None
    county, township = answers["d_hukou"].split(":", 1)
    at_fh = answers.get("body_at_fh") == "yes"
    fh = answers.get("funeral_home")
    category = answers["ashes_category"]
    flags = set(answers.get("flags") or [])

    deceased = app.deceased or session.scalar(select(Deceased).where(Deceased.application_id == app.id))
    if deceased is None:
        deceased = Deceased(application_id=app.id)
        session.add(deceased)
    deceased.name = answers["d_name"]
    sealed_id = pii.seal(vault, pii.Kind.ID_CARD, card.number)
    deceased.id_card_enc, deceased.id_card_bidx = sealed_id.enc or "", sealed_id.bidx or ""
    deceased.gender = card.gender
    deceased.birth_date = card.birth_date
    deceased.age = age_at(card.birth_date, died.date())
    deceased.ethnicity = answers["d_ethnicity"]
    deceased.hukou_county = county
    deceased.hukou_township = township
    deceased.hukou_address = answers.get("d_address") or None
    deceased.temp_township = answers.get("d_temp") or None
    deceased.death_time = died
    deceased.death_cause = answers["death_cause"]
    deceased.certificate_type = steps.certificate_type(answers)
    # From 2026-07-01 the certificate number IS the deceased's 身份证号: sealed like one, never in clear.
    cert = pii.seal(vault, pii.Kind.CERTIFICATE, str(answers["cert_no"]))
    deceased.certificate_no_enc, deceased.certificate_no_bidx = cert.enc, cert.bidx
    deceased.body_at_funeral_home = at_fh
    deceased.funeral_home = (answers.get("funeral_home_other") if fh == steps.OTHER else fh) if at_fh else None
    deceased.pickup_address = None if at_fh else answers.get("pickup_address")
    deceased.pickup_time = None if at_fh else _datetime(answers.get("pickup_date"), answers.get("pickup_time"))
    deceased.ashes_category = category
    deceased.ashes_place = answers[f"ashes_place_{category}"]
    deceased.procession_route = answers.get("route") or None
    deceased.pension_type = answers["pension_type"]
    deceased.is_veteran = "veteran" in flags
    deceased.has_disability_cert = "disability" in flags
    deceased.receives_assistance = "assistance" in flags
    if pledge_at is not None or deceased.civil_pledge_at is None:
        deceased.civil_pledge_at = pledge_at or clock.now()

    parties = {p.role: p for p in session.scalars(select(Party).where(Party.application_id == app.id))}
    person = parties.get("applicant") or Party(application_id=app.id, role="applicant")
    person.name = applicant.name
    person.relation = answers["a_relation"]
    person.id_card_enc, person.id_card_bidx = astuple(pii.seal(vault, pii.Kind.ID_CARD, applicant.id_card))
    person.phone_enc, person.phone_bidx = astuple(pii.seal(vault, pii.Kind.PHONE, applicant.phone or answers.get("a_phone")))
    person.address = answers["a_address"]
    declared.write({"deceased": deceased, "applicant": person}, answers)
    session.add(person)

    recipient = parties.get("recipient")
    if steps.wants_pension(answers):
        recipient = recipient or Party(application_id=app.id, role="recipient")
        if answers.get("r_who") == "self":
            recipient.name, recipient.relation, r_id = applicant.name, answers["a_relation"], applicant.id_card
        else:
            recipient.name, recipient.relation, r_id = answers["r_name"], answers["r_relation"], answers["r_id"]
        recipient.id_card_enc, recipient.id_card_bidx = astuple(pii.seal(vault, pii.Kind.ID_CARD, r_id))
        recipient.bank_name = answers["r_bank"]
        recipient.bank_account_enc = pii.seal(vault, pii.Kind.BANK_ACCOUNT, answers["r_account"]).enc
        recipient.luhn_warning_confirmed = answers.get("r_account_confirm") == "yes"
        recipient.needs_review = steps.recipient_review(answers)
        session.add(recipient)
    elif recipient is not None and not _has_pension_task(session, app):
        # Never drop the person the pension office pays while that matter is still on the case.
        session.delete(recipient)

    app.deceased_bidx = deceased.id_card_bidx
    app.county_code = county
    app.township = township
    app.scenario = answers["scenario"]


def _has_pension_task(session: Session, app: Application) -> bool:
    if app.id is None:
        return False
    return session.scalar(
        select(DepartmentTask.id).where(DepartmentTask.application_id == app.id, DepartmentTask.matter_code == "pension")
    ) is not None


def create_tasks(session: Session, app: Application, answers: dict[str, Any], submitted_on: date,
                 catalogue: Catalogue) -> list[DepartmentTask]:
    """The department tasks of the matters asked for (and their automatic follow-ups), waiting for
    the window; matters already on the case (a proactive case's) are kept as they are."""
    flags = set(answers.get("flags") or [])
    requested = set(answers.get("matters") or [])
    matters = catalogue.tasks_for(
        requested,
        pension_type=answers["pension_type"],
        scenario=answers["scenario"],
        veteran="veteran" in flags,
        disability="disability" in flags,
        assistance="assistance" in flags,
    )
    existing = {t.matter_code: t for t in session.scalars(
        select(DepartmentTask).where(DepartmentTask.application_id == app.id))} if app.id else {}
    county = answers["d_hukou"].split(":", 1)[0]
    dependencies = catalogue.dependencies_among(matters)
    # provisional: the window's acceptance counts them again from its day (workflow.accept)
    due = schedule({m.code: m.time_limit_days for m in matters}, dependencies, submitted_on)
    by_code: dict[str, DepartmentTask] = {}
    for matter in matters:
        if matter.code in existing:
            continue
        session.add(ApplicationMatter(application_id=app.id, matter_code=matter.code,
                                      automatic=matter.code not in requested))
        task = DepartmentTask(
            application_id=app.id,
            matter_code=matter.code,
            department=matter.department,
            county_code=county,
            status="waiting",
            deadline=due[matter.code],
        )
        session.add(task)
        by_code[matter.code] = task
    session.flush()
    every = {**existing, **by_code}
    for code, needs in dependencies.items():
        for dep in needs:
            if code in by_code:  # an existing task's dependencies were set when it was made
                session.add(TaskDependency(task_id=every[code].id, depends_on_id=every[dep].id))
    return list(by_code.values())


def _one_submission_per_deceased_at_a_time(session: Session, app: Application, deceased_bidx: str) -> None:
    """Make two relatives submitting for the same deceased at the same instant take turns.

    Without it both could pass the duplicate check before either had committed.
    * PostgreSQL: a transaction-level advisory lock keyed on the deceased's blind index makes the
      second wait until the first commits; under READ COMMITTED its duplicate check then sees
      the first submission.
    * SQLite has one writer at a time, but the driver begins the transaction only at the first
      write, so both checks could read before either wrote. A no-op write to the draft takes the
      write lock first: the second submission waits here (busy_timeout), and its check reads
      after the first has committed.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"deceased:{deceased_bidx}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        session.execute(update(Application).where(Application.id == app.id)
                        .values(submit_key=Application.submit_key)
                        .execution_options(synchronize_session=False))


def submit(session: Session, vault: Vault, *, account_id: int | None, submit_key: str, applicant: ApplicantFacts,
           actor: Actor, now: datetime | None = None, catalogue: Catalogue | None = None) -> SubmitResult:
    """Submit the draft identified by `submit_key` for this account, exactly once."""
    catalogue = catalogue or default_catalogue()
    app = session.scalar(select(Application).where(Application.submit_key == submit_key))
    if app is None or app.account_id != account_id:
        return SubmitResult("unknown")
    if app.status != st.APP_DRAFT:
        return SubmitResult("already", app)

    draft = read_draft(vault, app)
    facts = steps.Applicant(applicant.name, applicant.id_card, applicant.phone)
    local_now = (clock.as_china(now).replace(tzinfo=None) if now and now.tzinfo else now) or steps.china_now()
    missing = steps.first_invalid(draft.answers, draft.done, facts, now=local_now)
    if missing is None and draft.answers.get("declaration") != "yes":
        missing = "check"
    if missing is not None:
        return SubmitResult("incomplete", app, step=missing)

    deceased_bidx = pii.index(vault, pii.Kind.ID_CARD, draft.answers["d_id"]) or ""
    _one_submission_per_deceased_at_a_time(session, app, deceased_bidx)
    from portal.services import proactive  # it builds on this module: imported when used

    case = proactive.proactive_case(session, deceased_bidx)
    if case is not None:  # a department reported the death first (主动办): this family joins that case
        joined = proactive.join(session, vault, case, app, draft, applicant, actor, local_now, catalogue)
        return SubmitResult("submitted", joined) if joined is not None else SubmitResult("already", app)
    other = active_for_deceased(session, vault, draft.answers["d_id"], exclude_id=app.id)
    if other is not None:
        return SubmitResult("duplicate", app, duplicate=other)

    # Claim the draft: only one request can move it out of 'draft'.
    claimed = cast(CursorResult[Any], session.execute(  # an UPDATE's result: it has a rowcount
        update(Application)
        .where(Application.id == app.id, Application.status == st.APP_DRAFT)
        .values(status=st.APP_SUBMITTED, version=Application.version + 1)
        .execution_options(synchronize_session=False)
    )).rowcount
    if claimed != 1:
        session.expire(app)
        return SubmitResult("already", session.get(Application, app.id))
    session.refresh(app)

    submitted_at = clock.now()
    county = draft.answers["d_hukou"].split(":", 1)[0]
    app.number = next_number(session, county, local_now.date())
    app.submitted_at = submitted_at
    app.current_step = "check"
    # Answers stay in the blob (canonical for corrections); add what came from the login.
    draft.answers["a_name"] = applicant.name
    write_draft(vault, app, draft)
    materialize(session, vault, app, draft.answers, applicant)
    session.flush()
    tasks = create_tasks(session, app, draft.answers, local_now.date(), catalogue)
    record(
        session, actor, "citizen:application:submit",
        f"提交了身后一件事联办申请，编号 {app.number}，共 {len(tasks)} 个办理事项",
        application_id=app.id, public=True,
        before={"status": st.APP_DRAFT},
        after={"status": st.APP_SUBMITTED, "number": app.number, "matters": [t.matter_code for t in tasks]},
    )
    session.refresh(app, ["parties"])
    notifications.queue_sms(session, app, notifications.msg_submitted(app.number))
    receipts.queue_render(session, app)
    return SubmitResult("submitted", app)


# --- the use case the web calls -------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """What became of a family's 提交 (plain values: the page is rendered after the transaction)."""

    outcome: Literal["submitted", "declaration", "duplicate", "incomplete", "unknown"]
    app_id: int | None = None  # submitted (now or before, by a double tap or another tab)
    step: str | None = None  # incomplete: the first step to finish
    in_progress: InProgress | None = None  # duplicate: what the family may see of the other case
    draft: Draft | None = None  # declaration not ticked: the check page is shown again
    applicant: ApplicantFacts | None = None
    submit_key: str = ""


def _by_key(session: Session, submit_key: str) -> Application | None:
    return session.scalar(select(Application).where(Application.submit_key == submit_key))


def submit_draft(db: sessionmaker[Session], vault: Vault, *, account_id: int, submit_key: str, declared: bool,
                 actor: Actor, before_disclosure: Callable[[], None] = lambda: None) -> Submission:
    """Submit the draft with `submit_key` for this account, however often it is posted.

    The declaration is checked first (nothing else changes when it is missing). A case in
    progress for the same deceased is told only after `before_disclosure` (the caller's
    throttle; raising there saves nothing) and the look-up is logged. When another request
    (double tap, second tab) submitted the same draft at the same moment, the database refuses
    this one and the answer is that submission.
    """
    with db() as session:
        app = _by_key(session, submit_key)
        if app is None or app.account_id != account_id:
            return Submission("unknown")
        if app.status != st.APP_DRAFT:
            return Submission("submitted", app.id)
        if not declared:
            return Submission("declaration", draft=read_draft(vault, app), submit_key=submit_key,
                              applicant=applicant_facts(session, vault, account_id))
    try:
        with transaction(db) as session:
            app = _by_key(session, submit_key)
            assert app is not None
            draft = read_draft(vault, app)
            if app.status == st.APP_DRAFT and draft.answers.get("declaration") != "yes":
                draft.answers["declaration"] = "yes"
                write_draft(vault, app, draft)
                session.flush()
            facts = applicant_facts(session, vault, account_id)
            result = submit(session, vault, account_id=account_id, submit_key=submit_key, applicant=facts,
                            actor=actor)
            if result.outcome == "duplicate":
                assert result.duplicate is not None
                before_disclosure()
                log_in_progress_check(session, actor, result.duplicate)
                return Submission("duplicate", in_progress=in_progress_view(result.duplicate, account_id,
                                                                            draft.answers))
            if result.outcome == "incomplete":
                return Submission("incomplete", step=result.step)
            if result.outcome == "unknown" or result.application is None:
                return Submission("unknown")
            return Submission("submitted", result.application.id)
    except (OperationalError, IntegrityError, StaleDataError):
        # Another request submitted this draft at the same moment: that one counts.
        with db() as session:
            app = _by_key(session, submit_key)
            if app is None or app.status == st.APP_DRAFT:
                raise
            return Submission("submitted", app.id)
