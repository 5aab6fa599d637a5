"""Personal plan (我的办理计划): dated to-dos from the date of death, and an .ics export.

:func:`plan_for` turns a date of death (general plan) or a :class:`Situation`
(tailored plan) into :class:`PlanItem` rows sorted by date; :func:`to_ics` writes
them as an RFC 5545 calendar of all-day events with the ``icalendar`` package.

Which dates are firm and which are only suggestions is recorded in
``PlanItem.kind``: ``"deadline"`` (a time limit stated in the rules, e.g. 户口注销
within 30 days, 注1), ``"suggestion"`` (a sensible target, configurable in
``content/policy_params.toml`` ``[plan]``) or ``"info"`` (something that happens
on that day, e.g. the monthly reconciliation).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from portal.domain import clock
from portal.domain.eligibility import (
    Params,
    PlanSettings,
    Situation,
    first_day_of_next_month,
    guide,
)

__all__ = ["KINDS", "PlanItem", "plan_for", "to_ics"]

KINDS = {"deadline": "期限", "suggestion": "建议", "info": "提醒"}


@dataclass(frozen=True)
class PlanItem:
    due: date
    title: str
    detail: str
    matter: str | None  # matter code, or None for general steps
    policy_slug: str
    kind: str = "suggestion"  # "deadline" | "suggestion" | "info"

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _settings(params: Params | PlanSettings | None) -> PlanSettings:
    if params is None:
        return PlanSettings()
    if isinstance(params, PlanSettings):
        return params
    return params.plan


def _reconciliation_date(death_date: date, day: int) -> date:
    nxt = first_day_of_next_month(death_date)
    return date(nxt.year, nxt.month, day)


def plan_for(
    situation_or_death_date: Situation | date,
    params: Params | PlanSettings | None = None,
) -> list[PlanItem]:
    """Dated to-dos, sorted by date (items on the same day keep their logical order).

    With a plain ``date`` the plan covers what most families need; with a
    :class:`Situation` it follows :func:`portal.domain.eligibility.guide`.
    """
    if isinstance(situation_or_death_date, Situation):
        situation: Situation | None = situation_or_death_date
        death = situation_or_death_date.death_date
    elif isinstance(situation_or_death_date, date) and not isinstance(situation_or_death_date, datetime):
        situation = None
        death = situation_or_death_date
    elif isinstance(situation_or_death_date, datetime):
        situation = None
        death = situation_or_death_date.date()
    else:
        raise TypeError("plan_for() 需要去世日期（date）或 Situation")
    ps = _settings(params)
    items = _general_plan(death, ps) if situation is None else _situation_plan(situation, params, ps)
    order = {id(item): i for i, item in enumerate(items)}
    return sorted(items, key=lambda it: (it.due, order[id(it)]))


def _days(death: date, n: int) -> date:
    return death + timedelta(days=n)


def _general_plan(death: date, ps: PlanSettings) -> list[PlanItem]:
    hukou_due = _days(death, ps.hukou_days)
    recon = _reconciliation_date(death, ps.reconciliation_day)
    return [
        PlanItem(
            death,
            "开具死亡医学证明",
            "在家中去世的，请告诉村（居）委会或乡镇（街道），卫生院或社区卫生服务中心的医生会上门开具；"
            "在医院去世的，由医院开具；意外或非正常死亡的，由公安机关出具《死亡证明书》。",
            "certificate",
            "death-at-home",
            "suggestion",
        ),
        PlanItem(
            _days(death, ps.application_days),
            "提交身后“一件事”联办申请",
            "到乡镇（街道）行政服务中心，或在浙江政务服务网（浙里办）上填一张表，一起申请火化、户口注销、丧葬费和抚恤金、医保清算等事项。",
            None,
            "process-overview",
            "suggestion",
        ),
        PlanItem(
            _days(death, ps.cremation_days),
            "办理火化",
            "凭死亡证明第四联（居民死亡殡葬证）或公安机关的《死亡证明书》到殡仪馆办理，具体时间请与殡仪馆预约。符合条件的基本殡葬服务免费。",
            "cremation",
            "cremation-materials",
            "suggestion",
        ),
        PlanItem(
            recon,
            "各部门每月对账",
            "各部门每月10日前后核对死亡信息。领养老金、低保、残疾人补贴等的，可以在这之后确认是否已停发；多发的需要退回。",
            None,
            "overpaid-pension",
            "info",
        ),
        PlanItem(
            _days(death, ps.medical_reimbursement_days),
            "报销未结的医疗费用，办理医保个人账户清算",
            "请先办完医疗费用报销和医保个人账户清算，再申领丧葬费、抚恤金（注2）；清算为负数的，从丧葬费、抚恤金中直接扣回（注4）。",
            "medical",
            "medical-bills-first",
            "suggestion",
        ),
        PlanItem(
            hukou_due,
            "户口注销的最后期限",
            f"请在{clock.cn_date(hukou_due)}前注销逝者户口（去世后{ps.hukou_days}日内，登记表注1）。联办时由公安根据共享数据办理；在派出所窗口一般当场办结。",
            "hukou",
            "hukou-cancellation",
            "deadline",
        ),
        PlanItem(
            _days(death, ps.pension_claim_days),
            "申领丧葬补助金、抚恤金",
            "逝者参加了养老保险的，建议在3个月内、医保清算完成后申领（这是建议，不是法定期限）。领取人须为直系亲属（注3）。"
            "机关事业单位人员请通过原单位按原流程办理。",
            "pension",
            "enterprise-retiree-benefits",
            "suggestion",
        ),
    ]


_CERT_TITLES = {
    "home": ("报告死亡并开具死亡医学证明",
             "请告诉村（居）委会或乡镇（街道），卫生院或社区卫生服务中心的医生会上门了解死因并开具证明。"),
    "hospital": ("向医院领取死亡医学证明", "由医院开具，并由医院通知殡仪馆接运遗体。"),
    "unnatural": ("等待公安机关出具《死亡证明书》",
                  "公安机关根据调查和鉴定结果出具《死亡证明书》和遗体处置意见书，请按公安机关的通知办理。"),
}


def _situation_plan(s: Situation, params: Params | PlanSettings | None, ps: PlanSettings) -> list[PlanItem]:
    full = params if isinstance(params, Params) else Params(plan=ps)
    result = guide(s, full)
    death = s.death_date
    items: list[PlanItem] = []

    cert = result.matter("certificate")
    if s.died_abroad:
        items.append(
            PlanItem(
                death,
                "办理境外死亡证明、中文译本和使领馆认证",
                "国内的户口注销、社保、医保手续都要用到经我国驻当地使领馆认证的死亡证明及中文译本。",
                "certificate",
                cert.policy_slug if cert else "death-abroad",
            )
        )
    else:
        title, detail = _CERT_TITLES[s.place]
        items.append(PlanItem(death, title, detail, "certificate", cert.policy_slug if cert else "death-at-home"))

    items.append(
        PlanItem(
            _days(death, ps.application_days),
            "提交身后“一件事”联办申请",
            "到乡镇（街道）行政服务中心，或在浙江政务服务网（浙里办）上填一张表，一起申请需要办理的事项。",
            None,
            "process-overview",
        )
    )
    if result.matter("cremation"):
        extra = "（以公安机关出具遗体处置意见书为前提）" if s.place == "unnatural" else ""
        items.append(
            PlanItem(
                _days(death, ps.cremation_days),
                "办理火化",
                f"凭死亡证明到殡仪馆办理殡仪服务和火化{extra}，具体时间请与殡仪馆预约。符合条件的基本殡葬服务免费。",
                "cremation",
                "cremation-materials",
            )
        )

    stop = first_day_of_next_month(death)
    if s.pension_type in ("enterprise_retired", "resident"):
        items.append(
            PlanItem(
                stop,
                "养老金停发",
                "养老金从去世的次月起停发。之后如果还有养老金打到卡上，需要退回，请先不要注销这张银行卡。",
                "pension",
                "overpaid-pension",
                "info",
            )
        )

    recon = _reconciliation_date(death, ps.reconciliation_day)
    items.append(
        PlanItem(
            recon,
            "各部门每月对账",
            "各部门每月10日前后核对死亡信息，确认各项待遇已经停发、户口已经注销。",
            None,
            "how-long-it-takes",
            "info",
        )
    )
    for code, title in (
        ("veteran", "确认优抚待遇已结算"),
        ("disability", "确认残疾人补贴已停发"),
        ("assistance", "确认低保或特困供养金已停发"),
    ):
        advice = result.matter(code)
        if advice:
            items.append(
                PlanItem(
                    recon,
                    title,
                    f"{advice.handled_by}会主动处理，不需要另外申请。{advice.note}",
                    code,
                    advice.policy_slug,
                    "info",
                )
            )

    medical = result.matter("medical")
    if medical:
        items.append(
            PlanItem(
                _days(death, ps.medical_reimbursement_days),
                "报销未结的医疗费用，办理医保个人账户清算",
                "请先办完医疗费用报销和医保个人账户清算，再申领丧葬费、抚恤金（注2）；清算为负数的，从丧葬费、抚恤金中直接扣回（注4）。",
                "medical",
                "medical-bills-first",
            )
        )

    hukou = result.matter("hukou")
    if hukou and hukou.deadline:
        items.append(
            PlanItem(
                hukou.deadline,
                "户口注销的最后期限",
                f"{hukou.deadline_text}办理单位：{hukou.handled_by}。",
                "hukou",
                hukou.policy_slug,
                "deadline",
            )
        )

    claim = _days(death, ps.pension_claim_days)
    pension = result.matter("pension")
    if pension:
        what = "丧葬补助费" if s.pension_type == "resident" else "丧葬补助金和抚恤金"
        items.append(
            PlanItem(
                claim,
                f"申领{what}",
                f"建议在3个月内、医保清算完成后申领（这是建议，不是法定期限）。领取人须为直系亲属（注3）。办理单位：{pension.handled_by}。"
                "养老保险个人账户余额可以一并申请继承。",
                "pension",
                pension.policy_slug,
            )
        )
    elif s.pension_type == "public_institution":
        items.append(
            PlanItem(
                _days(death, ps.application_days),
                "联系逝者的工作单位办理丧葬费和抚恤金",
                "机关事业单位人员的丧葬费、抚恤金不在联办范围内，请通过逝者的工作单位（或原单位）按原流程办理。",
                "pension",
                "public-institution",
            )
        )
    if result.matter("provident"):
        items.append(
            PlanItem(
                claim,
                "提取住房公积金余额",
                "继承人或受遗赠人可以提取全部余额。没有法定期限，可以和其他待遇一起办理。",
                "provident",
                "provident-fund",
            )
        )
    return items


# ---------------------------------------------------------------------------------------------
# iCalendar (RFC 5545) through the icalendar package: it escapes, folds at 75 octets and writes CRLF
# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str) -> str:
    """Control characters other than line breaks are not allowed in a TEXT value."""
    return _CONTROL.sub(" ", value)


def _uid(item: PlanItem, domain: str, seen: dict[str, int]) -> str:
    digest = hashlib.sha256(f"{item.due.isoformat()}|{item.matter}|{item.title}".encode()).hexdigest()[:20]
    base = f"{item.due:%Y%m%d}-{digest}"
    count = seen.get(base, 0)
    seen[base] = count + 1
    if count:
        base = f"{base}-{count}"
    return f"{base}@{domain}"


def to_ics(
    items: Iterable[PlanItem],
    *,
    uid_domain: str = "shenhou.wenzhou.example",
    dtstamp: datetime | None = None,
    calendar_name: str = "身后事办理提醒",
    policy_url: Callable[[str], str] | None = None,
    alarm: bool = True,
) -> str:
    """Render ``items`` as an iCalendar document (one all-day VEVENT each).

    ``policy_url(slug)`` (optional) adds a URL property and a link in the description.
    ``alarm`` adds a display reminder at 09:00 the day before each event.
    UIDs are stable for the same date, matter and title, so a re-import updates events.
    """
    stamp = (dtstamp or clock.now()).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", "-//Wenzhou shenhou yijianshi portal//Personal plan//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _text(calendar_name))
    seen: dict[str, int] = {}
    for item in items:
        summary = _text(item.title)
        description = f"{item.kind_label}：{item.detail}"
        url = policy_url(item.policy_slug) if policy_url else None
        if url:
            description = f"{description}\n\n详细说明：{url}"
        event = Event()
        event.add("uid", _uid(item, uid_domain, seen))
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due)
        event.add("dtend", item.due + timedelta(days=1))
        event.add("summary", summary)
        event.add("description", _text(description))
        event.add("transp", "TRANSPARENT")
        if url:
            event.add("url", url)
        if alarm:
            reminder = Alarm()
            reminder.add("action", "DISPLAY")
            reminder.add("description", summary)
            reminder.add("trigger", timedelta(hours=-15))
            event.add_component(reminder)
        cal.add_component(event)
    return str(cal.to_ical(), "utf-8")
