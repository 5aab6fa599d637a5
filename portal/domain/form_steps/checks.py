"""How each step of the 一表申请 is checked: the posted form and the answers so far in, the cleaned
values the step owns and the errors (by field, in screen order) out."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from portal.domain import clock
from portal.domain.catalogue import Catalogue
from portal.domain.form_steps.answers import (
    FLAGS,
    OTHER,
    Ctx,
    Errors,
    Values,
    certificate_type,
    collect,
    death_datetime,
    deceased_card,
    funeral_homes_for,
    one_value,
    parse_date,
    parse_time,
    values_of,
)
from portal.domain.idcard import parse_id
from portal.domain.reference import APPLICANT_RELATIONS, ASHES_CATEGORIES, ETHNICITIES, PENSION_TYPES, SCENARIOS
from portal.domain.validators import (
    FieldError,
    check_bank_account,
    check_certificate_number,
    check_name,
    check_phone,
    check_text,
)


def check_scenario(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    code = one_value(form, "scenario")
    if code not in {s.code for s in SCENARIOS}:
        errors["scenario"] = "请选择逝者去世时的情况"
    else:
        values["scenario"] = code
    return values, errors


def _hukou(raw: str, catalogue: Catalogue) -> str:
    if ":" not in raw:
        raise FieldError("请选择逝者户口所在的乡镇（街道）")
    county_code, township = raw.split(":", 1)
    try:
        county = catalogue.county(county_code)
    except KeyError:
        raise FieldError("请从列表中选择逝者户口所在的乡镇（街道）") from None
    if township not in county.townships:
        raise FieldError("请从列表中选择逝者户口所在的乡镇（街道）")
    return f"{county_code}:{township}"


def check_deceased(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    collect(errors, values, "d_name", lambda: check_name(one_value(form, "d_name"), label="逝者姓名"))

    def id_number() -> str:
        card = parse_id(one_value(form, "d_id"), today=ctx.today)
        if ctx.applicant.id_card and card.number == ctx.applicant.id_card.upper():
            raise FieldError("这是您本人的身份证号码，请填写逝者的身份证号码")
        return card.number

    collect(errors, values, "d_id", id_number)

    def ethnicity() -> str:
        code = one_value(form, "d_ethnicity")
        if code not in {c for c, _ in ETHNICITIES}:
            raise FieldError("请选择逝者的民族")
        return code

    collect(errors, values, "d_ethnicity", ethnicity)
    collect(errors, values, "d_hukou", lambda: _hukou(one_value(form, "d_hukou"), ctx.catalogue))
    collect(errors, values, "d_address",
         lambda: check_text(one_value(form, "d_address"), label="户籍详细地址", max_len=100, required=False))
    collect(errors, values, "d_temp",
         lambda: check_text(one_value(form, "d_temp"), label="暂住地或单位所在乡镇", max_len=60, required=False))
    return values, errors


def check_death(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    card = deceased_card(ctx.answers)
    day = collect(errors, values, "death_date", lambda: parse_date(one_value(form, "death_date"), label="去世日期"))
    values.pop("death_date", None)
    if day is not None:
        if day > ctx.today:
            errors["death_date"] = "去世日期不能晚于今天，请核对"
        elif card is not None and day < card.birth_date:
            errors["death_date"] = (
                f"去世日期早于逝者的出生日期（{clock.cn_date(card.birth_date)}，来自身份证号码），"
                "请核对去世日期，或返回上一步核对身份证号码"
            )
        else:
            values["death_date"] = day.isoformat()
    at = collect(errors, values, "death_time", lambda: parse_time(one_value(form, "death_time"), label="去世时间"))
    if at is not None:
        values["death_time"] = at.strftime("%H:%M")
        if day is not None and "death_date" not in errors and datetime.combine(day, at) > ctx.now:
            errors["death_time"] = "去世时间不能晚于现在，请核对"
            values.pop("death_time")
    collect(errors, values, "death_cause",
         lambda: check_text(one_value(form, "death_cause"), label="死亡原因", max_len=100))
    return values, errors


def check_certificate(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    when = death_datetime(ctx.answers)
    if when is None:  # guarded by step order; keep the check total anyway
        errors["cert_no"] = "请先填写去世时间"
        return values, errors
    collect(errors, values, "cert_no", lambda: check_certificate_number(
        one_value(form, "cert_no"), death_date=when.date(), deceased_id=ctx.answers.get("d_id"),
        certificate_type=certificate_type(ctx.answers)))
    return values, errors


def check_funeral(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    at_home = one_value(form, "body_at_fh")
    if at_home not in ("yes", "no"):
        errors["body_at_fh"] = "请选择遗体是否已经运到殡仪馆"
        return values, errors
    values["body_at_fh"] = at_home
    if at_home == "yes":
        homes = funeral_homes_for(ctx.answers, ctx.catalogue)
        choice = one_value(form, "funeral_home")
        if choice == OTHER:
            values["funeral_home"] = OTHER
            collect(errors, values, "funeral_home_other",
                 lambda: check_text(one_value(form, "funeral_home_other"), label="殡仪馆名称", max_len=60))
        elif choice in homes:
            values["funeral_home"] = choice
        else:
            errors["funeral_home"] = "请选择遗体所在的殡仪馆；不在列表里的，请选“其他殡仪馆”并填写名称"
        return values, errors

    collect(errors, values, "pickup_address",
         lambda: check_text(one_value(form, "pickup_address"), label="遗体接运地址", max_len=100))
    day = collect(errors, values, "pickup_date", lambda: parse_date(one_value(form, "pickup_date"), label="接运日期"))
    at = collect(errors, values, "pickup_time", lambda: parse_time(one_value(form, "pickup_time"), label="接运时间"))
    if day is not None:
        values["pickup_date"] = day.isoformat()
    if at is not None:
        values["pickup_time"] = at.strftime("%H:%M")
    if day is not None and at is not None:
        when = datetime.combine(day, at)
        died = death_datetime(ctx.answers)
        if died is not None and when < died:
            errors["pickup_date"] = "接运时间不能早于去世时间，请核对日期和时间"
        elif when > ctx.now + timedelta(days=30):
            errors["pickup_date"] = "接运时间请选在30天以内；时间还没定的，请填写希望接运的大致时间"
    return values, errors


ASHES_PLACE_MISSING = {
    "funeral_home": "请填写寄存骨灰的殡仪馆名称",
    "commercial_cemetery": "请填写公墓的名称",
    "public_cemetery": "请填写公益性墓地或骨灰堂的名称",
    "pre_reform_tomb": "请填写寿坟所在的地点",
}


def check_ashes(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    category = one_value(form, "ashes_category")
    if category not in {c for c, _ in ASHES_CATEGORIES}:
        errors["ashes_category"] = "请选择骨灰打算安放在哪里"
    else:
        values["ashes_category"] = category
        name = f"ashes_place_{category}"
        if not one_value(form, name).strip():  # the seed: whichever category, its specific name is required
            errors[name] = ASHES_PLACE_MISSING[category]
        else:
            collect(errors, values, name, lambda: check_text(one_value(form, name), label="具体名称", max_len=60))
    collect(errors, values, "route", lambda: check_text(one_value(form, "route"), label="出殡路线", max_len=100, required=False))
    if one_value(form, "pledge") != "yes":
        errors["pledge"] = "请阅读并勾选文明治丧承诺"
    else:
        values["pledge"] = "yes"
    return values, errors


def check_matters(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    pension_type = one_value(form, "pension_type")
    if pension_type not in {c for c, _ in PENSION_TYPES}:
        errors["pension_type"] = "请选择逝者参加的养老保险；不清楚的，请选“未参保/不清楚”"
    else:
        values["pension_type"] = pension_type
    flags = [f for f in values_of(form, "flags") if f in {code for code, _, _ in FLAGS}]
    values["flags"] = flags
    requestable = [m.code for m in ctx.catalogue.requestable_matters()]
    matters = [m for m in requestable if m in values_of(form, "matters")]
    if not matters:
        errors["matters"] = "请至少勾选一项要办理的事项"
    elif pension_type and "pension" in matters:
        reason = ctx.catalogue.blocked_reason("pension", pension_type=pension_type)
        if reason:
            errors["matters"] = reason
    if "matters" not in errors:
        values["matters"] = matters
    return values, errors


def check_applicant(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    relation = one_value(form, "a_relation")
    if relation not in {c for c, _ in APPLICANT_RELATIONS}:
        errors["a_relation"] = "请选择您和逝者的关系"
    else:
        values["a_relation"] = relation
    collect(errors, values, "a_address", lambda: check_text(one_value(form, "a_address"), label="您的联系地址", max_len=100))
    if not ctx.applicant.phone:
        collect(errors, values, "a_phone", lambda: check_phone(one_value(form, "a_phone")))
    return values, errors


def check_recipient(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    who = one_value(form, "r_who")
    if who not in ("self", "other"):
        errors["r_who"] = "请选择由谁领取丧葬费和抚恤金"
    else:
        values["r_who"] = who
    if who == "other":
        collect(errors, values, "r_name", lambda: check_name(one_value(form, "r_name"), label="领取人姓名"))
        relation = one_value(form, "r_relation")
        if relation not in {c for c, _ in APPLICANT_RELATIONS}:
            errors["r_relation"] = "请选择领取人和逝者的关系"
        else:
            values["r_relation"] = relation

        def id_number() -> str:
            card = parse_id(one_value(form, "r_id"), today=ctx.today)
            if card.number == str(ctx.answers.get("d_id") or "").upper():
                raise FieldError("这是逝者的身份证号码，请填写领取人本人的身份证号码")
            return card.number

        collect(errors, values, "r_id", id_number)
    collect(errors, values, "r_bank", lambda: check_text(one_value(form, "r_bank"), label="开户银行", max_len=40))
    account = collect(errors, values, "r_account", lambda: check_bank_account(one_value(form, "r_account")))
    if account is not None:
        digits, ok = account
        values["r_account"] = digits
        values["r_luhn_ok"] = "yes" if ok else "no"
        if not ok:
            if one_value(form, "r_account_confirm") == "yes":
                values["r_account_confirm"] = "yes"
            else:
                errors["r_account_confirm"] = (
                    "这个卡号和常用的卡号规则对不上。不少银行卡、存折本来就是这样，不一定是填错了；"
                    "为了不错打一位数，请对照银行卡或存折再看一遍，确认无误后勾选“我已核对，卡号无误”"
                )
    return values, errors


#: "errors" that are really requests to confirm something unusual but valid (DOMAIN §2.4: a card
#: failing the Luhn check is confirmed, never rejected). The step still waits for the confirmation,
#: but pages show these as a warning, not as a mistake.
CONFIRMATIONS: frozenset[str] = frozenset({"r_account_confirm"})


def check_check(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    if one_value(form, "declaration") != "yes":
        return {}, {"declaration": "请阅读申请人承诺，并勾选“我已阅读并同意以上承诺”"}
    return {"declaration": "yes"}, {}
