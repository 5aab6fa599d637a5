"""Status machine of applications and department tasks: labels, transitions, overdue rules.

Pure Python (no DB, no web). The database stores the plain status strings; what they mean,
which moves are allowed, and how each status is said to a family or to staff lives here.

Task statuses (DepartmentTask.status):
    waiting      not startable yet: the application is not accepted, or an earlier matter
                 it depends on (e.g. 医保清算 before the 人社 payout, 注2/注4) is not finished
    pending      startable, nobody has taken it (未开始)
    in_progress  an officer has taken it (办理中)
    returned     sent back to the family for correction (需补正)
    done         finished (已办结)
    refused      will not be handled, with a reason (不予办理)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from portal.domain import clock
from portal.domain.policy_params import format_yuan

# --- task statuses -------------------------------------------------------------

WAITING, PENDING, IN_PROGRESS, RETURNED, DONE, REFUSED = (
    "waiting", "pending", "in_progress", "returned", "done", "refused",
)
TASK_STATUSES = (WAITING, PENDING, IN_PROGRESS, RETURNED, DONE, REFUSED)
FINISHED = frozenset({DONE, REFUSED})
#: statuses whose deadline clock runs (a returned task waits for the family, a waiting one for others)
CLOCK_RUNNING = frozenset({PENDING, IN_PROGRESS})
OPEN = frozenset({WAITING, PENDING, IN_PROGRESS, RETURNED})

# Application statuses (Application.status)
APP_DRAFT, APP_SUBMITTED, APP_RETURNED, APP_ACCEPTED, APP_COMPLETED = (
    "draft", "submitted", "returned", "accepted", "completed",
)
# 主动办: a department's fact (a death certificate, a cremation) opened the case before any family
# applied; its department tasks already run. A family's submission joins it (-> submitted), and
# their own draft, now part of it, is "merged" (kept for the log, no longer shown).
APP_PROACTIVE, APP_MERGED = "proactive", "merged"

# action -> statuses it may start from, and where it leads
TASK_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "take": (frozenset({PENDING}), IN_PROGRESS),
    "complete": (frozenset({PENDING, IN_PROGRESS}), DONE),
    "refuse": (frozenset({PENDING, IN_PROGRESS}), REFUSED),
    "return": (frozenset({PENDING, IN_PROGRESS}), RETURNED),
    "release": (frozenset({WAITING}), PENDING),   # prerequisites finished / application accepted
    "resume": (frozenset({RETURNED}), PENDING),   # the family fixed what was asked
}

APP_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({APP_SUBMITTED}), APP_ACCEPTED),
    "return": (frozenset({APP_SUBMITTED}), APP_RETURNED),
    "resubmit": (frozenset({APP_RETURNED}), APP_SUBMITTED),
    "complete": (frozenset({APP_ACCEPTED}), APP_COMPLETED),
    "join": (frozenset({APP_PROACTIVE}), APP_SUBMITTED),
    "merge": (frozenset({APP_DRAFT}), APP_MERGED),
}


class TransitionError(ValueError):
    """An action that the current status does not allow; the message is plain Chinese."""


def next_task_status(current: str, action: str) -> str:
    """Where `action` takes a task in status `current`; TransitionError if not allowed."""
    sources, target = TASK_TRANSITIONS[action]
    if current not in sources:
        raise TransitionError(_why_not(current, action))
    return target


def next_app_status(current: str, action: str) -> str:
    sources, target = APP_TRANSITIONS[action]
    if current not in sources:
        raise TransitionError(f"这份申请现在是“{APP_STAFF_LABELS.get(current, current)}”，不能{APP_ACTION_WORDS[action]}。")
    return target


def task_actions(status: str) -> list[str]:
    """Officer actions allowed in `status` (for showing only the buttons that work)."""
    return [a for a in ("take", "complete", "refuse", "return") if status in TASK_TRANSITIONS[a][0]]


ACTION_WORDS = {"take": "接办", "complete": "办结", "refuse": "不予办理", "return": "退回补正",
                "release": "开始办理", "resume": "恢复办理"}
APP_ACTION_WORDS = {"accept": "受理", "return": "退回", "resubmit": "重新提交", "complete": "办结",
                    "join": "由家属补充提交", "merge": "并入主动办理的申请"}


def _why_not(current: str, action: str) -> str:
    if current == WAITING:
        return "这个事项还不能开始：要等前面的事项办结（或申请受理）后才能办理。"
    if current in FINISHED:
        return f"这个事项已经“{STAFF_LABELS[current]}”，不能再{ACTION_WORDS[action]}。"
    if current == RETURNED:
        return "这个事项已退回家属补正，家属重新提交后才能继续办理。"
    return f"这个事项现在是“{STAFF_LABELS.get(current, current)}”，不能{ACTION_WORDS[action]}。"


# --- labels ----------------------------------------------------------------------

FAMILY_LABELS = {
    WAITING: "暂不能开始",
    PENDING: "未开始",
    IN_PROGRESS: "办理中",
    RETURNED: "需补正",
    DONE: "已办结",
    REFUSED: "不予办理",
}
STAFF_LABELS = {
    WAITING: "等待前置事项",
    PENDING: "待接办",
    IN_PROGRESS: "办理中",
    RETURNED: "退回补正中",
    DONE: "已办结",
    REFUSED: "不予办理",
}
TAG_KINDS = {
    WAITING: "waiting",
    PENDING: "pending",
    IN_PROGRESS: "active",
    RETURNED: "returned",
    DONE: "done",
    REFUSED: "refused",
}
APP_FAMILY_LABELS = {
    APP_DRAFT: "未提交（草稿）",
    APP_SUBMITTED: "已提交，等待窗口受理",
    APP_RETURNED: "需要修改后重新提交",
    APP_ACCEPTED: "已受理，各部门办理中",
    APP_COMPLETED: "全部办结",
    APP_PROACTIVE: "主动办理中，待家属补充",
    APP_MERGED: "已并入主动办理的申请",
}
APP_STAFF_LABELS = {
    APP_DRAFT: "草稿",
    APP_SUBMITTED: "待受理",
    APP_RETURNED: "已退回家属",
    APP_ACCEPTED: "已受理",
    APP_COMPLETED: "已办结",
    APP_PROACTIVE: "主动办（待家属补充）",
    APP_MERGED: "已并入主动办",
}
# The printed receipt and its verification page say it their own way (naming the township
# window); anything else reads "办理中".
APP_RECEIPT_LABELS = {
    APP_DRAFT: "草稿，尚未提交",
    APP_SUBMITTED: "已提交，等待乡镇（街道）受理",
    APP_RETURNED: "已退回，请按要求补正后重新提交",
    APP_ACCEPTED: "已受理，各部门办理中",
    APP_COMPLETED: "全部办结",
}
APP_TAG_KINDS = {
    APP_DRAFT: "waiting", APP_SUBMITTED: "pending", APP_RETURNED: "returned",
    APP_ACCEPTED: "active", APP_COMPLETED: "done", APP_PROACTIVE: "active", APP_MERGED: "waiting",
}


@dataclass(frozen=True)
class TaskLabel:
    text: str   # the words on the tag
    kind: str   # css modifier: tag--<kind>
    detail: str = ""  # a second line: waiting on what, refused why


def family_task_label(status: str, *, app_status: str, waiting_on: list[str] | tuple[str, ...] = (),
                      reason: str | None = None) -> TaskLabel:
    """The tag a family sees for one matter, in words (never colour alone)."""
    if status == WAITING:
        if app_status in (APP_SUBMITTED, APP_RETURNED, APP_DRAFT):
            after = f"窗口受理、{'、'.join(waiting_on)}办结后" if waiting_on else "窗口受理后"
            return TaskLabel("未开始", "pending", f"{after}开始办理")
        names = "、".join(waiting_on) or "前面的事项"
        return TaskLabel(f"暂不能开始（等待：{names}）", "waiting", f"{names}办结后自动开始")
    label = TaskLabel(FAMILY_LABELS[status], TAG_KINDS[status])
    if status == REFUSED and reason:
        return TaskLabel(label.text, label.kind, f"原因：{reason}")
    return label


def staff_task_label(status: str, waiting_on: list[str] | tuple[str, ...] = (), *,
                     app_status: str = APP_ACCEPTED) -> TaskLabel:
    if status == WAITING and app_status in (APP_SUBMITTED, APP_RETURNED, APP_DRAFT):
        return TaskLabel("受理后开始", "pending")
    if status == WAITING and waiting_on:
        return TaskLabel(f"暂不能开始（等待：{'、'.join(waiting_on)}）", "waiting")
    return TaskLabel(STAFF_LABELS[status], TAG_KINDS[status])


# --- deadlines ---------------------------------------------------------------------

def is_overdue(status: str, deadline: date | None, today: date) -> bool:
    """Past its deadline while the department's clock runs (未开始 or 办理中)."""
    return deadline is not None and status in CLOCK_RUNNING and deadline < today


def finished_late(status: str, deadline: date | None, finished_on: date | None) -> bool:
    return status in FINISHED and deadline is not None and finished_on is not None and finished_on > deadline


def days_overdue(deadline: date, today: date) -> int:
    return (today - deadline).days


# The Chinese date formats live in the clock module; re-exported for the templates that call st.cn_date.
cn_date = clock.cn_date
cn_date_weekday = clock.cn_date_weekday


# --- correction steps ----------------------------------------------------------------

#: steps of the application form a family can be asked to fix (result["correction_step"])
CORRECTION_STEPS: dict[str, str] = {
    "deceased": "逝者信息",
    "certificate": "死亡证明",
    "funeral": "遗体火化安排",
    "ashes": "骨灰安放",
    "matters": "申请办理事项",
    "recipient": "丧葬费、抚恤金领取人和银行账户",
    "applicant": "申请人信息",
}

#: form steps (portal.domain.application_form.STEPS) that answer a correction asked for under another
#: code: the form asks the date and cause of death on its own screen ("death"), which the back office
#: returns as part of 逝者信息 or 死亡证明
CORRECTION_ALIASES: dict[str, frozenset[str]] = {"death": frozenset({"deceased", "certificate"})}


def corrected_steps(form_step: str) -> frozenset[str]:
    """The correction_step codes a family answers by fixing the form step `form_step`."""
    return frozenset({form_step}) | CORRECTION_ALIASES.get(form_step, frozenset())


# --- results officers record, per matter -----------------------------------------------------

@dataclass(frozen=True)
class ResultField:
    name: str
    label: str
    kind: str  # money | money_signed | date
    hint: str = ""


RESULT_FIELDS: dict[str, tuple[ResultField, ...]] = {
    "medical": (
        ResultField("settlement_amount", "医保个人账户清算金额（元）", "money_signed",
                    "余额为正数直接填写；清算为负数（需扣回）的，前面加负号，例如 -320.50。"
                    "负数将从丧葬费、抚恤金中扣回（注4）。"),
    ),
    "hukou": (
        ResultField("cancelled_on", "户口注销日期", "date"),
    ),
    "pension": (
        ResultField("funeral_grant", "丧葬补助金（元）", "money"),
        ResultField("lump_sum", "抚恤金（元）", "money"),
    ),
}


def result_fields(matter_code: str) -> tuple[ResultField, ...]:
    return RESULT_FIELDS.get(matter_code, ())


#: every amount an officer types, and every sum the portal computes from them, stays below this
#: (a 丧葬费/抚恤金 or 医保 settlement is far smaller; two of them still fit DepartmentTask.amount, Numeric(12,2))
MAX_AMOUNT = Decimal("1000000000")
TOO_LARGE = "金额太大了（不能超过 999,999,999.99 元），请检查"


def parse_money(raw: str | None, *, signed: bool) -> Decimal:
    """Parse an amount typed by staff ("1,234.5", "-320.50", "１２３"); ValueError in Chinese.

    Never raises anything but ValueError: huge ("1e30"), non-finite ("NaN", "Infinity") and
    over-precise values are rejected before any arithmetic that could overflow the context.
    """
    text = (raw or "").strip().replace(",", "").replace("，", "").replace(" ", "").replace("元", "")
    text = text.translate(str.maketrans("０１２３４５６７８９．－", "0123456789.-"))
    if not text:
        raise ValueError("请填写金额，没有的填 0")
    if len(text) > 40:
        raise ValueError(TOO_LARGE)
    try:
        value = Decimal(text)
    except (ArithmeticError, ValueError):  # decimal.InvalidOperation is an ArithmeticError
        raise ValueError("请填写数字金额，例如 1234.50") from None
    if not value.is_finite():
        raise ValueError("请填写数字金额，例如 1234.50")
    if not signed and value.is_signed() and value != 0:
        raise ValueError("这个金额不能是负数")
    try:  # copy_abs and comparisons are exact (no context rounding); quantize is safe once small
        if value.copy_abs() >= MAX_AMOUNT:
            raise ValueError(TOO_LARGE)
        cents = value.quantize(Decimal("0.01"))
    except ArithmeticError:
        raise ValueError(TOO_LARGE) from None
    if value != cents:
        raise ValueError("金额最多保留两位小数（到分）")
    return cents if cents != 0 else Decimal("0.00")  # no "-0.00"


def amount_in_range(value: Decimal) -> bool:
    """A computed amount (e.g. the 人社 net payout) that can be stored and shown."""
    return value.is_finite() and value.copy_abs() < MAX_AMOUNT


def medical_deduction(settlement: Decimal | float | None) -> Decimal:
    """注4: a negative 医保 settlement is deducted from the funeral grant / lump sum."""
    if settlement is None:
        return Decimal("0.00")
    value = Decimal(str(settlement)).quantize(Decimal("0.01"))
    return -value if value < 0 else Decimal("0.00")


def pension_payout(funeral_grant: Decimal, lump_sum: Decimal, settlement: Decimal | float | None) -> dict[str, str]:
    """The 人社 payout after the 注4 deduction; amounts as strings (JSON-safe, exact)."""
    deduction = medical_deduction(settlement)
    gross = funeral_grant + lump_sum
    net = gross - deduction
    return {
        "funeral_grant": str(funeral_grant),
        "lump_sum": str(lump_sum),
        "medical_deduction": str(deduction),
        "still_owed": str(-net if net < 0 else Decimal("0.00")),
        "net_paid": str(net if net > 0 else Decimal("0.00")),
    }


def yuan(value: Any) -> str:
    """1234.5 -> "1,234.50 元"; negatives keep their sign (the guide's money format)."""
    return f"{format_yuan(Decimal(str(value)))} 元"


def result_summary(matter_code: str, result: dict[str, Any] | None, amount: Any = None) -> str:
    """One plain sentence about what a finished matter achieved, for the family and staff."""
    result = result or {}
    if matter_code == "hukou" and result.get("cancelled_on"):
        return f"户口已于{cn_date(date.fromisoformat(result['cancelled_on']))}注销"
    if matter_code == "medical" and result.get("settlement_amount") is not None:
        value = Decimal(str(result["settlement_amount"]))
        if value < 0:
            return f"医保个人账户已清算，清算为负数 {yuan(value)}，将从丧葬费、抚恤金中扣回（注4）"
        return f"医保个人账户已清算，余额 {yuan(value)}，依法由继承人领取"
    if matter_code == "pension" and result.get("funeral_grant") is not None:
        parts = [f"丧葬补助金 {yuan(result['funeral_grant'])}", f"抚恤金 {yuan(result['lump_sum'])}"]
        if Decimal(result.get("medical_deduction") or "0") > 0:
            parts.append(f"扣回医保 {yuan(result['medical_deduction'])}（注4）")
        parts.append(f"实发 {yuan(result['net_paid'])}")
        if Decimal(result.get("still_owed") or "0") > 0:
            parts.append(f"尚欠医保 {yuan(result['still_owed'])}")
        return "，".join(parts)
    return ""
