"""Staff wording of logged events (issue 11 item 18): one table that covers every tag the portal records."""
from __future__ import annotations

import re
from pathlib import Path

from portal.domain.event_wording import OTHER_LABEL, STAFF_EVENTS, EventFacts, staff_wording
from portal.services.notifications import tidy

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r'"((?:citizen|staff|system|auth):[a-z_]+:[a-z_]*)"')


def _recorded_tags() -> set[str]:
    tags: set[str] = set()
    for folder in ("portal", "auth"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for call in re.finditer(r"\brecord\(", text):
                first = TAG.search(text, call.end(), call.end() + 200)
                if first:
                    tags.add(first.group(1))
    return tags


def test_every_recorded_tag_has_a_staff_label() -> None:
    tags = _recorded_tags()
    assert "citizen:application:submit" in tags and "staff:task:return" in tags  # the scan finds them
    prefixes = {t for t in tags if t.endswith(":")}  # built as "staff:account:" + ...
    missing = sorted(t for t in tags - prefixes if t not in STAFF_EVENTS)
    assert missing == []
    for prefix in prefixes:
        assert any(k.startswith(prefix) for k in STAFF_EVENTS), prefix


def test_family_wording_becomes_staff_wording() -> None:
    names = {"medical": "医疗保险个人账户清算", "hukou": "亡故人户口注销"}.get
    cases = {
        "staff:application:accept": EventFacts("窗口已受理您的申请，各部门开始办理", {"started": ["hukou", "medical"]},
                                               matter_names=lambda c: names(c) or c),
        "citizen:task:resume": EventFacts("您已补正，“亡故人户口注销”恢复办理", {}, matter="亡故人户口注销"),
        "staff:task:return": EventFacts("“亡故人户口注销”需要您补正“死亡证明”：请核对", {
            "result": {"correction_step": "certificate", "correction_reason": "请核对"}}, matter="亡故人户口注销"),
        "system:application:complete": EventFacts("您申请的所有事项都已办结", {}),
        "citizen:application:resubmit": EventFacts("您已修改并重新提交申请，等待窗口受理", {}),
        "citizen:application:submit": EventFacts("您提交了申请，等待乡镇（街道）窗口受理", {"matters": ["a", "b"]}),
        "staff:application:return": EventFacts("窗口退回了您的申请，需要补充或修改：缺门牌号", {"return_reason": "缺门牌号"}),
        "citizen:application:correct": EventFacts("补正了申请中的“去世时间和原因”", {"step": "death"}),
    }
    for tag, facts in cases.items():
        label, detail = staff_wording(tag, facts)
        assert label and "您" not in label + detail, (tag, label, detail)
    assert staff_wording("staff:application:accept", cases["staff:application:accept"]) == (
        "窗口受理", "推送到各部门开始办理：亡故人户口注销、医疗保险个人账户清算")
    assert staff_wording("citizen:application:correct", cases["citizen:application:correct"])[1] == "家属修改了“去世时间和原因”"
    assert staff_wording("x:y:z", EventFacts("原话", {})) == (OTHER_LABEL, "原话")


def test_sms_punctuation_is_tidied_where_words_meet() -> None:
    assert tidy("内容：请补充户口簿。。请登录") == "内容：请补充户口簿。请登录"
    assert tidy("原因：已在外地火化.。如有疑问") == "原因：已在外地火化。如有疑问"
    assert tidy("补正：编号少了一位！。请登录") == "补正：编号少了一位！请登录"
    assert tidy("实发 1,234.50 元。编号") == "实发 1,234.50 元。编号"  # single marks are left alone
