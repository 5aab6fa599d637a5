"""一表申请, the end: check the answers, submit (once, however often it is posted) and the
confirmation with the 编号 and each matter's promised date."""
from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from auth.permissions import citizen_only
from auth.session import SessionUser
from portal.domain import application_form as steps
from portal.domain import clock
from portal.domain.catalogue import default_catalogue
from portal.domain.form_steps import declared
from portal.domain.idcard import mask_id
from portal.domain.validators import mask_account, mask_phone
from portal.services import applications as drafts
from portal.services import confirmation, intake
from portal.web.apply_view import Acting, actor, masked, not_found, render_in_progress
from portal.web.common import page, redirect, render, services
from portal.web.throttling import account_key, ensure_within

DECLARATION_MISSING = "请阅读申请人承诺，并勾选“我已阅读并同意以上承诺”"


def summary(answers: dict[str, Any], facts: drafts.ApplicantFacts) -> list[dict[str, Any]]:
    """Sections of (label, value, step, field) rows for check answers; None = 未填写."""
    cat = default_catalogue()
    lab = steps.labels(answers)
    derived = steps.derived_facts(answers)
    hukou = steps.hukou_parts(answers)
    county_name = ""
    if hukou:
        try:
            county_name = cat.county(hukou[0]).name
        except KeyError:
            county_name = hukou[0]

    def row(label: str, value: Any, step: str, field: str) -> dict[str, Any]:
        return {"label": label, "value": value if value not in (None, "", []) else None, "step": step, "field": field}

    def declared_rows(section: str) -> list[dict[str, Any]]:
        return [row(d.label, answers.get(d.name), d.step, d.name) for d in declared.FIELDS if d.row == section]

    sections: list[dict[str, Any]] = []
    sections.append({"title": "去世时的情况", "rows": [row("情况", lab.get("scenario"), "scenario", "scenario")]})
    sections.append({"title": "逝者", "rows": [
        row("姓名", answers.get("d_name"), "deceased", "d_name"),
        row("身份证号码", answers.get("d_id"), "deceased", "d_id"),
        row("性别、出生日期", f"{derived.get('gender', '')}，{derived.get('birth_text', '')}出生" if derived else None,
            "deceased", "d_id"),
        row("民族", lab.get("d_ethnicity"), "deceased", "d_ethnicity"),
        row("户籍所在地", f"{county_name}{hukou[1]}" if hukou else None, "deceased", "d_hukou"),
        row("户籍详细地址", answers.get("d_address"), "deceased", "d_address"),
        row("暂住地/单位所在乡镇", answers.get("d_temp"), "deceased", "d_temp"),
        *declared_rows("deceased"),
    ]})
    died = steps.death_datetime(answers)
    sections.append({"title": "去世时间和死亡证明", "rows": [
        row("去世时间", f"{clock.cn_date(died.date())} {died:%H:%M}" if died else None, "death", "death_date"),
        row("去世时年龄", f"{derived['age']}岁" if "age" in derived else None, "death", "death_date"),
        row("死亡原因", answers.get("death_cause"), "death", "death_cause"),
        row(f"{steps.certificate_title(answers)}编号", answers.get("cert_no"), "certificate", "cert_no"),
    ]})
    body_rows = []
    if answers.get("body_at_fh") == "yes":
        fh = answers.get("funeral_home")
        body_rows += [row("遗体是否已运到殡仪馆", "是", "funeral", "body_at_fh"),
                      row("殡仪馆", answers.get("funeral_home_other") if fh == steps.OTHER else fh, "funeral", "funeral_home")]
    else:
        pick = ""
        if answers.get("pickup_date"):
            pick = f"{clock.cn_date(date.fromisoformat(answers['pickup_date']))} {answers.get('pickup_time', '')}"
        body_rows += [row("遗体是否已运到殡仪馆", "否，需要接运" if answers.get("body_at_fh") == "no" else None, "funeral",
                          "body_at_fh"),
                      row("接运地址", answers.get("pickup_address"), "funeral", "pickup_address"),
                      row("接运时间", pick, "funeral", "pickup_date")]
    category = answers.get("ashes_category")
    body_rows += [
        row("骨灰安放", f"{lab.get('ashes_category', '')}：{answers.get(f'ashes_place_{category}', '')}" if category else None,
            "ashes", "ashes_category"),
        row("出殡路线", answers.get("route"), "ashes", "route"),
        row("文明治丧承诺", "已承诺" if answers.get("pledge") == "yes" else None, "ashes", "pledge"),
    ]
    sections.append({"title": "遗体接运和骨灰安放", "rows": body_rows})
    flags = [label for code, label, _ in steps.FLAGS if code in (answers.get("flags") or [])]
    matter_names = []
    for code in answers.get("matters") or []:
        try:
            matter_names.append(cat.matter(code).name)
        except KeyError:
            pass
    sections.append({"title": "要办理的事项", "rows": [
        row("养老保险", lab.get("pension_type"), "matters", "pension_type"),
        row("特殊情况", "、".join(flags) if flags else "无", "matters", "flags"),
        row("申请办理", matter_names, "matters", "matters"),
    ]})
    sections.append({"title": "申请人（您）", "rows": [
        row("姓名", facts.name, "", ""),
        row("身份证号码", masked(facts.id_card, mask_id), "", ""),
        row("联系电话", masked(facts.phone or answers.get("a_phone"), mask_phone),
            "" if facts.phone else "applicant", "a_phone"),
        row("与逝者的关系", lab.get("a_relation"), "applicant", "a_relation"),
        row("联系地址", answers.get("a_address"), "applicant", "a_address"),
        *declared_rows("applicant"),
    ]})
    if steps.wants_pension(answers):
        if answers.get("r_who") == "self":
            who = [row("领取人", f"您本人（{facts.name}）", "recipient", "r_who")]
        else:
            who = [row("领取人姓名", answers.get("r_name"), "recipient", "r_name"),
                   row("与逝者的关系", lab.get("r_relation"), "recipient", "r_relation"),
                   row("身份证号码", masked(answers.get("r_id"), mask_id), "recipient", "r_id")]
        sections.append({"title": "丧葬费和抚恤金领取人", "rows": who + [
            row("开户银行", answers.get("r_bank"), "recipient", "r_bank"),
            row("银行卡号或账号", masked(answers.get("r_account"), mask_account), "recipient", "r_account"),
        ]})
    return sections


def check_page(request: Request, submit_key: str | None, draft: drafts.Draft, facts: drafts.ApplicantFacts,
               errors: dict[str, str], *, acting: Acting | None = None) -> Response:
    """核对并提交: every answer with a link back to its step, the declaration, the submit button
    (the family's own, or a window clerk's for the family when `acting` says so)."""
    answers = draft.answers
    names = [s.name for s in steps.applicable(answers)]
    base = acting.base if acting is not None else "/apply"
    sections = summary(answers, facts)
    if acting is not None and acting.extra.get("applicant_document"):
        for section in sections:
            for r in section["rows"]:
                if r["label"] == "身份证号码" and section["title"].startswith("申请人"):
                    r["label"], r["value"] = "证件", acting.extra["applicant_document"]
    return render(request, "citizen/apply_check.html", {
        **(acting.extra if acting is not None else {}),
        "mode": acting.mode if acting is not None else "draft",
        "base": base,
        "submit_url": f"{base}/submit",
        "sections": sections,
        "errors": errors,
        "submit_key": submit_key,
        "declaration": steps.DECLARATION,
        "review": steps.recipient_review(answers),
        "luhn_confirmed": answers.get("r_account_confirm") == "yes" and steps.wants_pension(answers),
        "back_url": f"{base}/step/{names[-2]}",
        "caption": f"一表申请 · 第{len(names)}步，共{len(names)}步",
    })


@page
@citizen_only
def submit_post(request: Request, form: FormData | None, user: SessionUser) -> Response:
    assert form is not None
    if not user.can_apply_online:
        return redirect("/apply")
    svc = services(request)
    result = intake.submit_draft(
        svc.db, svc.vault, account_id=user.account_id, submit_key=str(form.get("submit_key") or ""),
        declared=form.get("declaration") == "yes", actor=actor(request, user),
        # telling that a case is in progress is a look-up: not past the account's limit
        before_disclosure=lambda: ensure_within(request, "in_progress", account_key(user.account_id)))
    if result.outcome == "declaration":
        assert result.draft is not None and result.applicant is not None
        return check_page(request, result.submit_key, result.draft, result.applicant,
                          {"declaration": DECLARATION_MISSING})
    if result.outcome == "duplicate":
        assert result.in_progress is not None
        return render_in_progress(request, result.in_progress)
    if result.outcome == "incomplete":
        return redirect(f"/apply/step/{result.step}")
    if result.outcome == "unknown":
        raise not_found()
    return redirect(f"/apply/{result.app_id}/done")


@page
@citizen_only
def done_page(request: Request, form: FormData | None, user: SessionUser) -> Response:
    svc = services(request)
    try:
        view = confirmation.confirmation(svc.db, svc.vault, user.account_id, int(request.path_params["app_id"]))
    except drafts.NotFound:
        raise not_found() from None
    if view is None:
        raise not_found()
    return render(request, "citizen/confirmation.html", vars(view))
