"""死讯简况: a 12345 operator or a grid worker reports a death (issue 15, item 1; 宁海, Seed B).

The report opens the proactive case of the deceased, or joins the one already known (and says
so): portal/services/proactive.py does that, the same as for a department's event. Then, as in
宁海: for a death at home the 卫健 home visit is due within 24 hours (a task for the health
centre), and the next of kin gets, in one text, the invitation to finish the application online,
the 30-day 户口 notice (注1) and how to book the cremation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.domain import clock
from portal.domain import status as st
from portal.domain.catalogue import default_catalogue
from portal.domain.death_facts import Contact, DeathFacts
from portal.domain.form_steps.answers import parse_date, parse_time
from portal.domain.idcard import mask_id, parse_id
from portal.domain.policy_params import default_params
from portal.domain.reference import APPLICANT_RELATIONS, SCENARIOS
from portal.domain.validators import FieldError, check_name, check_phone, check_text
from portal.models import Application, CaseInvitation, DepartmentTask
from portal.services import notifications, pii, proactive
from portal.services.applications import Draft, read_draft, write_draft
from portal.services.casework import StaffLike, county_name, staff_actor
from portal.services.errors import Invalid
from portal.services.events import record

T = TypeVar("T")

VISIT_MATTER = "certificate"  # 卫健: the home visit establishes the cause and issues the certificate
VISIT_HOURS = 24
SOURCES = {"hotline_operator": "12345热线", "grid_worker": "网格员"}


@dataclass(frozen=True)
class ReportForm:
    """The 死讯简况 as typed (strings, as posted)."""

    d_name: str
    d_id: str
    d_hukou: str  # "330302:五马街道"
    place: str
    death_date: str
    death_time: str
    scenario: str
    kin_name: str
    kin_phone: str
    kin_relation: str
    reporter: str  # who reported it: the grid worker, the family member who called 12345, …


def check(form: ReportForm, *, today: date) -> tuple[DeathFacts, str, str]:
    """The facts, the place and the reporter; Invalid with every field's message."""
    errors: dict[str, str] = {}

    def field(name: str, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except FieldError as exc:
            errors[name] = str(exc)
            return None

    name = field("d_name", lambda: check_name(form.d_name, label="逝者姓名"))
    card = field("d_id", lambda: parse_id(form.d_id, today=today))
    county, _, township = form.d_hukou.partition(":")
    try:
        if township not in default_catalogue().county(county).townships:
            raise KeyError(township)
    except KeyError:
        errors["d_hukou"] = "请选择逝者户口所在的乡镇（街道）"
    place = field("place", lambda: check_text(form.place, label="去世地点", max_len=100))
    died_on = field("death_date", lambda: parse_date(form.death_date, label="去世日期"))
    died_at = field("death_time", lambda: parse_time(form.death_time, label="去世时间"))
    if died_on is not None and died_on > today:
        errors["death_date"] = "去世日期不能晚于今天"
    if form.scenario not in {s.code for s in SCENARIOS}:
        errors["scenario"] = "请选择去世时的情况"
    kin = field("kin_name", lambda: check_name(form.kin_name, label="家属姓名"))
    phone = field("kin_phone", lambda: check_phone(form.kin_phone))
    relation = form.kin_relation if form.kin_relation in {c for c, _ in APPLICANT_RELATIONS} else None
    reporter = field("reporter", lambda: check_text(form.reporter, label="报告人", max_len=60))
    if errors or card is None:
        raise Invalid(errors)
    when = datetime.combine(died_on, died_at) if died_on is not None and died_at is not None else None
    facts = DeathFacts(id_number=card.number, name=name or "", county_code=county, township=township,
                       death_time=when, scenario=form.scenario, contact=Contact(kin or "", phone, relation))
    return facts, place or "", reporter or ""


@dataclass(frozen=True)
class ReportOutcome:
    application_id: int
    number: str
    created: bool
    visit_due: str  # 上门时限 in words, "" when no visit task was made
    texted: bool


def _visit_task(session: Session, staff: StaffLike, app: Application, place: str,
                ip: str | None) -> DepartmentTask | None:
    """The 卫健 home visit, due within 24 hours (宁海), unless the case has that task already. The
    instruction (with the address) is on the task's staff timeline, not in the words to the family."""
    if session.scalar(select(DepartmentTask.id).where(DepartmentTask.application_id == app.id,
                                                      DepartmentTask.matter_code == VISIT_MATTER)) is not None:
        return None
    task = proactive.start_tasks(session, app, [VISIT_MATTER], clock.today(), default_catalogue())[0]
    task.deadline = (clock.china_now() + timedelta(hours=VISIT_HOURS)).date()
    record(session, staff_actor(staff, ip), "staff:death_report:home_visit",
           f"上门调查：在家中去世，请在{VISIT_HOURS}小时内派医生上门调查死因并出具死亡证明。地点：{place}",
           application_id=app.id, task_id=task.id)
    return task


def booking_words(county_code: str | None) -> str:
    homes = default_catalogue().county(county_code or "").funeral_homes if county_code else ()
    home = homes[0] if homes else "殡仪馆"
    return f"火化预约：{home}，可拨打12345政务服务热线转接预约"


def kin_notice(app: Application, facts: DeathFacts) -> str:
    """注1's 30-day notice and the cremation booking, for the next of kin."""
    days = default_params().plan.hukou_days
    died = facts.death_time.date() if facts.death_time else clock.today()
    return (f"户籍注销告知：按规定应在去世后{days}日内（{clock.cn_date(died + timedelta(days=days))}前）注销户口，"
            f"公安机关会根据共享信息主动办理，您不用跑派出所。{booking_words(app.county_code)}。")


def report(session: Session, vault: Vault, staff: StaffLike, role: str, form: ReportForm, *,
           base_url: str, ip: str | None = None) -> ReportOutcome:
    """File the report: open or join the case, the home visit, the texts to the next of kin."""
    facts, place, reporter = check(form, today=clock.today())
    source = SOURCES.get(role, "工作人员")
    app, created = proactive.open_or_join_case(session, facts, source=f"{source}报告", vault=vault,
                                               base_url=base_url)
    if not created and app.status == st.APP_PROACTIVE:  # facts known now, nothing overwritten
        draft = read_draft(vault, app)
        write_draft(vault, app, Draft(facts.merged_into(draft.answers), list(draft.done)))
    visit = _visit_task(session, staff, app, place, ip) if facts.scenario == "home" else None
    contact = facts.contact
    texted = False
    if contact is not None and contact.phone and app.status == st.APP_PROACTIVE:
        invited = session.scalar(select(CaseInvitation.id).where(CaseInvitation.application_id == app.id))
        if invited is None:
            proactive.invite(session, app, vault, contact.phone, base_url=base_url)
        notifications.queue_sms(session, app, kin_notice(app, facts),
                                phone_enc=pii.seal(vault, pii.Kind.PHONE, contact.phone).enc)
        texted = True
    where = county_name(facts.county_code)
    record(session, staff_actor(staff, ip), "staff:death_report:file",
           (f"{source}{reporter}报告了{facts.name}（{mask_id(facts.id_number)}）去世的信息"
            + ("，已主动启动办理" if created else f"；这位逝者的去世信息此前已知，本次报告已并入编号 {app.number}")),
           application_id=app.id,
           after={"created": created, "scenario": facts.scenario, "county": facts.county_code, "place": place[:60],
                  "visit_task": visit.id if visit is not None else None, "texted": texted, "area": where})
    return ReportOutcome(app.id, app.number or "", created,
                         f"{clock.cn_date(visit.deadline)}前" if visit is not None and visit.deadline else "", texted)
