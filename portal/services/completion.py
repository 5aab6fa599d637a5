"""The completion notice (办结告知): what each department did, and what is left for the family.

Shown on the progress page once every matter is finished and downloadable as a PDF; the text
message at completion points to it. What the family may still have to do themselves (banks,
telephone, vehicles, property, the estate) is county-editable content in
content/after_completion.toml.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pdf.completion import CompletionView, ResultLine, TodoItem, render_completion
from portal.config import ROOT
from portal.domain import clock
from portal.domain import status as st
from portal.models import Application
from portal.services import workflow as wf

CONTENT_PATH = ROOT / "content" / "after_completion.toml"


@dataclass(frozen=True)
class AfterCompletion:
    intro: str
    items: tuple[TodoItem, ...]


@functools.lru_cache(maxsize=1)
def after_completion() -> AfterCompletion:
    data: dict[str, Any] = tomllib.loads(CONTENT_PATH.read_text(encoding="utf-8"))
    items = tuple(TodoItem(i["title"], i["text"], i["where"]) for i in data["item"])
    return AfterCompletion(data["meta"]["intro"], items)


def _day(value: Any) -> str:
    return st.cn_date(clock.as_china(value).date()) if value is not None else ""


def notice(application: Application) -> CompletionView | None:
    """The notice for a completed application (None until every matter is finished)."""
    if application.status != st.APP_COMPLETED or application.number is None:
        return None
    applicant = next((p for p in application.parties if p.role == "applicant"), None)
    results = []
    for task in sorted(application.tasks, key=lambda t: (t.finished_at is None, t.finished_at, t.id)):
        done = task.status == st.DONE
        detail = st.result_summary(task.matter_code, task.result, task.amount) if done else (task.message or "")
        results.append(ResultLine(
            matter=wf.matter_name(task.matter_code), department=wf.department_name(task.department),
            outcome="已办结" if done else "不予办理", finished_on=_day(task.finished_at),
            detail=detail))
    extra = after_completion()
    return CompletionView(
        number=application.number, deceased_name=application.deceased.name if application.deceased else "",
        applicant_name=applicant.name if applicant else "", completed_on=_day(application.completed_at),
        results=tuple(results), intro=extra.intro, todo=extra.items, issued_on=st.cn_date(clock.today()))


def notice_for_owner(session: Session, app_id: int, account_id: int) -> CompletionView | None:
    """The family's own notice; None for another family's case or one not yet complete."""
    application = session.get(Application, app_id)
    if application is None or application.account_id != account_id:
        return None
    return notice(application)


def owns(session: Session, app_id: int, account_id: int) -> bool:
    application = session.get(Application, app_id)
    return application is not None and application.account_id == account_id and application.number is not None


def notice_pdf(view: CompletionView) -> bytes:
    return render_completion(view)


def download_filename(number: str) -> str:
    return f"身后一件事办结告知-{number}.pdf"
