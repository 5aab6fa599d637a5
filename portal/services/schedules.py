"""What the worker does on its own, on a timetable in China time (cron expressions).

Each schedule fires at most once per period across every worker process on every machine: the
firing is recorded as a `schedule_run` row whose primary key is (name, period), and the job it
queues carries the same period in its dedupe key. A worker that was down catches up a missed
firing only within the schedule's grace, so a digest meant for 08:30 is not sent at midnight.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal.domain import clock
from portal.models import ScheduleRun
from portal.services import jobs

log = logging.getLogger("portal.schedules")


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str  # minute hour day month weekday, China time
    kind: str  # the job kind it queues
    grace: timedelta
    summary: str  # for administrators


SCHEDULES: tuple[Schedule, ...] = (
    Schedule("family-reminders", "0 9 * * *", "reminders.family", timedelta(hours=10),
             "每天 9:00 给家属发送期限提醒（户口注销 30 天、抚恤金申领、未提交的草稿）"),
    Schedule("staff-digest", "30 8 * * *", "digest.staff", timedelta(hours=6),
             "每天 8:30 汇总下一个工作日到期和已超期的事项，发给各部门值班电话"),
    Schedule("escalate-overdue", "0 10 * * *", "escalate.overdue", timedelta(hours=10),
             "每天 10:00 把超期较久的事项上报区县管理员"),
    Schedule("monthly-reconciliation", "0 6 10 * *", "reconcile.month", timedelta(days=5),
             "每月 10 日 6:00 生成上月对账（月对账）"),
    Schedule("retention", "30 3 * * *", "retention.run", timedelta(hours=4),
             "每天 3:30 删除超过期限未动的草稿，匿名化超过保存期限的已办结申请"),
)


def latest_firing(schedule: Schedule, at: datetime) -> datetime:
    """The most recent time at or before `at` (China time) that `schedule` fires."""
    local = at.astimezone(clock.CHINA)
    probe = local + timedelta(seconds=1)  # croniter's get_prev is strict; include `at` itself
    prev: datetime = croniter(schedule.cron, probe).get_prev(datetime)
    return prev


def tick(db: sessionmaker[Session], schedules: tuple[Schedule, ...] = SCHEDULES) -> list[str]:
    """Fire every schedule whose period has begun and not yet fired; returns the names fired."""
    now = clock.china_now()
    fired = []
    for schedule in schedules:
        at = latest_firing(schedule, now)
        if now - at > schedule.grace:
            continue
        period = at.strftime("%Y-%m-%dT%H:%M")
        try:
            with db() as session, session.begin():
                session.add(ScheduleRun(name=schedule.name, period=period, fired_at=clock.now()))
                session.flush()
                jobs.enqueue(session, schedule.kind, {"period": period, "schedule": schedule.name},
                             dedupe_key=f"schedule:{schedule.name}:{period}")
        except IntegrityError:
            continue  # another worker fired it for this period
        log.info("schedule %s fired for %s", schedule.name, period)
        fired.append(schedule.name)
    return fired
