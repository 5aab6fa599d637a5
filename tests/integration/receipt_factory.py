"""Small factory for submitted applications, written straight to the database (receipt tests, bench).

Values are fictional. Personal numbers are sealed with the same vault the app uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.models import (
    Application,
    ApplicationMatter,
    CitizenAccount,
    Deceased,
    DepartmentTask,
    Party,
)
from portal.services import pii

LONG = 200  # longest free-text answer the form allows (String(200) columns)


def long_text(prefix: str, n: int = LONG) -> str:
    """A realistic-looking Chinese text of exactly n characters."""
    filler = "温州市鹿城区五马街道解放街道旁小区幢单元室号楼东西南北路巷弄村委会附近东侧往前约米处"
    text = prefix
    i = 0
    while len(text) < n:
        text += filler[i % len(filler)]
        i += 1
    return text[:n]


@dataclass
class Spec:
    number: str = "330302-20261122-0007"
    sub: str = "zj-u-0001"  # chenjianguo of auth/personas.toml
    account_name: str = "陈建国"
    status: str = "submitted"
    county_code: str = "330302"
    township: str = "五马街道"
    channel: str = "online"
    applicant_name: str = "陈建国"
    applicant_id: str = "33030219620315031X"
    applicant_phone: str = "19900000001"
    applicant_address: str = "浙江省温州市鹿城区五马街道解放街123号"
    applicant_relation: str = "child"
    recipient: bool = True
    recipient_name: str = "陈建国"
    recipient_relation: str = "child"
    recipient_id: str = "33030219620315031X"
    bank_name: str = "中国工商银行温州分行"
    bank_account: str = "6222021234567890123"
    deceased_name: str = "陈德明"
    deceased_id: str = "330302193801020013"
    gender: str = "男"
    birth_date: date = date(1938, 1, 2)
    age: int = 88
    ethnicity: str = "01"
    hukou_county: str = "330302"
    hukou_township: str = "五马街道"
    hukou_address: str | None = "解放街123号"
    temp_township: str | None = None
    death_time: datetime = datetime(2026, 11, 20, 3, 10)
    death_cause: str = "疾病（肺部感染）"
    certificate_type: str = "medical"
    certificate_no: str = "A330302202600123"
    body_at_funeral_home: bool = True
    funeral_home: str | None = "温州市殡仪馆"
    pickup_address: str | None = None
    pickup_time: datetime | None = None
    ashes_category: str = "commercial_cemetery"
    ashes_place: str = "温州市仰义陵园"
    procession_route: str | None = None
    pension_type: str = "enterprise_retired"
    is_veteran: bool = False
    has_disability_cert: bool = False
    receives_assistance: bool = False
    matters: tuple[str, ...] = ("cremation", "hukou", "medical", "pension")
    automatic: tuple[str, ...] = ("certificate",)
    with_tasks: bool = False
    submitted_at: datetime = datetime(2026, 11, 22, 6, 5, tzinfo=UTC)
    extra: dict[str, Any] = field(default_factory=dict)


DEPARTMENTS = {
    "cremation": "binyiguan", "hukou": "gongan", "medical": "yibao", "pension": "renshe",
    "provident": "gongjijin", "certificate": "weijian", "veteran": "tuiyi", "disability": "canlian",
    "assistance": "minzheng",
}


def account_for(session: Session, sub: str, name: str) -> CitizenAccount:
    from tests.integration.factories import ISSUER  # the test settings' stand-in: logins find this account

    account = session.scalar(select(CitizenAccount).where(CitizenAccount.issuer == ISSUER, CitizenAccount.sub == sub))
    if account is None:
        account = CitizenAccount(sub=sub, issuer=ISSUER, name=name, auth_level=3)
        session.add(account)
        session.flush()
    return account


def make_application(session: Session, vault: Vault, spec: Spec | None = None, **overrides: Any) -> Application:
    s = spec or Spec()
    for key, value in overrides.items():
        if not hasattr(s, key):
            raise TypeError(f"unknown field {key}")
        setattr(s, key, value)
    account = account_for(session, s.sub, s.account_name)
    app = Application(number=s.number, account_id=account.id, status=s.status, channel=s.channel,
                      scenario="home", county_code=s.county_code, township=s.township,
                      submitted_at=s.submitted_at)
    session.add(app)
    session.flush()
    session.add(Deceased(
        application_id=app.id, name=s.deceased_name, id_card_enc=vault.seal(s.deceased_id),
        id_card_bidx=vault.index(s.deceased_id) or "", gender=s.gender, birth_date=s.birth_date, age=s.age,
        ethnicity=s.ethnicity, hukou_county=s.hukou_county, hukou_township=s.hukou_township,
        hukou_address=s.hukou_address, temp_township=s.temp_township, death_time=s.death_time,
        death_cause=s.death_cause, certificate_type=s.certificate_type,
        certificate_no_enc=pii.seal(vault, pii.Kind.CERTIFICATE, s.certificate_no).enc,
        certificate_no_bidx=pii.seal(vault, pii.Kind.CERTIFICATE, s.certificate_no).bidx,
        body_at_funeral_home=s.body_at_funeral_home, funeral_home=s.funeral_home,
        pickup_address=s.pickup_address, pickup_time=s.pickup_time, ashes_category=s.ashes_category,
        ashes_place=s.ashes_place, procession_route=s.procession_route, pension_type=s.pension_type,
        is_veteran=s.is_veteran, has_disability_cert=s.has_disability_cert,
        receives_assistance=s.receives_assistance, civil_pledge_at=s.submitted_at - timedelta(minutes=3),
    ))
    session.add(Party(application_id=app.id, role="applicant", name=s.applicant_name,
                      relation=s.applicant_relation, id_card_enc=vault.seal(s.applicant_id),
                      id_card_bidx=vault.index(s.applicant_id), phone_enc=vault.seal(s.applicant_phone),
                      address=s.applicant_address))
    if s.recipient:
        session.add(Party(application_id=app.id, role="recipient", name=s.recipient_name,
                          relation=s.recipient_relation, id_card_enc=vault.seal(s.recipient_id),
                          id_card_bidx=vault.index(s.recipient_id), bank_name=s.bank_name,
                          bank_account_enc=vault.seal(s.bank_account),
                          needs_review=s.recipient_relation not in {"spouse", "child", "parent", "grandparent", "grandchild"}))
    for code in s.matters:
        session.add(ApplicationMatter(application_id=app.id, matter_code=code, automatic=False))
    for code in s.automatic:
        session.add(ApplicationMatter(application_id=app.id, matter_code=code, automatic=True))
    if s.with_tasks:
        for i, code in enumerate((*s.matters, *s.automatic)):
            session.add(DepartmentTask(application_id=app.id, matter_code=code, department=DEPARTMENTS[code],
                                       county_code=s.county_code, status="pending",
                                       deadline=date(2026, 11, 23) + timedelta(days=3 * i)))
    session.flush()
    session.refresh(app)
    return app
