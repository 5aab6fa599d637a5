"""The family's own deadlines, counted from the date of death (DOMAIN 注1, 注2, 注4, §3 Q15):
what the progress page and the reminders ask the family to keep an eye on."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal.domain.eligibility import first_day_of_next_month
from portal.domain.policy_params import PlanSettings, default_params


@dataclass(frozen=True)
class PersonalDeadline:
    title: str
    due: date | None
    text: str
    done: bool = False

    def days_left(self, today: date) -> int | None:
        return None if self.due is None else (self.due - today).days


def _span(days: int) -> str:
    """90 -> 3个月, 45 -> 45天: how a family says a time limit."""
    return f"{days // 30}个月" if days % 30 == 0 and days >= 60 else f"{days}天"


def personal_deadlines(death_date: date, matters: set[str] | frozenset[str],
                       finished: set[str] | frozenset[str] = frozenset(),
                       plan: PlanSettings | None = None) -> list[PersonalDeadline]:
    """What the family should keep an eye on, with dates (DOMAIN 注1, 注2, 注4, §3 Q15).

    The days come from content/policy_params.toml, the same figures the personal plan uses.
    """
    ps = plan or default_params().plan
    hukou = f"按规定应在逝者去世后{ps.hukou_days}日内注销户口（注1）"
    items = [
        PersonalDeadline(
            "户口注销", death_date + timedelta(days=ps.hukou_days),
            f"{hukou}。您已申请的，公安部门会办理，您不用另外跑。"
            if "hukou" in matters else f"{hukou}，请到户籍所在地派出所办理。",
            done="hukou" in finished,
        ),
    ]
    if "pension" in matters:
        items.append(PersonalDeadline(
            "养老金停发", first_day_of_next_month(death_date),
            "养老金从去世的次月起停发；之后多发的钱需要退回，停发由人社部门办理。",
            done="pension" in finished,
        ))
        if "medical" in matters:
            items.append(PersonalDeadline(
                "先办医疗费报销", None,
                "还有医疗费没有报销的，请先办完报销，医保个人账户清算后才发放丧葬费和抚恤金（注2）。",
                done="medical" in finished,
            ))
        items.append(PersonalDeadline(
            "丧葬补助金、抚恤金申领", death_date + timedelta(days=ps.pension_claim_days),
            f"一般在去世后{_span(ps.pension_claim_days)}内申领，具体以当地人社部门为准。医保清算为负数的，会从中扣回（注4）。",
            done="pension" in finished,
        ))
    return items
