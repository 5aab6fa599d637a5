"""The confirmation a family sees right after submitting: 编号, each matter with its department,
its promised date and what it waits for (plain values, read once, no rows leave here)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import Catalogue, Matter, default_catalogue
from portal.domain.deadlines import promise_text
from portal.domain.validators import mask_account, mask_phone
from portal.services import deadlines
from portal.services.applications import applicant_facts, owned, read_draft


@dataclass(frozen=True)
class AppRef:
    id: int
    number: str | None


@dataclass(frozen=True)
class Confirmation:
    app: AppRef
    rows: list[dict[str, Any]]
    submitted_on: str
    deceased_name: str
    review: bool
    account_masked: str
    phone_masked: str


def _matter_or_none(cat: Catalogue, code: str) -> Matter | None:
    """The catalogue's matter, or None when it was removed since (then the code is shown)."""
    try:
        return cat.matter(code)
    except KeyError:
        return None


def _department_name(cat: Catalogue, code: str) -> str:
    try:
        return cat.department(code).name
    except KeyError:
        return code


def confirmation(db: sessionmaker[Session], vault: Vault, account_id: int, app_id: int) -> Confirmation | None:
    """The account's submitted application `app_id`; None when it has none such (404)."""
    cat = default_catalogue()
    with db() as session:
        app = owned(session, app_id, account_id)
        if app.status == st.APP_DRAFT:
            return None
        answers = read_draft(vault, app).answers
        by_id = {t.id: t for t in app.tasks}
        promised = deadlines.promises(app)
        rows = []
        for task in sorted(app.tasks, key=lambda t: (promised[t.matter_code].due or date.max, t.id)):
            matter = _matter_or_none(cat, task.matter_code)
            waits = []
            for d in task.depends_on:
                if d.depends_on_id in by_id:
                    code = by_id[d.depends_on_id].matter_code
                    before = _matter_or_none(cat, code)
                    waits.append(before.name if before else code)
            rows.append({
                "matter": matter.name if matter else task.matter_code,
                "summary": matter.summary if matter else "",
                "department": _department_name(cat, task.department),
                "deadline": promise_text(promised[task.matter_code]),
                "waits": waits,
                "note": matter.note if matter else "",
                "automatic": any(m.matter_code == task.matter_code and m.automatic for m in app.matters),
            })
        recipient = next((p for p in app.parties if p.role == "recipient"), None)
        return Confirmation(
            app=AppRef(app.id, app.number),
            rows=rows,
            submitted_on=clock.cn_date(clock.as_china(app.submitted_at).date()) if app.submitted_at else "",
            deceased_name=str(answers.get("d_name", "")),
            review=bool(recipient and recipient.needs_review),
            account_masked=mask_account(vault.open(recipient.bank_account_enc) or "") if recipient else "",
            phone_masked=mask_phone(applicant_facts(session, vault, account_id).phone or answers.get("a_phone") or ""),
        )
