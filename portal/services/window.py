"""一窗受理: the township window accepts a submitted application, returns it to the family, or
records that it entered the application for them (代办).

Every function works inside the caller's transaction and checks who may (a clerk only
applications of their county; NotFound otherwise), the version the clerk saw (Conflict), moves
the status through portal.domain.status, logs an Event and queues the family's SMS.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from portal.domain import clock
from portal.domain import status as st
from portal.domain.reference import CHANNELS as CHANNEL_OPTIONS
from portal.models import Application
from portal.services import held_facts
from portal.services import notifications as sms
from portal.services.casework import (
    StaffLike,
    app_snapshot,
    check_version,
    flush,
    required_reason,
    staff_actor,
    transition,
)
from portal.services.deadlines import plan
from portal.services.errors import Invalid, NotFound
from portal.services.events import record
from portal.services.tasks import unmet_prerequisites

CHANNELS: dict[str, str] = dict(CHANNEL_OPTIONS)


def clerk_application(session: Session, application_id: int, staff: StaffLike) -> Application:
    """A submitted application of this clerk's county, else NotFound."""
    app = session.get(Application, application_id)
    if app is None or app.status == st.APP_DRAFT or not staff.may_accept(app.county_code):
        raise NotFound()
    return app


def accept(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
           *, ip: str | None = None, on: date | None = None) -> Application:
    """Accept a submitted application: its startable tasks begin, with deadlines from today."""
    app = clerk_application(session, application_id, staff)
    check_version(version, app, session, task=False)
    day = on or clock.today()
    promised = plan(app, day)  # the dates the family was shown, counted from the day of acceptance
    before = app_snapshot(app)
    app.status = transition(app.status, "accept", app=True)
    app.accepted_at = clock.now()
    app.return_reason = None
    started: list[str] = []
    # No autoflush while the prerequisites are read: the changes above must reach the database
    # in `flush`, where a concurrent acceptance is reported as a Conflict, not mid-loop.
    with session.no_autoflush:
        for task in sorted(app.tasks, key=lambda t: t.id):
            task.deadline = promised[task.matter_code].due
            if task.status == st.WAITING and not unmet_prerequisites(session, task):
                task.status = st.PENDING
                started.append(task.matter_code)
    flush(session)
    record(session, staff_actor(staff, ip), "staff:application:accept",
           "窗口已受理您的申请，各部门开始办理", application_id=app.id, public=True,
           before=before, after={**app_snapshot(app), "started": started})
    first = min((t.deadline for t in app.tasks if t.status == st.PENDING and t.deadline), default=day)
    sms.queue_sms(session, app, sms.msg_accepted(app.number or str(app.id), clock.cn_date(first)))
    held_facts.queue_if_held(session, app.id)  # a department reported a matter before it could start
    return app


def return_application(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
                       reason: str, *, ip: str | None = None) -> Application:
    """Send a submitted application back to the family, saying what to add or change."""
    app = clerk_application(session, application_id, staff)
    reason = required_reason(reason, limit=300, label="需要家属补充或修改的内容",
                             message="请写明需要家属补充或修改什么，家属会在短信和“我的申请”里看到")
    check_version(version, app, session, task=False)
    before = app_snapshot(app)
    app.status = transition(app.status, "return", app=True)
    app.return_reason = reason
    flush(session)
    record(session, staff_actor(staff, ip), "staff:application:return",
           f"窗口退回了您的申请，需要补充或修改：{reason}", application_id=app.id, public=True,
           before=before, after=app_snapshot(app))
    sms.queue_sms(session, app, sms.msg_app_returned(app.number or str(app.id), reason))
    return app


def record_channel(session: Session, application_id: int, version: int | str | None, staff: StaffLike,
                   channel: str, *, ip: str | None = None) -> Application:
    """代办: note that the window entered or completed this application for the family."""
    if channel not in CHANNELS:
        raise Invalid({"channel": "请选择办理渠道"})
    app = clerk_application(session, application_id, staff)
    check_version(version, app, session, task=False)
    before = app_snapshot(app)
    app.channel = channel
    app.entered_by_staff_id = staff.id if channel != "online" else app.entered_by_staff_id
    flush(session)
    record(session, staff_actor(staff, ip), "staff:application:channel",
           f"登记办理渠道：{CHANNELS[channel]}", application_id=app.id, before=before, after=app_snapshot(app))
    return app
