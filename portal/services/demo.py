"""Demo data for the run command: staff memberships for the demo personas, sample applications.

`seed_demo` creates, for the demo families, one application in every state so a newcomer sees
a populated back office and progress page at once: 待受理, 已受理, 办理中 with one overdue task,
退回补正, 全部办结. Rows are built directly (as the submission service would build them) and then
moved through the real workflow functions, so events, deadlines and SMS are what staff would see.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.staff import Staff, load_staff
from portal.config import Settings
from portal.crypto import Vault
from portal.db import make_engine, make_sessionmaker, transaction
from portal.domain import clock
from portal.domain.catalogue import default_catalogue
from portal.domain.deadlines import due_on, schedule
from portal.domain.idcard import age_at
from portal.domain.reference import CERT_NEW_FORMAT_FROM
from portal.models import (
    Application,
    ApplicationMatter,
    CitizenAccount,
    Deceased,
    DepartmentTask,
    NumberSequence,
    Party,
    StaffMember,
    TaskDependency,
)
from portal.services import pii
from portal.services.deadlines import time_limit
from portal.services.events import Actor, record
from portal.services.staff import ensure_demo_staff

DEMO_CITIZENS = {  # sub -> (name, 身份证号, phone)
    "zj-u-0001": ("陈建国", "33030219620315031X", "19900000001"),
    "zj-u-0002": ("林晓燕", "330381197508220462", "19900000002"),
    "zj-u-0004": ("郑喆", "330324199606300177", "19900000004"),
}


def id_check_digit(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def make_id(region: str, birth: date, seq: int, male: bool) -> str:
    order = f"{seq % 100:02d}{(1 if male else 2) + 2 * (seq % 4)}"
    body = f"{region}{birth:%Y%m%d}{order}"
    return body + id_check_digit(body)


def ensure_account(session: Session, vault: Vault, sub: str, name: str, id_no: str, phone: str,
                   *, issuer: str) -> CitizenAccount:
    """The account of (issuer, sub), created as a login at that provider would create it."""
    account = session.scalar(select(CitizenAccount).where(CitizenAccount.issuer == issuer, CitizenAccount.sub == sub))
    if account is None:
        account = CitizenAccount(sub=sub, issuer=issuer, name=name, id_type=1, id_card_enc=vault.seal(id_no),
                                 id_card_bidx=vault.index(id_no), phone_enc=vault.seal(phone), auth_level=3)
        session.add(account)
        session.flush()
    return account


def next_number(session: Session, county: str, day: date) -> str:
    """编号 like 330302-20261122-0007 (per county and day)."""
    prefix = f"{county}-{day:%Y%m%d}"
    seq = session.get(NumberSequence, prefix)
    if seq is None:
        seq = NumberSequence(prefix=prefix, last=0)
        session.add(seq)
    seq.last += 1
    session.flush()
    return f"{prefix}-{seq.last:04d}"


@dataclass
class DeceasedSpec:
    name: str
    id_no: str
    gender: str
    birth: date
    death: datetime
    county: str
    township: str
    scenario: str = "hospital"
    pension_type: str = "enterprise_retired"
    veteran: bool = False
    disability: bool = False


def build_submitted(session: Session, vault: Vault, account: CitizenAccount, spec: DeceasedSpec,
                    matters: set[str], *, applicant_name: str, applicant_id: str, applicant_phone: str,
                    relation: str = "child", submitted: datetime | None = None) -> Application:
    """A submitted application with its tasks, as the submission service creates it (the contract)."""
    cat = default_catalogue()
    submitted = submitted or clock.now()
    county = cat.county(spec.county)
    app = Application(
        account_id=account.id, status="submitted", channel="online", scenario=spec.scenario,
        county_code=spec.county, township=spec.township, number=next_number(session, spec.county, submitted.date()),
        deceased_bidx=vault.index(spec.id_no), submitted_at=submitted,
    )
    session.add(app)
    session.flush()
    cert = "medical" if spec.scenario in ("home", "hospital") else "police"
    cert_no = pii.seal(vault, pii.Kind.CERTIFICATE, _cert_no(spec, cert, app.id))
    session.add(Deceased(
        application_id=app.id, name=spec.name, id_card_enc=vault.seal(spec.id_no) or "",
        id_card_bidx=vault.index(spec.id_no) or "", gender=spec.gender, birth_date=spec.birth,
        age=age_at(spec.birth, spec.death.date()), ethnicity="01", hukou_county=spec.county,
        hukou_township=spec.township, hukou_address=f"{county.name}{spec.township}幸福路8号",
        death_time=spec.death, death_cause="病故", certificate_type=cert,
        certificate_no_enc=cert_no.enc, certificate_no_bidx=cert_no.bidx, body_at_funeral_home=True,
        funeral_home=county.funeral_homes[0], ashes_category="commercial_cemetery", ashes_place="福寿园公墓",
        pension_type=spec.pension_type, is_veteran=spec.veteran, has_disability_cert=spec.disability,
        civil_pledge_at=submitted,
    ))
    for role in ("applicant", "recipient"):
        session.add(Party(
            application_id=app.id, role=role, name=applicant_name, relation=relation,
            id_card_enc=vault.seal(applicant_id), id_card_bidx=vault.index(applicant_id),
            phone_enc=vault.seal(applicant_phone), phone_bidx=vault.index(applicant_phone),
            address=f"{county.name}{spec.township}幸福路8号",
            bank_name="中国工商银行" if role == "recipient" else None,
            bank_account_enc=vault.seal(DEMO_ACCOUNT) if role == "recipient" else None,
        ))
    chosen = cat.tasks_for(matters, pension_type=spec.pension_type, scenario=spec.scenario,
                           veteran=spec.veteran, disability=spec.disability, assistance=False)
    deps = cat.dependencies_among(chosen)
    due = schedule({m.code: m.time_limit_days for m in chosen}, deps, submitted.date())
    by_code: dict[str, DepartmentTask] = {}
    for matter in chosen:
        session.add(ApplicationMatter(application_id=app.id, matter_code=matter.code,
                                      automatic=matter.code not in matters))
        task = DepartmentTask(application_id=app.id, matter_code=matter.code, department=matter.department,
                              county_code=spec.county, status="waiting",
                              deadline=due[matter.code])
        session.add(task)
        by_code[matter.code] = task
    session.flush()
    for code, needs in deps.items():
        for need in needs:
            session.add(TaskDependency(task_id=by_code[code].id, depends_on_id=by_code[need].id))
    _write_answers(vault, app, spec, cert, county.funeral_homes[0], matters, relation=relation,
                   applicant_name=applicant_name)
    record(session, Actor("citizen", account.id, account.name), "citizen:application:submit",
           "您提交了申请，等待乡镇（街道）窗口受理", application_id=app.id, public=True,
           after={"status": "submitted", "matters": sorted(by_code)})
    session.flush()
    session.expire(app, ["tasks", "matters", "parties", "deceased"])
    return app


DEMO_ACCOUNT = "6222021234567890128"  # passes the Luhn check


def _cert_no(spec: DeceasedSpec, cert: str, app_id: int) -> str:
    """From 2026-07-01 the medical certificate is numbered by the deceased's ID number."""
    if cert == "medical" and spec.death.date() >= CERT_NEW_FORMAT_FROM:
        return spec.id_no
    return f"WZ-{spec.death:%Y}-{app_id:06d}"


def _write_answers(vault: Vault, app: Application, spec: DeceasedSpec, cert: str, funeral_home: str,
                   matters: set[str], *, relation: str, applicant_name: str) -> None:
    """The family's answers as the guided form keeps them, so corrections (/apply/<id>/fix/<step>) work."""
    try:
        from portal.domain.application_form import STEPS
        from portal.services.applications import Draft, write_draft
    except ModuleNotFoundError:  # the guided form is not there: rows alone are enough for the back office
        return
    answers = {
        "scenario": spec.scenario,
        "d_name": spec.name, "d_id": spec.id_no, "d_ethnicity": "01", "d_hukou": f"{spec.county}:{spec.township}",
        "d_address": "幸福路8号", "d_temp": "",
        "death_date": spec.death.date().isoformat(), "death_time": f"{spec.death:%H:%M}", "death_cause": "病故",
        "cert_no": _cert_no(spec, cert, app.id),
        "body_at_fh": "yes", "funeral_home": funeral_home,
        "ashes_category": "commercial_cemetery", "ashes_place_commercial_cemetery": "福寿园公墓", "route": "",
        "pledge": "yes",
        "pension_type": spec.pension_type, "matters": sorted(matters),
        "flags": [f for f, on in (("veteran", spec.veteran), ("disability", spec.disability)) if on],
        "a_relation": relation, "a_address": "幸福路8号", "a_name": applicant_name,
        "r_who": "self", "r_bank": "中国工商银行", "r_account": DEMO_ACCOUNT,
        "declaration": "yes",
    }
    write_draft(vault, app, Draft(answers=answers, done=[step.name for step in STEPS]), current_step="check")


# --- the demo applications -----------------------------------------------------------------------

def _staff(session: Session, issuer: str, sub: str) -> Staff:
    staff = load_staff(session, issuer, sub)
    assert staff is not None, f"demo staff {sub} missing"
    return staff


def _seed_applications(session: Session, vault: Vault, issuer: str) -> int:
    from portal.services import workflow as wf

    marker = session.scalar(select(Application.id).join(CitizenAccount).where(
        CitizenAccount.issuer == issuer, CitizenAccount.sub.in_(DEMO_CITIZENS), Application.status != "draft").limit(1))
    if marker is not None:
        return 0
    accounts = {sub: ensure_account(session, vault, sub, *data, issuer=issuer) for sub, data in DEMO_CITIZENS.items()}
    today = clock.today()
    lucheng, ruian = "330302", "330381"
    clerk = _staff(session, issuer, "zj-u-0101")
    clerk_ruian = _staff(session, issuer, "zj-u-0201")
    officer = {d: _staff(session, issuer, f"zj-u-011{i}") for i, d in enumerate(
        ("minzheng", "binyiguan", "gongan", "renshe", "yibao", "weijian", "tuiyi", "canlian", "gongjijin"), start=1)}

    def died(days_ago: int, hour: int = 6) -> datetime:
        d = today - timedelta(days=days_ago)
        return datetime(d.year, d.month, d.day, hour, 30)

    def submit_time(days_ago: int) -> datetime:
        d = today - timedelta(days=days_ago)
        return datetime(d.year, d.month, d.day, 2, 15, tzinfo=UTC)

    def tasks(app: Application) -> dict[str, DepartmentTask]:
        session.refresh(app)
        return {t.matter_code: t for t in app.tasks}

    chen, lin, zheng = accounts["zj-u-0001"], accounts["zj-u-0002"], accounts["zj-u-0004"]
    chen_id, lin_id, zheng_id = (DEMO_CITIZENS[s][1] for s in ("zj-u-0001", "zj-u-0002", "zj-u-0004"))
    created = 0

    # 1. 陈建国: his father's application, in progress; 医保 settled negative (注4), 人社 now running,
    #    户口 cancelled, 公积金 overdue.
    a1 = build_submitted(session, vault, chen, DeceasedSpec(
        "陈德明", make_id("330302", date(1936, 4, 2), 11, True), "男", date(1936, 4, 2), died(16), lucheng,
        "五马街道", scenario="hospital", veteran=True),
        {"cremation", "hukou", "medical", "pension", "provident"}, applicant_name="陈建国",
        applicant_id=chen_id, applicant_phone="19900000001", submitted=submit_time(15))
    wf.accept(session, a1.id, a1.version, clerk, on=today - timedelta(days=14))
    t = tasks(a1)
    wf.complete_task(session, t["cremation"].id, t["cremation"].version, officer["binyiguan"],
                     {"message": "遗体已于当日火化，骨灰已由家属领取。"})
    wf.complete_task(session, t["certificate"].id, t["certificate"].version, officer["weijian"], {})
    wf.take_task(session, t["hukou"].id, t["hukou"].version, officer["gongan"])
    wf.complete_task(session, t["hukou"].id, t["hukou"].version, officer["gongan"],
                     {"cancelled_on": (today - timedelta(days=12)).isoformat()})
    wf.take_task(session, t["medical"].id, t["medical"].version, officer["yibao"])
    wf.complete_task(session, t["medical"].id, t["medical"].version, officer["yibao"],
                     {"settlement_amount": "-320.50", "message": "账户透支 320.50 元，将从丧葬费中扣回。"})
    wf.take_task(session, t["pension"].id, t["pension"].version, officer["renshe"])
    wf.take_task(session, t["provident"].id, t["provident"].version, officer["gongjijin"])
    # exactly one overdue task: 公积金 ran past its deadline; the others are still within theirs
    for task in t.values():
        if task.status in ("pending", "in_progress", "waiting"):
            task.deadline = due_on(today, time_limit(task.matter_code))
    t["provident"].deadline = due_on(today - timedelta(days=14), 5)
    created += 1

    # 2. 陈建国: his mother's application, just submitted (the window's queue).
    build_submitted(session, vault, chen, DeceasedSpec(
        "王秀英", make_id("330302", date(1940, 9, 18), 22, False), "女", date(1940, 9, 18), died(1), lucheng,
        "南汇街道", scenario="home", pension_type="resident"),
        {"cremation", "hukou", "pension"}, applicant_name="陈建国", applicant_id=chen_id,
        applicant_phone="19900000001", submitted=submit_time(0))
    created += 1

    # 3. 林晓燕 (瑞安): accepted today, nothing started yet.
    a3 = build_submitted(session, vault, lin, DeceasedSpec(
        "林国平", make_id("330381", date(1948, 1, 30), 33, True), "男", date(1948, 1, 30), died(3), ruian,
        "安阳街道", scenario="hospital", disability=True),
        {"cremation", "hukou", "medical", "pension"}, applicant_name="林晓燕", applicant_id=lin_id,
        applicant_phone="19900000002", submitted=submit_time(2))
    wf.accept(session, a3.id, a3.version, clerk_ruian)
    created += 1

    # 4. 郑喆: 公安 returned the 户口 matter for correction (death certificate number); others carry on.
    a4 = build_submitted(session, vault, zheng, DeceasedSpec(
        "郑志远", make_id("330302", date(1958, 7, 7), 44, True), "男", date(1958, 7, 7), died(6), lucheng,
        "松台街道", scenario="hospital", pension_type="enterprise_working"),
        {"cremation", "hukou", "medical"}, applicant_name="郑喆", applicant_id=zheng_id,
        applicant_phone="19900000004", submitted=submit_time(5))
    wf.accept(session, a4.id, a4.version, clerk, on=today - timedelta(days=4))
    t = tasks(a4)
    wf.complete_task(session, t["cremation"].id, t["cremation"].version, officer["binyiguan"], {})
    wf.complete_task(session, t["certificate"].id, t["certificate"].version, officer["weijian"], {})
    wf.take_task(session, t["hukou"].id, t["hukou"].version, officer["gongan"])
    wf.return_task(session, t["hukou"].id, t["hukou"].version, officer["gongan"],
                   "死亡证明编号与医院登记的不一致，请核对证明上的编号后重新填写。", "certificate")
    wf.take_task(session, t["medical"].id, t["medical"].version, officer["yibao"])
    created += 1

    # 5. 林晓燕: an earlier application, completed (医保 positive balance, 人社 paid in full).
    a5 = build_submitted(session, vault, lin, DeceasedSpec(
        "林阿婆", make_id("330302", date(1932, 12, 1), 55, False), "女", date(1932, 12, 1), died(60), lucheng,
        "大南街道", scenario="hospital"),
        {"hukou", "medical", "pension"}, applicant_name="林晓燕", applicant_id=lin_id,
        applicant_phone="19900000002", relation="grandchild", submitted=submit_time(58))
    wf.accept(session, a5.id, a5.version, clerk, on=today - timedelta(days=57))
    t = tasks(a5)
    wf.complete_task(session, t["certificate"].id, t["certificate"].version, officer["weijian"], {})
    wf.complete_task(session, t["hukou"].id, t["hukou"].version, officer["gongan"],
                     {"cancelled_on": (today - timedelta(days=56)).isoformat()})
    wf.complete_task(session, t["medical"].id, t["medical"].version, officer["yibao"],
                     {"settlement_amount": "1286.40"})
    wf.complete_task(session, t["pension"].id, t["pension"].version, officer["renshe"],
                     {"funeral_grant": "12896.00", "lump_sum": "58032.00"})
    created += 1

    # 6. 郑喆: returned by the window (missing a document), waiting for the family.
    a6 = build_submitted(session, vault, zheng, DeceasedSpec(
        "郑秀兰", make_id("330302", date(1935, 5, 20), 66, False), "女", date(1935, 5, 20), died(4), lucheng,
        "滨江街道", scenario="home", pension_type="resident"),
        {"cremation", "hukou"}, applicant_name="郑喆", applicant_id=zheng_id, applicant_phone="19900000004",
        relation="grandchild", submitted=submit_time(3))
    wf.return_application(session, a6.id, a6.version, clerk,
                          "申请人是逝者的孙子，请补充填写与逝者关系的说明，并上传户口簿亲属关系页。")
    created += 1

    # 7. A busier 鹿城 queue: a few more accepted applications for the officers.
    for i, (name, born, days) in enumerate((("周美华", date(1944, 2, 14), 9), ("吴建新", date(1951, 10, 3), 7),
                                             ("黄春生", date(1939, 6, 25), 2)), start=1):
        app = build_submitted(session, vault, chen if i % 2 else zheng, DeceasedSpec(
            name, make_id("330302", born, 70 + i, i != 1), "女" if i == 1 else "男", born, died(days + 1),
            lucheng, "七都街道", scenario="hospital"),
            {"cremation", "hukou", "medical", "pension", "provident"},
            applicant_name="陈建国" if i % 2 else "郑喆", applicant_id=chen_id if i % 2 else zheng_id,
            applicant_phone="19900000001" if i % 2 else "19900000004", submitted=submit_time(days))
        wf.accept(session, app.id, app.version, clerk)
        created += 1
    return created


class DemoRefused(RuntimeError):
    """Demo data belongs to the stand-in provider only."""


def demo_refusal(settings: Settings) -> str | None:
    """Why demo data must not be loaded with these settings, or None."""
    if not settings.embedded_idp:
        return (f"OIDC_ISSUER 指向 {settings.oidc_issuer}，不是内置的模拟政务服务网。演示工作人员和演示申请"
                "只属于模拟登录，已跳过，没有写入任何数据。")
    return settings.startup_problem()


def seed_demo(settings: Settings) -> str:
    """Idempotent: running it twice changes nothing the second time. Every demo identity belongs to
    the stand-in provider, so a same-`sub` login at another provider gets none of it."""
    if problem := demo_refusal(settings):
        raise DemoRefused(problem)
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            staff = ensure_demo_staff(session, settings.oidc_issuer)
        with transaction(make_sessionmaker(engine)) as session:
            apps = _seed_applications(session, Vault(settings.pii_key), settings.oidc_issuer)
        return f"新增工作人员 {staff} 名，演示申请 {apps} 份"
    finally:
        engine.dispose()


__all__ = ["seed_demo", "DemoRefused", "build_submitted", "ensure_account", "DeceasedSpec", "make_id", "StaffMember"]
