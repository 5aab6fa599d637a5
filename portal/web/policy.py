"""政策咨询: the knowledge base, Chinese search, the eligibility guide and the personal plan.

No login.  Every page is a plain GET that works without JavaScript; htmx only adds
search-as-you-type (the results block of policy/search.html is rendered alone).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal.config import Settings
from portal.domain import clock
from portal.domain.eligibility import Params, Situation, format_yuan, guide
from portal.domain.plan import KINDS, plan_for, to_ics
from portal.domain.policy_content import CONFIDENCE_LABELS, DEPARTMENT_LABELS, MATTER_LABELS, SITUATION_LABELS
from portal.domain.policy_params import DEFAULT_PATH, default_params
from portal.domain.reference import PENSION_HINTS, PENSION_TYPES, label_for
from portal.services.policies import get_article, knowledge_base
from portal.services.policy_search import search
from portal.web.common import Services, is_htmx, page, render, services
from portal.web.throttling import limited

PARAMS_FILE = DEFAULT_PATH  # content/policy_params.toml


def params() -> Params:
    """The county's figures, read once (the same ones the progress page counts with)."""
    return default_params()


# ---------------------------------------------------------------------------------------------
# Guide answers: parsing and validation (shared by the guide, the plan and the .ics)
# ---------------------------------------------------------------------------------------------

PLACE_OPTIONS = [
    ("home", "在家中或养老机构", "包括在敬老院、养老院去世"),
    ("hospital", "在医院", ""),
    ("unnatural", "意外或非正常死亡", "例如交通事故、溺水、死因不明，由公安机关处理"),
    ("abroad", "在境外（国外或港澳台）", ""),
]
PENSION_OPTIONS = [(code, label, PENSION_HINTS[code]) for code, label in PENSION_TYPES]
PENSION_CODES = frozenset(code for code, _ in PENSION_TYPES)
HUKOU_OPTIONS = [("wenzhou", "户口在温州", ""), ("other", "户口不在温州", "")]
EXTRA_OPTIONS = [
    ("veteran", "退役军人或优抚对象", "例如残疾军人、在乡复员军人、烈士遗属"),
    ("disability", "持有残疾人证", ""),
    ("assistance", "领取低保或特困供养金", ""),
    ("provident_fund", "缴存过住房公积金", ""),
]
EXTRA_CODES = tuple(code for code, _, _ in EXTRA_OPTIONS)
FIELD_ORDER = ("death_date", "place", "hukou", "pension_type", "contribution_years", "years_drawing_pension",
               "local_basic_pension")  # the order of the questions on the page

_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(raw: str) -> date | None:
    m = _DATE_RE.match(raw.strip())
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _number(raw: str, unit: str) -> Decimal | None:
    text = re.sub(r"[\s,，]", "", raw).removesuffix(unit)
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass
class Answers:
    values: dict[str, Any]  # what was typed, to show again
    errors: dict[str, str]
    situation: Situation | None

    @property
    def query(self) -> str:
        """The answers as a query string (for the plan, the calendar and 修改)."""
        pairs: list[tuple[str, str]] = [(k, str(self.values[k])) for k in FIELD_ORDER if self.values.get(k)]
        pairs += [("has", code) for code in self.values.get("has", [])]
        return urlencode(pairs)


def _flag(qp: QueryParams, code: str) -> bool:
    return code in qp.getlist("has") or qp.get(code) in ("1", "true", "on")


def read_answers(qp: QueryParams, today: date | None = None) -> Answers:
    today = today or clock.today()
    values: dict[str, Any] = {k: (qp.get(k) or "").strip()[:40] for k in FIELD_ORDER}
    values["has"] = [code for code in EXTRA_CODES if _flag(qp, code)]
    if qp.get("died_abroad") == "1" and not values["place"]:
        values["place"] = "abroad"
    if qp.get("hukou_in_wenzhou") in ("0", "1") and not values["hukou"]:
        values["hukou"] = "wenzhou" if qp.get("hukou_in_wenzhou") == "1" else "other"
    errors: dict[str, str] = {}

    death: date | None = None
    if not values["death_date"]:
        errors["death_date"] = "请输入去世日期，例如 2026-11-03"
    else:
        death = parse_date(values["death_date"])
        if death is None:
            errors["death_date"] = "请输入正确的去世日期，例如 2026-11-03"
        elif death > today:
            errors["death_date"] = "去世日期不能晚于今天，请检查年、月、日"
        elif death < date(2000, 1, 1):
            errors["death_date"] = "请输入2000年以后的去世日期"
        else:
            values["death_date"] = death.isoformat()
    if values["place"] not in {c for c, _, _ in PLACE_OPTIONS}:
        errors["place"] = "请选择逝者在哪里去世"
        values["place"] = ""
    if values["pension_type"] not in PENSION_CODES:
        errors["pension_type"] = "请选择逝者参加的养老保险；不清楚的，请选“未参保/不清楚”"
        values["pension_type"] = ""
    if values["hukou"] not in ("wenzhou", "other"):
        errors["hukou"] = "请选择逝者的户口是否在温州"
        values["hukou"] = ""

    numbers: dict[str, Decimal | None] = {}
    for name, unit, hi, message in (
        ("contribution_years", "年", 80, "请输入缴费年限，例如 25 或 25.5（0到80年）；不知道可以不填"),
        ("years_drawing_pension", "年", 80, "请输入领取养老金的年限，例如 6 或 6.5（0到80年）；不知道可以不填"),
        ("local_basic_pension", "元", 100000, "请输入每月基础养老金的金额，例如 350（单位：元）；不知道可以不填"),
    ):
        raw = values[name]
        numbers[name] = None
        if raw:
            number = _number(raw, unit)
            if number is None or number < 0 or number > hi:
                errors[name] = message
            else:
                numbers[name] = number
                values[name] = format(number.normalize(), "f")

    situation = None
    if not errors and death is not None:
        cy, yd, lbp = numbers["contribution_years"], numbers["years_drawing_pension"], numbers["local_basic_pension"]
        situation = Situation(
            death_date=death,
            place="home" if values["place"] == "abroad" else values["place"],
            pension_type=values["pension_type"],
            contribution_years=float(cy) if cy is not None else None,
            years_drawing_pension=float(yd) if yd is not None else None,
            local_basic_pension=lbp,
            veteran="veteran" in values["has"],
            disability="disability" in values["has"],
            assistance="assistance" in values["has"],
            provident_fund="provident_fund" in values["has"],
            hukou_in_wenzhou=values["hukou"] == "wenzhou",
            died_abroad=values["place"] == "abroad",
        )
    ordered = {k: errors[k] for k in FIELD_ORDER if k in errors}
    return Answers(values, ordered, situation)


def apply_url(answers: Answers, requestable: list[str]) -> str:
    """/apply with the answers carried over (the application area may read these)."""
    v = answers.values
    pairs = [
        ("scenario", v["place"]),
        ("death_date", v["death_date"]),
        ("pension_type", v["pension_type"]),
        ("hukou_in_wenzhou", "1" if v["hukou"] == "wenzhou" else "0"),
    ]
    pairs += [(code, "1") for code in v["has"]]
    if v["place"] == "abroad":
        pairs.append(("died_abroad", "1"))
    for name in ("contribution_years", "years_drawing_pension", "local_basic_pension"):
        if v.get(name):
            pairs.append((name, v[name]))
    if requestable:
        pairs.append(("matters", ",".join(requestable)))
    return "/apply?" + urlencode(pairs)


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------

def _common() -> dict[str, Any]:
    return {"cn_date": clock.cn_date, "cn_date_week": clock.cn_date_weekday, "yuan": format_yuan}


@page
def index(request: Request, form: FormData | None) -> Response:
    with services(request).db() as session:
        docs = knowledge_base(session).all()
    by_matter = [(code, label, [d for d in docs if code in d.matters]) for code, label in MATTER_LABELS.items()]
    by_situation = [(code, label, [d for d in docs if code in d.situations]) for code, label in SITUATION_LABELS.items()]
    return render(request, "policy/index.html", {
        "by_matter": [g for g in by_matter if g[2]],
        "by_situation": [g for g in by_situation if g[2] and g[0] != "general"],
        "general": [d for d in docs if "general" in d.situations],
        "count": len(docs),
        "q": "",
    })


@page
@limited("search", per="ip")
def search_page(request: Request, form: FormData | None) -> Response:
    q = (request.query_params.get("q") or "").strip()[:50]
    with services(request).db() as session:
        result = search(session, q) if q else None
    ctx = {"q": q, "result": result}
    if is_htmx(request):
        return render(request, "policy/search.html", ctx, block="results")
    return render(request, "policy/search.html", ctx)


@page
def article(request: Request, form: FormData | None) -> Response:
    slug = request.path_params["slug"]
    with services(request).db() as session:
        doc = get_article(session, slug)
        if doc is None:
            raise HTTPException(404)
        kb = knowledge_base(session)
        related = [kb.get(s) for s in doc.related]
    return render(request, "policy/article.html", {
        **_common(),
        "doc": doc,
        "related": [r for r in related if r is not None],
        "confidence": CONFIDENCE_LABELS.get(doc.confidence, ""),
        "departments": [DEPARTMENT_LABELS.get(d, d) for d in doc.departments],
    })


def _guide_ctx(answers: Answers | None) -> dict[str, Any]:
    return {
        "place_options": PLACE_OPTIONS,
        "pension_options": PENSION_OPTIONS,
        "hukou_options": HUKOU_OPTIONS,
        "extra_options": EXTRA_OPTIONS,
        "v": answers.values if answers else {"has": []},
        "errors": answers.errors if answers else {},
        "today": clock.today().isoformat(),
    }


@page
def guide_form(request: Request, form: FormData | None) -> Response:
    qp = request.query_params
    answers = read_answers(qp) if qp else None
    if answers is not None:  # coming back to 修改: keep the values, show no errors yet
        answers.errors = {}
    return render(request, "policy/guide.html", _guide_ctx(answers))


@page
def guide_result(request: Request, form: FormData | None) -> Response:
    answers = read_answers(request.query_params)
    if answers.situation is None:
        return render(request, "policy/guide.html", _guide_ctx(answers))
    result = guide(answers.situation, params())
    v = answers.values
    return render(request, "policy/guide_result.html", {
        **_common(),
        "answers": answers,
        "s": answers.situation,
        "result": result,
        "apply_url": apply_url(answers, result.requestable_matters),
        "query": answers.query,
        "place_label": next(label for code, label, _ in PLACE_OPTIONS if code == v["place"]),
        "pension_label": label_for(PENSION_TYPES, v["pension_type"]),
        "extras": [label for code, label, _ in EXTRA_OPTIONS if code in v["has"]],
        "matter_labels": MATTER_LABELS,
    })


def _plan(request: Request) -> tuple[Answers, list[Any] | None, bool]:
    """Parse the plan's query: the guide's answers when complete, else the date only."""
    qp = request.query_params
    answers = read_answers(qp)
    if answers.situation is not None:
        return answers, plan_for(answers.situation, params()), True
    if "death_date" in answers.errors:
        return answers, None, False
    death = parse_date(answers.values["death_date"])
    assert death is not None
    answers.values = {"death_date": death.isoformat(), "has": []}
    answers.errors = {}
    return answers, plan_for(death, params()), False


@page
def plan_page(request: Request, form: FormData | None) -> Response:
    answers, items, tailored = _plan(request)
    if items is None:
        asked = "death_date" in request.query_params
        errors = {"death_date": answers.errors["death_date"]} if asked else {}
        return render(request, "policy/plan.html", {"errors": errors, "v": answers.values, "items": None})
    return render(request, "policy/plan.html", {
        **_common(),
        "errors": {},
        "items": items,
        "kinds": KINDS,
        "tailored": tailored,
        "death": parse_date(answers.values["death_date"]),
        "query": answers.query,
        "v": answers.values,
    })


@page
def plan_ics(request: Request, form: FormData | None) -> Response:
    answers, items, _ = _plan(request)
    if items is None:
        raise HTTPException(400)
    base = services(request).settings.base_url
    host = re.sub(r"^https?://", "", base).split("/")[0].split(":")[0] or "shenhou.local"
    body = to_ics(items, uid_domain=host, policy_url=lambda slug: f"{base}/policy/{slug}")
    death = answers.values["death_date"].replace("-", "")
    return Response(
        body.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="shenhou-plan-{death}.ics"'},
    )


def routes(settings: Settings, svc: Services) -> list[Route]:
    return [
        Route("/policy", index),
        Route("/policy/search", search_page),
        Route("/policy/guide", guide_form),
        Route("/policy/guide/result", guide_result),
        Route("/policy/plan", plan_page),
        Route("/policy/plan.ics", plan_ics),
        Route("/policy/{slug:str}", article),
    ]


__all__ = ["apply_url", "parse_date", "read_answers", "routes"]
