"""The steps of the 一表申请: which fields each screen owns, when it applies, how it is checked.

Pure functions over plain dicts (no Starlette, no database): a step takes what the family
posted plus the answers so far and returns the cleaned values it owns and the errors, keyed
by field name, in the order they appear on the screen. Answers are stored in the same
"form shape" they are posted in (strings, lists of strings), so a stored answer can be checked
again later (check answers re-validates every step, because an earlier change, e.g. the date of
death, can make a later answer wrong).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from portal.domain import clock
from portal.domain.catalogue import Catalogue, default_catalogue
from portal.domain.idcard import IdCard, age_at, parse_id
from portal.domain.reference import (
    APPLICANT_RELATIONS,
    ASHES_CATEGORIES,
    CERT_NEW_FORMAT_FROM,
    ETHNICITIES,
    PENSION_TYPES,
    SCENARIOS,
    certificate_name,
    label_for,
    recipient_needs_review,
    scenario,
)
from portal.domain.validators import (
    FieldError,
    check_bank_account,
    check_certificate_number,
    check_name,
    check_phone,
    check_text,
)

CHINA = clock.CHINA  # kept for old imports; China time lives in portal.domain.clock
OTHER = "other"

# Special-group flags (注5): each adds an automatic follow-up matter.
FLAGS: tuple[tuple[str, str, str], ...] = (
    ("veteran", "退役军人或优抚对象", "退役军人事务局会自动处理优抚待遇"),
    ("disability", "持有残疾人证", "残联会自动停发残疾人补贴、注销残疾人证"),
    ("assistance", "领取低保或特困供养", "民政局会自动停发低保金或特困供养金"),
)

CIVIL_PLEDGE = (
    "我承诺遵守殡葬管理规定，文明节俭办理丧事：不在公共场所搭设灵棚、不沿途抛撒冥币、"
    "不燃放烟花爆竹扰民，按照上面填写的意向安放骨灰。"
)

# 附件1 申请人承诺, verbatim from the seed.
DECLARATION = (
    "申请人承诺遵守国家和地方各项殡葬政策规定文明治丧、安置骨灰。已知晓全部告知内容，"
    "以上填报信息真实有效，并对真实性负责，因申请人虚假填报信息产生的法律纠纷由申请人自行承担。"
)

BANKS = (
    "中国农业银行", "中国工商银行", "中国建设银行", "中国银行", "交通银行", "中国邮政储蓄银行",
    "浙江农商银行", "温州银行", "招商银行", "兴业银行", "中信银行", "浦发银行",
)

DEFAULT_MATTERS = ("cremation", "hukou", "medical", "pension")


def china_now() -> datetime:
    """Wall-clock time in China, naive, like the times families type."""
    return clock.china_now().replace(tzinfo=None)


@dataclass(frozen=True)
class Applicant:
    """What the login says about the person applying (read-only on the form)."""

    name: str
    id_card: str | None
    phone: str | None


@dataclass
class Ctx:
    """Everything a step check needs besides the posted form."""

    answers: dict[str, Any]
    applicant: Applicant
    now: datetime = field(default_factory=china_now)
    catalogue: Catalogue = field(default_factory=default_catalogue)

    @property
    def today(self) -> date:
        return self.now.date()


Errors = dict[str, str]
Values = dict[str, Any]


@dataclass(frozen=True)
class Step:
    name: str
    title: str  # short, for check answers and the caption
    fields: tuple[str, ...]
    check: Callable[[Mapping[str, Any], Ctx], tuple[Values, Errors]]
    applies: Callable[[Mapping[str, Any]], bool] = lambda answers: True
    multi: tuple[str, ...] = ()  # fields posted as several values (checkboxes)


# --- helpers -------------------------------------------------------------------------------


def _s(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def _list(form: Mapping[str, Any], name: str) -> list[str]:
    value = form.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def _run(errors: Errors, values: Values, name: str, fn: Callable[[], Any]) -> Any:
    try:
        result = fn()
    except FieldError as exc:
        errors[name] = exc.message
        return None
    values[name] = result
    return result


_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})[:：](\d{2})$")


def parse_date(raw: str, *, label: str) -> date:
    text = raw.strip().replace("/", "-").replace(".", "-")
    m = re.match(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$", text)
    if m:
        text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    if not text:
        raise FieldError(f"请填写{label}")
    m = _DATE.match(text)
    if not m:
        raise FieldError(f"请按“年-月-日”填写{label}，例如 2026-11-20")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise FieldError(f"{label}不是一个真实的日期，请核对月和日") from None


def parse_time(raw: str, *, label: str) -> time:
    text = raw.strip()
    if not text:
        raise FieldError(f"请填写{label}")
    m = _TIME.match(text)
    if not m:
        raise FieldError(f"请按“时:分”填写{label}，例如 08:30")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise FieldError(f"{label}不是一个真实的时间，请填写 00:00 到 23:59 之间的时间")
    return time(hour, minute)


def deceased_card(answers: Mapping[str, Any]) -> IdCard | None:
    try:
        return parse_id(answers.get("d_id"))
    except FieldError:
        return None


def death_datetime(answers: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.combine(
            parse_date(str(answers.get("death_date") or ""), label="日期"),
            parse_time(str(answers.get("death_time") or ""), label="时间"),
        )
    except FieldError:
        return None


def hukou_parts(answers: Mapping[str, Any]) -> tuple[str, str] | None:
    raw = str(answers.get("d_hukou") or "")
    if ":" not in raw:
        return None
    county, township = raw.split(":", 1)
    return county, township


fmt_date = clock.cn_date  # kept for old imports


def derived_facts(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Gender, birth date and age at death, read from the ID number (never typed)."""
    card = deceased_card(answers)
    if card is None:
        return {}
    facts: dict[str, Any] = {"gender": card.gender, "birth": card.birth_date, "birth_text": fmt_date(card.birth_date)}
    when = death_datetime(answers)
    if when is not None and when.date() >= card.birth_date:
        facts["age"] = age_at(card.birth_date, when.date())
    return facts


def certificate_type(answers: Mapping[str, Any]) -> str:
    try:
        return scenario(str(answers.get("scenario"))).certificate_type
    except KeyError:
        return "medical"


def certificate_title(answers: Mapping[str, Any]) -> str:
    when = death_datetime(answers)
    return certificate_name(certificate_type(answers), when.date() if when else None)


def new_format_certificate(answers: Mapping[str, Any]) -> bool:
    when = death_datetime(answers)
    return certificate_type(answers) == "medical" and when is not None and when.date() >= CERT_NEW_FORMAT_FROM


def wants_pension(answers: Mapping[str, Any]) -> bool:
    return "pension" in _list(answers, "matters")


# --- the steps -----------------------------------------------------------------------------


def check_scenario(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    code = _s(form, "scenario")
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
    _run(errors, values, "d_name", lambda: check_name(_s(form, "d_name"), label="逝者姓名"))

    def id_number() -> str:
        card = parse_id(_s(form, "d_id"), today=ctx.today)
        if ctx.applicant.id_card and card.number == ctx.applicant.id_card.upper():
            raise FieldError("这是您本人的身份证号码，请填写逝者的身份证号码")
        return card.number

    _run(errors, values, "d_id", id_number)

    def ethnicity() -> str:
        code = _s(form, "d_ethnicity")
        if code not in {c for c, _ in ETHNICITIES}:
            raise FieldError("请选择逝者的民族")
        return code

    _run(errors, values, "d_ethnicity", ethnicity)
    _run(errors, values, "d_hukou", lambda: _hukou(_s(form, "d_hukou"), ctx.catalogue))
    _run(errors, values, "d_address",
         lambda: check_text(_s(form, "d_address"), label="户籍详细地址", max_len=100, required=False))
    _run(errors, values, "d_temp",
         lambda: check_text(_s(form, "d_temp"), label="暂住地或单位所在乡镇", max_len=60, required=False))
    return values, errors


def check_death(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    card = deceased_card(ctx.answers)
    day = _run(errors, values, "death_date", lambda: parse_date(_s(form, "death_date"), label="去世日期"))
    values.pop("death_date", None)
    if day is not None:
        if day > ctx.today:
            errors["death_date"] = "去世日期不能晚于今天，请核对"
        elif card is not None and day < card.birth_date:
            errors["death_date"] = (
                f"去世日期早于逝者的出生日期（{fmt_date(card.birth_date)}，来自身份证号码），"
                "请核对去世日期，或返回上一步核对身份证号码"
            )
        else:
            values["death_date"] = day.isoformat()
    at = _run(errors, values, "death_time", lambda: parse_time(_s(form, "death_time"), label="去世时间"))
    if at is not None:
        values["death_time"] = at.strftime("%H:%M")
        if day is not None and "death_date" not in errors and datetime.combine(day, at) > ctx.now:
            errors["death_time"] = "去世时间不能晚于现在，请核对"
            values.pop("death_time")
    _run(errors, values, "death_cause",
         lambda: check_text(_s(form, "death_cause"), label="死亡原因", max_len=100))
    return values, errors


def check_certificate(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    when = death_datetime(ctx.answers)
    if when is None:  # guarded by step order; keep the check total anyway
        errors["cert_no"] = "请先填写去世时间"
        return values, errors
    _run(errors, values, "cert_no", lambda: check_certificate_number(
        _s(form, "cert_no"), death_date=when.date(), deceased_id=ctx.answers.get("d_id"),
        certificate_type=certificate_type(ctx.answers)))
    return values, errors


def funeral_homes_for(answers: Mapping[str, Any], catalogue: Catalogue) -> tuple[str, ...]:
    parts = hukou_parts(answers)
    homes: list[str] = []
    if parts:
        try:
            homes.extend(catalogue.county(parts[0]).funeral_homes)
        except KeyError:
            pass
    return tuple(homes)


def check_funeral(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    at_home = _s(form, "body_at_fh")
    if at_home not in ("yes", "no"):
        errors["body_at_fh"] = "请选择遗体是否已经运到殡仪馆"
        return values, errors
    values["body_at_fh"] = at_home
    if at_home == "yes":
        homes = funeral_homes_for(ctx.answers, ctx.catalogue)
        choice = _s(form, "funeral_home")
        if choice == OTHER:
            values["funeral_home"] = OTHER
            _run(errors, values, "funeral_home_other",
                 lambda: check_text(_s(form, "funeral_home_other"), label="殡仪馆名称", max_len=60))
        elif choice in homes:
            values["funeral_home"] = choice
        else:
            errors["funeral_home"] = "请选择遗体所在的殡仪馆；不在列表里的，请选“其他殡仪馆”并填写名称"
        return values, errors

    _run(errors, values, "pickup_address",
         lambda: check_text(_s(form, "pickup_address"), label="遗体接运地址", max_len=100))
    day = _run(errors, values, "pickup_date", lambda: parse_date(_s(form, "pickup_date"), label="接运日期"))
    at = _run(errors, values, "pickup_time", lambda: parse_time(_s(form, "pickup_time"), label="接运时间"))
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
    category = _s(form, "ashes_category")
    if category not in {c for c, _ in ASHES_CATEGORIES}:
        errors["ashes_category"] = "请选择骨灰打算安放在哪里"
    else:
        values["ashes_category"] = category
        name = f"ashes_place_{category}"
        if not _s(form, name).strip():  # the seed: whichever category, its specific name is required
            errors[name] = ASHES_PLACE_MISSING[category]
        else:
            _run(errors, values, name, lambda: check_text(_s(form, name), label="具体名称", max_len=60))
    _run(errors, values, "route", lambda: check_text(_s(form, "route"), label="出殡路线", max_len=100, required=False))
    if _s(form, "pledge") != "yes":
        errors["pledge"] = "请阅读并勾选文明治丧承诺"
    else:
        values["pledge"] = "yes"
    return values, errors


def check_matters(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    pension_type = _s(form, "pension_type")
    if pension_type not in {c for c, _ in PENSION_TYPES}:
        errors["pension_type"] = "请选择逝者参加的养老保险；不清楚的，请选“未参保/不清楚”"
    else:
        values["pension_type"] = pension_type
    flags = [f for f in _list(form, "flags") if f in {code for code, _, _ in FLAGS}]
    values["flags"] = flags
    requestable = [m.code for m in ctx.catalogue.requestable_matters()]
    matters = [m for m in requestable if m in _list(form, "matters")]
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
    relation = _s(form, "a_relation")
    if relation not in {c for c, _ in APPLICANT_RELATIONS}:
        errors["a_relation"] = "请选择您和逝者的关系"
    else:
        values["a_relation"] = relation
    _run(errors, values, "a_address", lambda: check_text(_s(form, "a_address"), label="您的联系地址", max_len=100))
    if not ctx.applicant.phone:
        _run(errors, values, "a_phone", lambda: check_phone(_s(form, "a_phone")))
    return values, errors


def check_recipient(form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    values: Values = {}
    errors: Errors = {}
    who = _s(form, "r_who")
    if who not in ("self", "other"):
        errors["r_who"] = "请选择由谁领取丧葬费和抚恤金"
    else:
        values["r_who"] = who
    if who == "other":
        _run(errors, values, "r_name", lambda: check_name(_s(form, "r_name"), label="领取人姓名"))
        relation = _s(form, "r_relation")
        if relation not in {c for c, _ in APPLICANT_RELATIONS}:
            errors["r_relation"] = "请选择领取人和逝者的关系"
        else:
            values["r_relation"] = relation

        def id_number() -> str:
            card = parse_id(_s(form, "r_id"), today=ctx.today)
            if card.number == str(ctx.answers.get("d_id") or "").upper():
                raise FieldError("这是逝者的身份证号码，请填写领取人本人的身份证号码")
            return card.number

        _run(errors, values, "r_id", id_number)
    _run(errors, values, "r_bank", lambda: check_text(_s(form, "r_bank"), label="开户银行", max_len=40))
    account = _run(errors, values, "r_account", lambda: check_bank_account(_s(form, "r_account")))
    if account is not None:
        digits, ok = account
        values["r_account"] = digits
        values["r_luhn_ok"] = "yes" if ok else "no"
        if not ok:
            if _s(form, "r_account_confirm") == "yes":
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
    if _s(form, "declaration") != "yes":
        return {}, {"declaration": "请阅读申请人承诺，并勾选“我已阅读并同意以上承诺”"}
    return {"declaration": "yes"}, {}


STEPS: tuple[Step, ...] = (
    Step("scenario", "去世时的情况", ("scenario",), check_scenario),
    Step("deceased", "逝者信息", ("d_name", "d_id", "d_ethnicity", "d_hukou", "d_address", "d_temp"), check_deceased),
    Step("death", "去世时间和原因", ("death_date", "death_time", "death_cause"), check_death),
    Step("certificate", "死亡证明", ("cert_no",), check_certificate),
    Step("funeral", "遗体接运", ("body_at_fh", "funeral_home", "funeral_home_other", "pickup_address",
                            "pickup_date", "pickup_time"), check_funeral),
    Step("ashes", "骨灰安放和文明治丧",
         ("ashes_category", *(f"ashes_place_{c}" for c, _ in ASHES_CATEGORIES), "route", "pledge"), check_ashes),
    Step("matters", "要办理的事项", ("pension_type", "flags", "matters"), check_matters, multi=("flags", "matters")),
    Step("applicant", "申请人", ("a_relation", "a_address", "a_phone"), check_applicant),
    Step("recipient", "丧葬费和抚恤金领取人",
         ("r_who", "r_name", "r_relation", "r_id", "r_bank", "r_account", "r_luhn_ok", "r_account_confirm"),
         check_recipient, applies=wants_pension),
    Step("check", "核对并提交", ("declaration",), check_check),
)
BY_NAME: dict[str, Step] = {s.name: s for s in STEPS}


def applicable(answers: Mapping[str, Any]) -> list[Step]:
    return [s for s in STEPS if s.applies(answers)]


def form_dict(form: Any, step: Step) -> dict[str, Any]:
    """A posted FormData (or dict) reduced to the step's fields, lists for checkbox groups."""
    out: dict[str, Any] = {}
    for name in step.fields:
        if name in step.multi:
            out[name] = list(form.getlist(name)) if hasattr(form, "getlist") else _list(form, name)
        else:
            value = form.get(name)
            out[name] = "" if value is None else str(value)
    return out


def validate(step: Step, form: Mapping[str, Any], ctx: Ctx) -> tuple[Values, Errors]:
    """Check one step; the values are only the fields that passed."""
    return step.check(form, ctx)


def first_invalid(answers: Mapping[str, Any], done: list[str], applicant: Applicant,
                  now: datetime | None = None) -> str | None:
    """The first applicable step (before check) that is unfinished or no longer valid."""
    ctx = Ctx(answers=dict(answers), applicant=applicant, now=now or china_now())
    for step in applicable(answers):
        if step.name == "check":
            return None
        if step.name not in done:
            return step.name
        _, errors = step.check(answers, ctx)
        if errors:
            return step.name
    return None


def labels(answers: Mapping[str, Any]) -> dict[str, str]:
    """Human words for stored codes, for check answers and the confirmation."""
    out: dict[str, str] = {}
    try:
        out["scenario"] = scenario(str(answers.get("scenario"))).label
    except KeyError:
        pass
    for key, options in (("d_ethnicity", ETHNICITIES), ("a_relation", APPLICANT_RELATIONS),
                         ("r_relation", APPLICANT_RELATIONS), ("pension_type", PENSION_TYPES),
                         ("ashes_category", ASHES_CATEGORIES)):
        try:
            out[key] = label_for(options, str(answers.get(key)))
        except KeyError:
            pass
    return out


def recipient_review(answers: Mapping[str, Any]) -> bool:
    """注3: a recipient who is not a 直系亲属 is accepted but checked by hand."""
    if not wants_pension(answers):
        return False
    relation = answers.get("a_relation") if answers.get("r_who") == "self" else answers.get("r_relation")
    return recipient_needs_review(str(relation or ""))


GUIDE_KEYS = ("scenario", "death_date", "pension_type", "matters", "veteran", "disability", "assistance")


def prefill_from_guide(params: Mapping[str, str], *, today: date | None = None) -> dict[str, Any]:
    """Answers carried over from the policy eligibility guide (/policy/guide → /apply?…).

    Only well-formed values are kept; the family still sees and confirms every screen.
    """
    answers: dict[str, Any] = {}
    code = str(params.get("scenario") or "")
    if code in {s.code for s in SCENARIOS}:
        answers["scenario"] = code
    try:
        died = date.fromisoformat(str(params.get("death_date") or ""))
        if died <= (today or clock.today()):
            answers["death_date"] = died.isoformat()
    except ValueError:
        pass
    pension = str(params.get("pension_type") or "")
    if pension in {c for c, _ in PENSION_TYPES}:
        answers["pension_type"] = pension
    flags = [c for c, _, _ in FLAGS if params.get(c) == "1"]
    if flags:
        answers["flags"] = flags
    catalogue = default_catalogue()
    wanted = [m for m in str(params.get("matters") or "").split(",") if m]
    matters = [m.code for m in catalogue.requestable_matters()
               if m.code in wanted and catalogue.blocked_reason(m.code, pension_type=pension or "none") is None]
    if matters:
        answers["matters"] = matters
    return answers
