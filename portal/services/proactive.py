"""主动办: a death known to a department starts the case, and the family who applies joins it.

A death certificate or a cremation reported by a department system (portal/services/exchange.py),
or a 12345 / grid-worker report (the channels), for a deceased with no case yet opens a
**proactive case**: an ordinary `Application` with channel and status "proactive", no account,
its 编号 at once, the facts known so far kept as the draft answers, and the department tasks
that must happen whether or not a family ever applies (the catalogue's `proactive` matters:
公安 户口注销, the 人社/民政/退役军人/残联 benefit stops) started at once. The next of kin the
report names gets a text inviting them to finish the one application online.

A family that then submits an application for the same deceased (blind index of the 身份证号)
joins that case (`join`): same 编号, the tasks already running are kept, their answers and the
facts known before are one set of answers, and their own draft is marked merged.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.db import transaction
from portal.domain import application_form as steps
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.deadlines import due_on
from portal.domain.death_facts import DeathFacts
from portal.models import (
    Application,
    ApplicationMatter,
    CaseInvitation,
    DepartmentTask,
    Party,
    TaskDependency,
)
from portal.services import notifications, pii, receipts
from portal.services.applications import (
    ApplicantFacts,
    Draft,
    applicant_facts,
    open_draft,
    read_draft,
    start_draft,
    write_draft,
)
from portal.services.casework import county_name, matter_name
from portal.services.deadlines import time_limit
from portal.services.events import Actor, record
from portal.services.intake import create_tasks, materialize, next_number

PROACTIVE_CHANNEL = "proactive"
#: statuses of an application that is not (or no longer) a case of its own
NOT_A_CASE = (st.APP_DRAFT, st.APP_MERGED)
CLAIM_PATH = "/apply/claim/"


def lock_deceased(session: Session, deceased_bidx: str) -> None:
    """Make everything that may open or join a case for this deceased take turns.

    PostgreSQL: a transaction-level advisory lock on the blind index (the same key the family's
    submission takes in portal/services/intake.py). SQLite: a write that matches nothing takes
    the database's write lock, so a second writer waits until this transaction ends.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"deceased:{deceased_bidx}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        session.execute(text("UPDATE number_sequence SET last = last WHERE prefix = ''"))


def case_for(session: Session, deceased_bidx: str) -> Application | None:
    """The case of this deceased (any status but a family's draft), newest first."""
    return session.scalars(
        select(Application).where(Application.deceased_bidx == deceased_bidx, Application.status.not_in(NOT_A_CASE))
        .order_by(Application.id.desc())
    ).first()


def proactive_case(session: Session, deceased_bidx: str) -> Application | None:
    """The proactive case no family has joined yet, for this deceased."""
    return session.scalars(
        select(Application).where(Application.deceased_bidx == deceased_bidx,
                                  Application.status == st.APP_PROACTIVE).order_by(Application.id)
    ).first()


def source_actor(source: str) -> Actor:
    """The system (or channel) that reported the death, as the event log names it."""
    return Actor("system", None, source[:60])


def open_or_join_case(session: Session, facts: DeathFacts, *, source: str, vault: Vault,
                      base_url: str = "", catalogue: Catalogue | None = None) -> tuple[Application, bool]:
    """The case of this deceased, opened as a proactive case when there is none (True: new).

    `source` names who reported the death, in words for the timeline (e.g. "温州市殡仪馆系统",
    "12345热线"). Runs in the caller's transaction.
    """
    cat = catalogue or default_catalogue()
    bidx = pii.index(vault, pii.Kind.ID_CARD, facts.id_number) or ""
    lock_deceased(session, bidx)
    existing = case_for(session, bidx)
    if existing is not None:
        return existing, False
    today = clock.today()
    app = Application(
        account_id=None, status=st.APP_PROACTIVE, channel=PROACTIVE_CHANNEL, scenario=facts.scenario,
        county_code=facts.county_code, township=facts.township, deceased_bidx=bidx,
        number=next_number(session, facts.county_code, today),
        draft_blob=vault.seal_bytes(Draft(answers=facts.answers(cat)).to_bytes()),
    )
    session.add(app)
    session.flush()
    if facts.contact is not None:
        session.add(Party(application_id=app.id, role="contact", name=facts.contact.name[:60],
                          relation=facts.contact.relation or "",
                          phone_enc=pii.seal(vault, pii.Kind.PHONE, facts.contact.phone).enc))
    tasks = start_tasks(session, app, [m.code for m in cat.proactive_matters()], today, cat)
    names = "、".join(matter_name(t.matter_code) for t in tasks)
    record(session, source_actor(source), "system:application:proactive",
           f"{source}报送了逝者去世的信息，已主动为您启动身后一件事（编号 {app.number}）：{names}已开始办理",
           application_id=app.id, public=True,
           after={"status": st.APP_PROACTIVE, "number": app.number, "matters": [t.matter_code for t in tasks],
                  "county": facts.county_code})
    if facts.contact is not None and facts.contact.phone:
        invite(session, app, vault, facts.contact.phone, base_url=base_url)
    return app, True


def start_tasks(session: Session, app: Application, codes: list[str], day: date,
                catalogue: Catalogue) -> list[DepartmentTask]:
    """The proactive matters, started at once (未开始, deadline from today), with their dependencies."""
    matters = [catalogue.matter(c) for c in codes]
    by_code: dict[str, DepartmentTask] = {}
    for matter in matters:
        session.add(ApplicationMatter(application_id=app.id, matter_code=matter.code, automatic=True))
        task = DepartmentTask(application_id=app.id, matter_code=matter.code, department=matter.department,
                              county_code=app.county_code or "", status=st.PENDING,
                              deadline=due_on(day, time_limit(matter.code)))
        session.add(task)
        by_code[matter.code] = task
    session.flush()
    for code, needs in catalogue.dependencies_among(matters).items():
        for need in needs:
            session.add(TaskDependency(task_id=by_code[code].id, depends_on_id=by_code[need].id))
            by_code[code].status = st.WAITING
    return list(by_code.values())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, app: Application, vault: Vault, phone: str, *, base_url: str = "") -> str:
    """Text the next of kin a link to finish the application online; returns the link's token."""
    token = secrets.token_urlsafe(18)
    phone_enc = pii.seal(vault, pii.Kind.PHONE, phone).enc
    session.add(CaseInvitation(application_id=app.id, token_hash=_token_hash(token), phone_enc=phone_enc))
    link = f"{base_url.rstrip('/')}{CLAIM_PATH}{token}"
    notifications.queue_sms(session, app, notifications.msg_proactive_invite(
        app.number or str(app.id), county_name(app.county_code), link), phone_enc=phone_enc)
    return token


@dataclass(frozen=True)
class Claim:
    """What the invitation link gives the family: the facts to pre-fill, and the case's 编号."""

    application_id: int
    number: str
    answers: dict[str, object]


def claim(session: Session, vault: Vault, token: str, account_id: int) -> Claim | None:
    """The invitation behind a link (None: unknown, or the case was already joined by a family)."""
    invitation = session.scalar(select(CaseInvitation).where(CaseInvitation.token_hash == _token_hash(token)))
    if invitation is None:
        return None
    app = session.get(Application, invitation.application_id)
    if app is None or app.status != st.APP_PROACTIVE:
        return None
    invitation.claimed_at = invitation.claimed_at or clock.now()
    invitation.claimed_by = invitation.claimed_by or account_id
    return Claim(app.id, app.number or "", dict(read_draft(vault, app).answers))


def claim_into_draft(db: sessionmaker[Session], vault: Vault, token: str, account_id: int, actor: Actor) -> bool:
    """The invitation link, opened by a signed-in family member: their draft (new or open) gets
    what the case already knows, where they have not answered yet. False: the link is not valid
    (any more); the family can still apply, and joins the case at submission all the same."""
    with transaction(db) as session:
        found = claim(session, vault, token, account_id)
        if found is None:
            return False
        draft_app = open_draft(session, account_id)
        if draft_app is None:
            draft_app = start_draft(session, vault, account_id, found.answers)
            facts = applicant_facts(session, vault, account_id)
            done = steps.answered_steps(found.answers, steps.Applicant(facts.name, facts.id_card, facts.phone))
            write_draft(vault, draft_app, Draft(dict(found.answers), done))
            record(session, actor, "citizen:application:start", f"从短信链接开始填写一表申请（编号 {found.number}）",
                   application_id=draft_app.id)
            return True
        draft = read_draft(vault, draft_app)
        write_draft(vault, draft_app, Draft({**found.answers, **draft.answers}, list(draft.done)))
        return True


def fill_from_case(session: Session, vault: Vault, draft_app: Application) -> bool:
    """A family typed the deceased's 身份证号 of a proactive case: the facts the departments reported
    fill the answers they have not given yet (nothing is asked twice). True when something was filled."""
    if not draft_app.deceased_bidx:
        return False
    case = proactive_case(session, draft_app.deceased_bidx)
    if case is None:
        return False
    draft = read_draft(vault, draft_app)
    known = {k: v for k, v in read_draft(vault, case).answers.items() if k not in draft.answers}
    if not known:
        return False
    write_draft(vault, draft_app, Draft({**draft.answers, **known}, list(draft.done)))
    return True


# --- the family joins ----------------------------------------------------------------------------


def join(session: Session, vault: Vault, case: Application, draft_app: Application, draft: Draft,
         applicant: ApplicantFacts, actor: Actor, local_now: datetime, catalogue: Catalogue) -> Application | None:
    """The family's checked draft becomes the proactive case's application (called by intake.submit
    under the deceased's lock): the case keeps its 编号 and running tasks, takes the family's
    answers (what they confirmed wins; facts they were not asked stay), gets the tasks of the
    matters they asked for, and waits for the window like any submission. Their draft is merged.
    None when another request already moved the draft or the case.
    """
    key = draft_app.submit_key  # a double tap on 提交 finds the case by it
    moved = cast(CursorResult[Any], session.execute(
        update(Application).where(Application.id == draft_app.id, Application.status == st.APP_DRAFT)
        .values(status=st.next_app_status(st.APP_DRAFT, "merge"), submit_key=None, version=Application.version + 1)
        .execution_options(synchronize_session=False))).rowcount
    taken = cast(CursorResult[Any], session.execute(
        update(Application).where(Application.id == case.id, Application.status == st.APP_PROACTIVE)
        .values(status=st.next_app_status(st.APP_PROACTIVE, "join"), account_id=draft_app.account_id,
                submit_key=key,
                version=Application.version + 1)
        .execution_options(synchronize_session=False))).rowcount if moved == 1 else 0
    if moved != 1 or taken != 1:
        session.expire_all()
        return None
    session.refresh(draft_app)
    session.refresh(case)
    known = read_draft(vault, case).answers
    answers = {**{k: v for k, v in known.items() if k not in draft.answers}, **draft.answers, "a_name": applicant.name}
    case.submitted_at = clock.now()
    case.current_step = "check"
    write_draft(vault, case, Draft(answers=answers, done=list(draft.done)))
    materialize(session, vault, case, answers, applicant)
    session.flush()
    tasks = create_tasks(session, case, answers, local_now.date(), catalogue)
    session.expire(case, ["tasks", "matters", "parties"])
    record(session, actor, "citizen:application:join",
           f"您提交了身后一件事联办申请，并入部门已主动启动的办理（编号 {case.number}），新增 {len(tasks)} 个办理事项",
           application_id=case.id, public=True, before={"status": st.APP_PROACTIVE},
           after={"status": st.APP_SUBMITTED, "number": case.number, "matters": [t.matter_code for t in tasks],
                  "merged_draft": draft_app.id})
    notifications.queue_sms(session, case, notifications.msg_submitted(case.number or str(case.id)))
    receipts.queue_render(session, case)
    return case
