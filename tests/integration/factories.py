"""Test factory: submitted applications exactly as the submission service leaves them (the contract)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from auth.permissions import Staff, load_staff
from portal.crypto import Vault
from portal.db import transaction
from portal.models import Application, DepartmentTask
from portal.services import workflow as wf
from portal.services.demo import DEMO_CITIZENS, DeceasedSpec, build_submitted, ensure_account, make_id

#: the stand-in provider of the test settings (BASE_URL http://testserver): demo identities belong to it
ISSUER = "http://testserver/idp"
CITIZENS = {"chenjianguo": "zj-u-0001", "linxiaoyan": "zj-u-0002", "zhengzhe": "zj-u-0004"}
STAFF = {
    "clerk": "zj-u-0101", "admin": "zj-u-0190", "hotline": "zj-u-0121", "grid": "zj-u-0122", "clerk-ruian": "zj-u-0201", "officer-gongan-ruian": "zj-u-0202",
    **{f"officer-{d}": f"zj-u-011{i}" for i, d in enumerate(
        ("minzheng", "binyiguan", "gongan", "renshe", "yibao", "weijian", "tuiyi", "canlian", "gongjijin"), start=1)},
}

_seq = [0]


def submitted_application(session: Session, vault: Vault, *, citizen: str = "chenjianguo", county: str = "330302",
                          matters: set[str] | None = None, scenario: str = "hospital", name: str = "陈德明",
                          days_ago: int = 3) -> Application:
    sub = CITIZENS[citizen]
    acc_name, id_no, phone = DEMO_CITIZENS[sub]
    account = ensure_account(session, vault, sub, acc_name, id_no, phone, issuer=ISSUER)
    _seq[0] += 1
    born = date(1940, 1, 1) + timedelta(days=_seq[0])
    died = datetime.now() - timedelta(days=days_ago)
    spec = DeceasedSpec(name, make_id(county, born, _seq[0], True), "男", born, died.replace(microsecond=0),
                        county, "五马街道" if county == "330302" else "安阳街道", scenario=scenario)
    return build_submitted(session, vault, account, spec,
                           matters if matters is not None else {"cremation", "hukou", "medical", "pension"},
                           applicant_name=acc_name, applicant_id=id_no, applicant_phone=phone,
                           submitted=datetime.now(UTC) - timedelta(hours=1))


def staff(session: Session, username: str) -> Staff:
    member = load_staff(session, ISSUER, STAFF[username])
    assert member is not None, username
    return member


def new_application(db: sessionmaker[Session], vault: Vault, **kw: object) -> int:
    """A submitted application in its own transaction; returns its id."""
    with transaction(db) as s:
        return submitted_application(s, vault, **kw).id  # type: ignore[arg-type]


def tasks_by_matter(session: Session, app_id: int) -> dict[str, DepartmentTask]:
    return {t.matter_code: t for t in session.scalars(
        select(DepartmentTask).where(DepartmentTask.application_id == app_id))}


def returned_application(db: sessionmaker[Session], vault: Vault, *, reason: str = "请补充户口簿首页复印件",
                         **kw: object) -> int:
    """A submitted application the window returned to the family (so every step may be corrected)."""
    app_id = new_application(db, vault, **kw)
    with transaction(db) as s:
        app = s.get(Application, app_id)
        assert app is not None
        clerk = "clerk" if app.county_code == "330302" else "clerk-ruian"
        wf.return_application(s, app_id, app.version, staff(s, clerk), reason)
    return app_id
