"""Acting for relatives (委托) and sharing progress: who may do what on someone else's case.

The applicant stays the applicant (the 登记表 names them, the declaration is theirs). They may
- authorise one family member as their agent (受委托人), who may continue the application and
  act on corrections, but may not change who receives the money or the bank account: that stays
  the applicant's own decision (注3: the 丧葬费/抚恤金 go to a close relative the applicant named);
- give read-only progress to close relatives of the deceased as 注3 lists them (配偶, 子女, 父母,
  孙子女/外孙子女), who can change nothing.
Pure rules, no database.
"""
from __future__ import annotations

from typing import Literal

from portal.domain.reference import APPLICANT_RELATIONS

__all__ = ["ACCESS_KINDS", "AGENT", "AGENT_MAY_NOT", "Role", "SHARED_VIEW_RELATIONS", "VIEWER", "may_change",
           "relation_allowed"]

AGENT = "agent"
VIEWER = "viewer"
Role = Literal["owner", "agent", "viewer"]

ACCESS_KINDS: tuple[tuple[str, str], ...] = (
    (AGENT, "委托他（她）办理：可以继续填写、按部门要求修改，不能改领取人和银行账号"),
    (VIEWER, "只让他（她）看办理进度：不能修改任何内容"),
)

#: 注3's list of close relatives: who may be given read-only progress.
SHARED_VIEW_RELATIONS: frozenset[str] = frozenset({"spouse", "child", "parent", "grandchild"})

#: Steps only the applicant may change: the person paid and their bank account.
AGENT_MAY_NOT: frozenset[str] = frozenset({"recipient"})


def relation_allowed(kind: str, relation: str) -> bool:
    """An agent may be any family member (not another agent); a viewer a close relative of 注3."""
    if kind == VIEWER:
        return relation in SHARED_VIEW_RELATIONS
    return relation in {c for c, _ in APPLICANT_RELATIONS} and relation != "agent"


def may_change(role: Role | None, step: str) -> bool:
    """May a person in `role` on the case change the answers of `step`?"""
    if role == "owner":
        return True
    if role == AGENT:
        return step not in AGENT_MAY_NOT
    return False
