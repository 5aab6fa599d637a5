"""The dates promised for an application's matters, read from its rows (see portal.domain.deadlines).

The confirmation page, the progress page, the receipt, the staff pages and the workflow all ask
here, so the date a family is promised is the same on every screen and on paper.
"""
from __future__ import annotations

from datetime import date

from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.deadlines import Promise, Timing, promised_dates
from portal.models import Application

DEFAULT_LIMIT_DAYS = 5  # a matter no longer in the catalogue still gets a deadline
CHINA = clock.CHINA  # kept for old imports
today = clock.today  # kept for old imports: deadlines are promised in China's working days


def time_limit(code: str) -> int:
    """The matter's time limit in working days, from the catalogue."""
    try:
        return default_catalogue().matter(code).time_limit_days
    except KeyError:
        return DEFAULT_LIMIT_DAYS


def timings(app: Application) -> list[Timing]:
    codes = {t.id: t.matter_code for t in app.tasks}
    return [Timing(t.matter_code, time_limit(t.matter_code), t.status, t.deadline,
                   tuple(codes[d.depends_on_id] for d in t.depends_on if d.depends_on_id in codes))
            for t in sorted(app.tasks, key=lambda t: t.id)]


def plan(app: Application, start: date) -> dict[str, Promise]:
    """Each matter's promise if the clock of every matter not yet running started on `start`."""
    return promised_dates(timings(app), start=start)


def promises(app: Application, *, on: date | None = None) -> dict[str, Promise]:
    """What each matter of `app` is promised, as seen on day `on` (China time).

    Before the window accepts, the dates are counted as if it accepted on `on` (never before the
    day the family submitted); they are marked expected (预计) until the clock runs.
    """
    start = on = on or clock.today()
    if app.submitted_at is not None and app.status in (st.APP_SUBMITTED, st.APP_RETURNED):
        start = max(on, clock.as_china(app.submitted_at).date())
    return plan(app, start)
