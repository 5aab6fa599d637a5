"""Facts department systems push to the portal: CloudEvents 1.0 envelopes (structured JSON mode)
and the `data` of each event type, plus the vocabulary of who may send what and which matter it
completes. The one place an event type is defined; the exchange service and the API read it.

`data` fields follow the record sets of MZ/T 141-2019 《殡葬管理服务信息系统数据共享和交换规范》
(DeadInformation: identity, death date, cause, cremation and funeral home; ContactInformation:
the person handling the matters) and the 2026 national death certificate (国卫规划发〔2026〕5号:
its number IS the deceased's 身份证号 from 2026-07-01). The standard's own column names were not
available; the names here are ours, in English, each described in Chinese.

Pure pydantic models (no database, no web): unknown fields are refused everywhere.
"""
from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model, field_validator

from portal.domain import clock
from portal.domain.death_facts import Contact, DeathFacts
from portal.domain.idcard import parse_id
from portal.domain.validators import FieldError

PREFIX = "cn.gov.zj.shenhou."

# --- the parts every data model shares ----------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _id_number(raw: str) -> str:
    try:
        return parse_id(raw).number
    except FieldError as exc:
        raise ValueError(str(exc)) from None


def _china_wall_time(value: datetime | None) -> datetime | None:
    """A time with an offset becomes China wall time; a naive one is taken as China time already."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return clock.as_china(value).replace(tzinfo=None)
    except OverflowError:
        raise ValueError("时间超出范围") from None


class DeceasedRef(_Strict):
    """逝者 (MZ/T 141 DeadInformation: identity)."""

    name: str = Field(min_length=1, max_length=30, description="逝者姓名")
    id_number: str = Field(min_length=15, max_length=24, description="逝者公民身份号码（18位）")

    _check_id = field_validator("id_number")(_id_number)


class ContactRef(_Strict):
    """经办人/联系人 (MZ/T 141 ContactInformation): the next of kin the issuer recorded."""

    name: str = Field(min_length=1, max_length=30, description="联系人姓名")
    phone: str | None = Field(default=None, pattern=r"^1[3-9]\d{9}$", description="联系人手机号码")
    relation: Literal["spouse", "child", "parent", "sibling", "grandparent", "grandchild",
                      "other_relative", "agent"] | None = Field(default=None, description="与逝者关系")


class DeathPlace(_Strict):
    """户籍地 (where the case belongs): GB/T 2260 county code and township."""

    county_code: str = Field(pattern=r"^\d{6}$", description="户籍所在县（市、区）代码")
    township: str | None = Field(default=None, max_length=60, description="户籍所在乡镇（街道）")


# --- data per event type --------------------------------------------------------------------------


class DeathCertificateIssued(_Strict):
    """死亡证明已出具: 卫健 (home: township health centre; hospital) or 公安 (unnatural death)."""

    deceased: DeceasedRef
    certificate_kind: Literal["medical", "police"] = Field(
        description="medical: 《居民死亡医学证明（推断）书》; police: 公安《死亡证明书》")
    certificate_number: str = Field(min_length=6, max_length=30, pattern=r"^[A-Za-z0-9-]+$",
                                    description="证明编号；2026年7月1日起医学证明编号即逝者身份证号")
    scenario: Literal["home", "hospital", "unnatural"] = Field(description="死亡场景（附件2 一、二、三）")
    issuer_name: str = Field(min_length=2, max_length=60, description="出具单位名称")
    issuer_code: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$", description="出具单位统一社会信用代码")
    death_time: datetime = Field(description="死亡时间")
    death_cause: str = Field(min_length=1, max_length=100, description="死亡原因（根本死因）")
    ethnicity: str | None = Field(default=None, pattern=r"^\d{2}$", description="民族（GB 3304 代码）")
    hukou: DeathPlace
    contact: ContactRef | None = None

    _wall = field_validator("death_time")(_china_wall_time)


class BodyReceived(_Strict):
    """遗体已接收 (殡仪馆)."""

    deceased: DeceasedRef
    funeral_home_code: str = Field(min_length=6, max_length=18, pattern=r"^[0-9A-Z]+$", description="殡仪馆代码")
    funeral_home_name: str = Field(min_length=2, max_length=60, description="殡仪馆名称")
    received_at: datetime = Field(description="接收时间")
    death_time: datetime | None = Field(default=None, description="死亡时间")
    hukou: DeathPlace | None = None
    contact: ContactRef | None = None

    _wall = field_validator("received_at", "death_time")(_china_wall_time)


class CremationCompleted(_Strict):
    """火化已完成 (殡仪馆, recorded in the provincial funeral system, 附件2 二)."""

    deceased: DeceasedRef
    funeral_home_code: str = Field(min_length=6, max_length=18, pattern=r"^[0-9A-Z]+$", description="殡仪馆代码")
    funeral_home_name: str = Field(min_length=2, max_length=60, description="殡仪馆名称")
    cremation_certificate_number: str = Field(min_length=4, max_length=30, pattern=r"^[A-Za-z0-9-]+$",
                                              description="火化证明编号")
    cremated_at: datetime = Field(description="火化时间")
    death_time: datetime = Field(description="死亡时间")
    hukou: DeathPlace | None = None
    contact: ContactRef | None = None

    _wall = field_validator("cremated_at", "death_time")(_china_wall_time)


class HouseholdCancelled(_Strict):
    """户口已注销 (公安)."""

    deceased: DeceasedRef
    cancelled_on: date = Field(description="注销日期")
    police_station: str = Field(min_length=2, max_length=60, description="派出所名称")


Benefit = Literal["pension", "assistance", "veteran", "disability"]


class BenefitStopped(_Strict):
    """待遇已停发: 养老金 (人社), 低保特困 (民政), 优抚 (退役军人), 残疾人补贴 (残联)."""

    deceased: DeceasedRef
    benefit: Benefit = Field(description="停发的待遇")
    stopped_from: date = Field(description="停发起始日期（一般为去世次月）")
    overpaid: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2,
                                     description="已多发、需退回的金额（元）")


class BenefitPaid(_Strict):
    """丧葬补助金、抚恤金已发放 (人社) or another benefit's last payment."""

    deceased: DeceasedRef
    benefit: Benefit = Field(description="发放的待遇")
    funeral_grant: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="丧葬补助金（元）")
    lump_sum: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="抚恤金（元）")
    paid_on: date = Field(description="发放日期")


class MedicalAccountSettled(_Strict):
    """医保个人账户已清算 (医保); a negative amount is deducted from the 人社 payout (注4)."""

    deceased: DeceasedRef
    settlement_amount: Decimal = Field(max_digits=12, decimal_places=2, description="清算金额（元），可为负数")
    settled_on: date = Field(description="清算日期")


class ProvidentFundSettled(_Strict):
    """住房公积金已结算 (公积金中心)."""

    deceased: DeceasedRef
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="结算金额（元）")
    settled_on: date = Field(description="结算日期")


# --- the vocabulary: who may send which type, what it completes ------------------------------------


@dataclass(frozen=True)
class EventKind:
    type: str
    label: str  # plain Chinese: what happened
    data: builtins.type[_Strict]
    senders: frozenset[str]  # department codes (content/catalogue.toml)
    completes: str | None = None  # the matter it finishes; None: see `benefit`-based lookup or nothing
    starts_case: bool = False  # a death with no application opens a proactive case (主动办)


@dataclass(frozen=True)
class BenefitKind:
    department: str
    stop_matter: str  # finished by benefit.stopped
    paid_matter: str  # finished by benefit.paid


BENEFITS: dict[str, BenefitKind] = {
    "pension": BenefitKind("renshe", "pension_stop", "pension"),
    "assistance": BenefitKind("minzheng", "assistance", "assistance"),
    "veteran": BenefitKind("tuiyi", "veteran", "veteran"),
    "disability": BenefitKind("canlian", "disability", "disability"),
}

KINDS: dict[str, EventKind] = {k.type: k for k in (
    EventKind(PREFIX + "death-certificate.issued", "死亡证明已出具", DeathCertificateIssued,
              frozenset({"weijian", "gongan"}), completes="certificate", starts_case=True),
    EventKind(PREFIX + "body.received", "遗体已运抵殡仪馆", BodyReceived, frozenset({"binyiguan"})),
    EventKind(PREFIX + "cremation.completed", "火化已完成", CremationCompleted, frozenset({"binyiguan"}),
              completes="cremation", starts_case=True),
    EventKind(PREFIX + "household.cancelled", "户口已注销", HouseholdCancelled, frozenset({"gongan"}),
              completes="hukou"),
    EventKind(PREFIX + "benefit.stopped", "待遇已停发", BenefitStopped,
              frozenset(b.department for b in BENEFITS.values())),
    EventKind(PREFIX + "benefit.paid", "待遇已发放", BenefitPaid, frozenset(b.department for b in BENEFITS.values())),
    EventKind(PREFIX + "medical-account.settled", "医保个人账户已清算", MedicalAccountSettled, frozenset({"yibao"}),
              completes="medical"),
    EventKind(PREFIX + "provident-fund.settled", "住房公积金已结算", ProvidentFundSettled, frozenset({"gongjijin"}),
              completes="provident"),
)}

#: how the family's timeline names the system that reported a fact ("由殡仪馆系统自动报送")
SENDER_WORDS: dict[str, str] = {
    "binyiguan": "殡仪馆", "weijian": "卫生健康部门", "gongan": "公安", "renshe": "人力社保",
    "minzheng": "民政", "tuiyi": "退役军人事务部门", "canlian": "残联", "yibao": "医保",
    "gongjijin": "公积金中心",
}


def reported_by(department: str) -> str:
    return f"由{SENDER_WORDS.get(department, department)}系统自动报送"


def may_send(kind: EventKind, data: _Strict, department: str) -> bool:
    """The department may report this fact (a benefit only by the department that pays it)."""
    if department not in kind.senders:
        return False
    benefit = getattr(data, "benefit", None)
    return benefit is None or BENEFITS[benefit].department == department


def completed_matter(kind: EventKind, data: _Strict) -> str | None:
    """The matter this fact finishes on the case (None: it only informs)."""
    benefit = getattr(data, "benefit", None)
    if benefit is not None:
        return BENEFITS[benefit].paid_matter if kind.type.endswith(".paid") else BENEFITS[benefit].stop_matter
    return kind.completes


# --- the envelope ----------------------------------------------------------------------------------


class _Envelope(_Strict):
    """CloudEvents 1.0, structured JSON mode; (source, id) identifies the event for ever."""

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=128, description="事件编号，同一来源内唯一")
    source: str = Field(min_length=1, max_length=200, pattern=r"^\S+$", description="来源（URI-reference）")
    time: datetime = Field(description="事件发生时间（RFC 3339）")
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = Field(default=None, max_length=200)

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time 需要带时区，例如 2026-12-01T08:30:00+08:00")
        return value


def _envelope(kind: EventKind) -> type[_Envelope]:
    fields: dict[str, Any] = {
        "type": (Literal[kind.type], Field(description=kind.label)),
        "data": (kind.data, ...),
    }
    name = "".join(p.capitalize() for p in kind.type.removeprefix(PREFIX).replace("-", ".").split(".")) + "Event"
    return create_model(name, __base__=_Envelope, **fields)


ENVELOPES: tuple[type[_Envelope], ...] = tuple(_envelope(k) for k in KINDS.values())


class IncomingEvent(RootModel[Annotated[Union[ENVELOPES], Field(discriminator="type")]]):  # type: ignore[valid-type]  # noqa: UP007
    """Any event this portal accepts: the `type` picks the data model (CloudEvents 1.0, structured mode)."""


def parse_event(raw: Mapping[str, Any]) -> _Envelope:
    """A checked event; pydantic.ValidationError lists what is wrong (unknown type, fields, values)."""
    event: _Envelope = IncomingEvent.model_validate(raw).root
    return event


def kind_of(event: _Envelope) -> EventKind:
    return KINDS[getattr(event, "type")]  # noqa: B009


Envelope = _Envelope


# --- what a fact says about the death (for matching, contradictions and the proactive case) --------


def death_facts(data: _Strict) -> DeathFacts | None:
    """The death as the event describes it, when it can open a case (it names the 户籍 county)."""
    deceased: DeceasedRef = getattr(data, "deceased")  # noqa: B009
    hukou: DeathPlace | None = getattr(data, "hukou", None)
    if hukou is None:
        return None
    contact: ContactRef | None = getattr(data, "contact", None)
    cert = data if isinstance(data, DeathCertificateIssued) else None
    home = getattr(data, "funeral_home_name", None)
    return DeathFacts(
        id_number=deceased.id_number, name=deceased.name, county_code=hukou.county_code,
        township=hukou.township, death_time=getattr(data, "death_time", None),
        death_cause=cert.death_cause if cert else None, scenario=cert.scenario if cert else None,
        certificate_no=cert.certificate_number if cert else None, funeral_home=home,
        ethnicity=cert.ethnicity if cert else None,
        contact=Contact(contact.name, contact.phone, contact.relation) if contact else None,
    )
