"""How each logged event is said on staff pages: one table, one label per event tag.

An event's own `summary` is written for whoever reads the timeline it was made for; the public
ones speak to the family (您已补正 …). Staff read the same events in their own words: a short
label (家属补正, 窗口受理) and a line of detail built from what the event recorded. Events whose
summary is already neutral show it as the detail.

Pure Python: tags and plain dicts in, words out.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from portal.domain.application_form import BY_NAME as FORM_STEPS
from portal.domain.status import CORRECTION_STEPS


@dataclass(frozen=True)
class EventFacts:
    """What a staff line may mention, read from the event row and its application."""

    summary: str
    after: Mapping[str, Any]
    matter: str = ""  # the name of the event's task's matter, if any
    matter_names: Callable[[str], str] = str  # matter code -> name


def _same(f: EventFacts) -> str:
    return f.summary


def _submit(f: EventFacts) -> str:
    matters = f.after.get("matters") or []
    number = f.after.get("number")
    return "，".join(x for x in (f"编号 {number}" if number else "", f"共 {len(matters)} 个办理事项" if matters else "")
                    if x)


def _accept(f: EventFacts) -> str:
    started = [f.matter_names(c) for c in f.after.get("started") or []]
    return f"推送到各部门开始办理：{'、'.join(started)}" if started else "推送到各部门"


def _app_return(f: EventFacts) -> str:
    reason = f.after.get("return_reason")
    return f"请家属补充或修改：{reason}" if reason else ""


def _task_return(f: EventFacts) -> str:
    result = f.after.get("result") or {}
    step = CORRECTION_STEPS.get(str(result.get("correction_step") or ""), "")
    reason = result.get("correction_reason") or f.after.get("message") or ""
    head = f"“{f.matter}”请家属补正" + (f"“{step}”" if step else "")
    return f"{head}：{reason}" if reason else head


def _correct(f: EventFacts) -> str:
    step = str(f.after.get("step") or "")
    title = CORRECTION_STEPS.get(step) or (FORM_STEPS[step].title if step in FORM_STEPS else "")
    return f"家属修改了“{title}”" if title else "家属修改了申请"


def _resume(f: EventFacts) -> str:
    return f"“{f.matter}”恢复办理，办结期限重新计算" if f.matter else "恢复办理，办结期限重新计算"


def _nothing(f: EventFacts) -> str:
    return ""


#: tag -> (staff label, how to say the detail). Every tag the portal records is listed; a test keeps it so.
STAFF_EVENTS: dict[str, tuple[str, Callable[[EventFacts], str]]] = {
    "citizen:application:start": ("家属开始填写", _nothing),
    "citizen:application:submit": ("家属提交申请", _submit),
    "citizen:application:correct": ("家属补正", _correct),
    "citizen:application:resubmit": ("家属重新提交", lambda f: "按窗口要求修改后重新提交，等待受理"),
    "citizen:task:resume": ("恢复办理", _resume),
    "staff:application:accept": ("窗口受理", _accept),
    "staff:application:return": ("退回家属修改", _app_return),
    "staff:application:channel": ("登记办理渠道", lambda f: f.summary.removeprefix("登记办理渠道：")),
    "staff:task:take": ("部门接办", _same),
    "staff:task:complete": ("部门办结", _same),
    "staff:task:refuse": ("不予办理", _same),
    "staff:task:return": ("退回家属补正", _task_return),
    "system:task:ready": ("前置事项办结，自动开始", _same),
    "system:application:complete": ("全部办结", lambda f: "所有事项都已办结或答复"),
    "system:task:complete": ("部门系统报送办结", _same),
    "system:exchange:fact": ("部门系统报送", _same),
    "system:exchange:exception": ("报送信息不一致，待核实", _same),
    "system:application:proactive": ("主动办：部门数据发起", _same),
    "citizen:application:join": ("家属补充提交（并入主动办）", _same),
    "staff:exception:resolve": ("核实不一致", _same),
    "staff:application:proxy_start": ("窗口代办：开始填写", _same),
    "staff:application:proxy_link": ("代办申请关联到申请人账号", _same),
    "citizen:application:proxy_claim": ("申请人登录，看到代办的申请", _same),
    "staff:application:print_form": ("打印登记表供签名", _same),
    "staff:case:search": ("查找案件", _same),
    "staff:death_report:file": ("死讯简况：报告去世信息", _same),
    "staff:death_report:home_visit": ("卫生院上门（24小时内）", _same),
    "citizen:access:grant_agent": ("申请人委托亲属办理", _same),
    "citizen:access:grant_viewer": ("申请人授权亲属查看进度", _same),
    "citizen:access:revoke_agent": ("申请人取消委托", _same),
    "citizen:access:revoke_viewer": ("申请人取消查看授权", _same),
    "citizen:access:view": ("授权的亲属查看进度", _same),
    "citizen:text_phone:code_sent": ("发送短信验证码", _same),
    "citizen:text_phone:code_wrong": ("短信验证码输错", _same),
    "citizen:text_phone:verified": ("改用另一个手机号接收短信", _same),
    "citizen:text_phone:stopped": ("短信改回登录手机号", _same),
    "staff:pii:reveal": ("查看完整号码", _same),
    "staff:pii:export": ("导出完整号码", _same),
    "staff:reconcile:confirm": ("确认月对账", _same),
    "staff:reconcile:close": ("月对账结账", _same),
    "staff:receipt:print": ("打印回执", _same),
    "staff:account:create": ("开通工作人员", _same),
    "staff:account:activate": ("启用工作人员", _same),
    "staff:account:deactivate": ("停用工作人员", _same),
    "auth:session:login": ("登录", _same),
}
OTHER_LABEL = "其他记录"


def staff_wording(tag: str, facts: EventFacts) -> tuple[str, str]:
    """(label, detail) of one event for a staff timeline; unknown tags keep their summary."""
    label, detail = STAFF_EVENTS.get(tag, (OTHER_LABEL, _same))
    return label, detail(facts)
