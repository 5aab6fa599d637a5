"""Every validation rule of the 一表申请 steps, with good and bad values (no web, no database)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from portal.domain import application_form as s

DECEASED_ID = "330302194001010010"  # 男, 1940-01-01
RECIPIENT_ID = "330302196001010044"
APPLICANT_ID = "33030219620315031X"
NOW = datetime(2026, 11, 22, 18, 0)
ME = s.Applicant("陈建国", APPLICANT_ID, "19900000001")


def ctx(answers: dict[str, Any] | None = None, applicant: s.Applicant = ME) -> s.Ctx:
    return s.Ctx(answers=dict(answers or {}), applicant=applicant, now=NOW)


BASE = {
    "scenario": "home", "d_name": "陈老三", "d_id": DECEASED_ID, "d_ethnicity": "01", "d_hukou": "330302:五马街道",
    "death_date": "2026-11-20", "death_time": "06:30", "death_cause": "肺癌",
}


def run(step: str, form: dict[str, Any], answers: dict[str, Any] | None = None,
        applicant: s.Applicant = ME) -> tuple[dict[str, Any], dict[str, str]]:
    return s.BY_NAME[step].check(form, ctx(BASE if answers is None else answers, applicant))


# --- scenario ------------------------------------------------------------------------------


@pytest.mark.parametrize("value,ok", [("home", True), ("hospital", True), ("unnatural", True), ("", False), ("sea", False)])
def test_scenario(value: str, ok: bool) -> None:
    _, errors = run("scenario", {"scenario": value})
    assert (not errors) is ok


# --- deceased ------------------------------------------------------------------------------

DECEASED_OK = {"d_name": "陈老三", "d_id": DECEASED_ID, "d_ethnicity": "01", "d_hukou": "330302:五马街道",
               "d_address": "", "d_temp": ""}


def test_deceased_good() -> None:
    values, errors = run("deceased", DECEASED_OK)
    assert errors == {}
    assert values["d_id"] == DECEASED_ID and values["d_hukou"] == "330302:五马街道"
    assert values["d_address"] == ""


@pytest.mark.parametrize("name,ok", [
    ("陈老三", True), ("欧阳·娜娜", True), ("买买提•艾力", True), ("郑喆", True), ("𠮷祥", True), ("  王  小明 ", True),
    ("", False), ("王2", False), ("王(小)", False), ("·王", False), ("王" * 31, False), ("王" * 30, True),
])
def test_deceased_name(name: str, ok: bool) -> None:
    values, errors = run("deceased", {**DECEASED_OK, "d_name": name})
    assert ("d_name" not in errors) is ok, errors
    if ok:
        assert values["d_name"] == values["d_name"].strip()


@pytest.mark.parametrize("number,ok", [
    (DECEASED_ID, True),
    ("3303 0219 4001 0100 10", True),  # spaces are ignored
    ("33038119450707018x", True),  # lowercase x
    ("330302194001010011", False),  # checksum
    ("33030219400101001", False),  # 17 characters
    ("330302194002300010", False),  # 2月30日
    ("330302203001010010", False),  # born in the future
    ("99030219400101001X", False),  # province
    ("", False),
    (APPLICANT_ID, False),  # the applicant's own number
])
def test_deceased_id(number: str, ok: bool) -> None:
    _, errors = run("deceased", {**DECEASED_OK, "d_id": number})
    assert ("d_id" not in errors) is ok, errors


def test_own_id_message_is_kind() -> None:
    _, errors = run("deceased", {**DECEASED_OK, "d_id": APPLICANT_ID})
    assert "您本人" in errors["d_id"]


@pytest.mark.parametrize("code,ok", [("01", True), ("22", True), ("", False), ("99", False)])
def test_ethnicity(code: str, ok: bool) -> None:
    _, errors = run("deceased", {**DECEASED_OK, "d_ethnicity": code})
    assert ("d_ethnicity" not in errors) is ok


@pytest.mark.parametrize("value,ok", [
    ("330302:五马街道", True), ("330383:原龙港镇区", True), ("", False), ("330302", False),
    ("330302:不存在街道", False), ("999999:五马街道", False), ("330381:五马街道", False),
])
def test_hukou_from_catalogue(value: str, ok: bool) -> None:
    _, errors = run("deceased", {**DECEASED_OK, "d_hukou": value})
    assert ("d_hukou" not in errors) is ok


@pytest.mark.parametrize("field,limit", [("d_address", 100), ("d_temp", 60)])
def test_optional_free_text_is_trimmed_and_bounded(field: str, limit: int) -> None:
    values, errors = run("deceased", {**DECEASED_OK, field: "  解放街   188号  "})
    assert not errors and values[field] == "解放街 188号"
    _, errors = run("deceased", {**DECEASED_OK, field: "字" * (limit + 1)})
    assert field in errors
    _, errors = run("deceased", {**DECEASED_OK, field: "字" * limit})
    assert not errors


# --- death ---------------------------------------------------------------------------------

DEATH_OK = {"death_date": "2026-11-20", "death_time": "06:30", "death_cause": "肺癌"}


def test_death_good() -> None:
    values, errors = run("death", DEATH_OK)
    assert errors == {} and values == {"death_date": "2026-11-20", "death_time": "06:30", "death_cause": "肺癌"}


@pytest.mark.parametrize("day,at,ok,field", [
    ("2026-11-22", "17:59", True, None),  # earlier today
    ("2026-11-22", "18:30", False, "death_time"),  # later today: in the future
    ("2026-11-23", "06:00", False, "death_date"),  # tomorrow
    ("1939-12-31", "06:00", False, "death_date"),  # before the birth date in the ID
    ("1940-01-01", "06:00", True, None),  # the day of birth itself
    ("2026-02-30", "06:00", False, "death_date"),  # no such day
    ("2026年11月20日", "6:30", True, None),  # typed in words
    ("20/11/2026", "06:30", False, "death_date"),
    ("", "06:30", False, "death_date"),
    ("2026-11-20", "", False, "death_time"),
    ("2026-11-20", "24:10", False, "death_time"),
])
def test_death_time_rules(day: str, at: str, ok: bool, field: str | None) -> None:
    _, errors = run("death", {**DEATH_OK, "death_date": day, "death_time": at})
    if ok:
        assert errors == {}
    else:
        assert field in errors, errors


def test_death_before_birth_message_names_the_birth_date() -> None:
    _, errors = run("death", {**DEATH_OK, "death_date": "1930-01-01"})
    assert "1940年1月1日" in errors["death_date"]


@pytest.mark.parametrize("cause,ok", [("肺癌", True), ("", False), ("   ", False), ("病" * 101, False), ("病" * 100, True)])
def test_death_cause(cause: str, ok: bool) -> None:
    _, errors = run("death", {**DEATH_OK, "death_cause": cause})
    assert ("death_cause" not in errors) is ok


def test_derived_facts_read_from_the_id() -> None:
    facts = s.derived_facts(BASE)
    assert facts["gender"] == "男" and facts["birth"] == date(1940, 1, 1) and facts["age"] == 86


# --- certificate ---------------------------------------------------------------------------


def test_new_format_certificate_is_the_deceased_id() -> None:
    assert s.new_format_certificate(BASE)
    _, errors = run("certificate", {"cert_no": DECEASED_ID})
    assert errors == {}
    _, errors = run("certificate", {"cert_no": "330302193805050021"})
    assert "不一致" in errors["cert_no"]
    _, errors = run("certificate", {"cert_no": "WZ-2026-001234"})
    assert "cert_no" in errors


def test_old_format_certificate_before_2026_07_01() -> None:
    answers = {**BASE, "death_date": "2026-06-20"}
    assert not s.new_format_certificate(answers)
    values, errors = run("certificate", {"cert_no": "wz-2026-001234"}, answers)
    assert errors == {} and values["cert_no"] == "WZ-2026-001234"
    _, errors = run("certificate", {"cert_no": "12!"}, answers)
    assert "cert_no" in errors
    _, errors = run("certificate", {"cert_no": ""}, answers)
    assert "cert_no" in errors


def test_police_certificate_always_takes_the_serial() -> None:
    answers = {**BASE, "scenario": "unnatural"}
    assert not s.new_format_certificate(answers)
    assert "死亡证明书" in s.certificate_title(answers)
    _, errors = run("certificate", {"cert_no": "GA330302-2026-18"}, answers)
    assert errors == {}


# --- funeral -------------------------------------------------------------------------------


def test_funeral_at_funeral_home_from_county_list() -> None:
    assert s.funeral_homes_for(BASE, s.default_catalogue()) == ("温州市殡仪馆",)
    values, errors = run("funeral", {"body_at_fh": "yes", "funeral_home": "温州市殡仪馆"})
    assert errors == {} and values["funeral_home"] == "温州市殡仪馆"


@pytest.mark.parametrize("form,field", [
    ({}, "body_at_fh"),
    ({"body_at_fh": "maybe"}, "body_at_fh"),
    ({"body_at_fh": "yes"}, "funeral_home"),
    ({"body_at_fh": "yes", "funeral_home": "瑞安市殡仪馆"}, "funeral_home"),  # not this county's
    ({"body_at_fh": "yes", "funeral_home": "other", "funeral_home_other": ""}, "funeral_home_other"),
    ({"body_at_fh": "no", "pickup_address": "", "pickup_date": "2026-11-21", "pickup_time": "09:00"}, "pickup_address"),
    ({"body_at_fh": "no", "pickup_address": "家里", "pickup_date": "", "pickup_time": "09:00"}, "pickup_date"),
    ({"body_at_fh": "no", "pickup_address": "家里", "pickup_date": "2026-11-21", "pickup_time": ""}, "pickup_time"),
    ({"body_at_fh": "no", "pickup_address": "家里", "pickup_date": "2026-11-20", "pickup_time": "06:00"}, "pickup_date"),
    ({"body_at_fh": "no", "pickup_address": "家里", "pickup_date": "2027-02-01", "pickup_time": "06:00"}, "pickup_date"),
])
def test_funeral_bad(form: dict[str, str], field: str) -> None:
    _, errors = run("funeral", form)
    assert field in errors, errors


def test_funeral_other_home_and_pickup_good() -> None:
    _, errors = run("funeral", {"body_at_fh": "yes", "funeral_home": "other", "funeral_home_other": "上海龙华殡仪馆"})
    assert errors == {}
    values, errors = run("funeral", {"body_at_fh": "no", "pickup_address": " 解放街188号 ",
                                     "pickup_date": "2026-11-20", "pickup_time": "06:30"})
    assert errors == {} and values["pickup_address"] == "解放街188号"


# --- ashes and pledge ----------------------------------------------------------------------


@pytest.mark.parametrize("category", ["funeral_home", "commercial_cemetery", "public_cemetery", "pre_reform_tomb"])
def test_every_ashes_category_needs_its_name(category: str) -> None:
    _, errors = run("ashes", {"ashes_category": category, "pledge": "yes"})
    assert f"ashes_place_{category}" in errors
    assert "请填写" in errors[f"ashes_place_{category}"]
    values, errors = run("ashes", {"ashes_category": category, f"ashes_place_{category}": "某地", "pledge": "yes"})
    assert errors == {} and values[f"ashes_place_{category}"] == "某地"


def test_ashes_other_names_are_ignored_and_pledge_required() -> None:
    values, errors = run("ashes", {"ashes_category": "commercial_cemetery", "ashes_place_commercial_cemetery": "仙岩公墓",
                                   "ashes_place_funeral_home": "不该保存", "route": ""})
    assert "pledge" in errors
    assert "ashes_place_funeral_home" not in values
    _, errors = run("ashes", {"pledge": "yes"})
    assert "ashes_category" in errors
    _, errors = run("ashes", {"ashes_category": "commercial_cemetery", "ashes_place_commercial_cemetery": "仙岩公墓",
                              "route": "路" * 101, "pledge": "yes"})
    assert "route" in errors


# --- matters -------------------------------------------------------------------------------


def test_matters_need_one_and_respect_the_original_process() -> None:
    _, errors = run("matters", {"pension_type": "enterprise_retired", "matters": []})
    assert "matters" in errors
    _, errors = run("matters", {"pension_type": "", "matters": ["hukou"]})
    assert "pension_type" in errors
    _, errors = run("matters", {"pension_type": "public_institution", "matters": ["hukou", "pension"]})
    assert "原渠道" in errors["matters"]
    values, errors = run("matters", {"pension_type": "public_institution", "matters": ["hukou", "medical"]})
    assert errors == {} and values["matters"] == ["hukou", "medical"]


def test_matters_unknown_codes_and_flags_are_dropped() -> None:
    values, errors = run("matters", {"pension_type": "resident", "matters": ["hukou", "certificate", "nope"],
                                     "flags": ["veteran", "hacker"]})
    assert errors == {}
    assert values["matters"] == ["hukou"] and values["flags"] == ["veteran"]


# --- applicant -----------------------------------------------------------------------------


def test_applicant_asks_relation_and_address() -> None:
    _, errors = run("applicant", {"a_relation": "", "a_address": ""})
    assert set(errors) == {"a_relation", "a_address"}
    values, errors = run("applicant", {"a_relation": "child", "a_address": "广场路1号"})
    assert errors == {} and "a_phone" not in values  # phone comes from the login


@pytest.mark.parametrize("phone,ok", [
    ("13912345678", True), ("+86 139 1234 5678", True), ("139-1234-5678", True),
    ("12912345678", False), ("1391234567", False), ("0577-88888888", False), ("", False), ("abc", False),
])
def test_applicant_phone_when_the_login_has_none(phone: str, ok: bool) -> None:
    nobody = s.Applicant("陈建国", APPLICANT_ID, None)
    values, errors = run("applicant", {"a_relation": "child", "a_address": "广场路1号", "a_phone": phone},
                         applicant=nobody)
    assert ("a_phone" not in errors) is ok, errors
    if ok:
        assert values["a_phone"] == "13912345678"


# --- recipient -----------------------------------------------------------------------------

GOOD_ACCOUNT = "6222021234567890128"
BAD_LUHN = "6222021234567890123"
RECIPIENT_OK = {"r_who": "other", "r_name": "陈小红", "r_relation": "child", "r_id": RECIPIENT_ID,
                "r_bank": "中国农业银行", "r_account": GOOD_ACCOUNT}


def test_recipient_good_other_and_self() -> None:
    values, errors = run("recipient", RECIPIENT_OK)
    assert errors == {} and values["r_luhn_ok"] == "yes"
    values, errors = run("recipient", {"r_who": "self", "r_bank": "温州银行", "r_account": "6222 0212 3456 7890 128"})
    assert errors == {} and values["r_account"] == GOOD_ACCOUNT and "r_name" not in values


@pytest.mark.parametrize("field,value", [
    ("r_who", ""), ("r_name", ""), ("r_name", "陈1"), ("r_relation", ""), ("r_id", "330302196001010045"),
    ("r_id", DECEASED_ID), ("r_bank", ""), ("r_account", ""), ("r_account", "62220212345"),  # 11 digits
    ("r_account", "62220212345678901234"),  # 20 digits
    ("r_account", "6222O21234567890128"),  # a letter O
])
def test_recipient_bad(field: str, value: str) -> None:
    _, errors = run("recipient", {**RECIPIENT_OK, field: value})
    assert field in errors, errors


@pytest.mark.parametrize("digits", ["622202123456", "6222021234567890128"])
def test_account_length_bounds(digits: str) -> None:
    _, errors = run("recipient", {**RECIPIENT_OK, "r_account": digits, "r_account_confirm": "yes"})
    assert "r_account" not in errors


def test_failed_luhn_is_a_warning_the_family_confirms() -> None:
    values, errors = run("recipient", {**RECIPIENT_OK, "r_account": BAD_LUHN})
    assert list(errors) == ["r_account_confirm"]
    assert "我已核对，卡号无误" in errors["r_account_confirm"]
    assert values["r_account"] == BAD_LUHN  # the number itself is accepted
    values, errors = run("recipient", {**RECIPIENT_OK, "r_account": BAD_LUHN, "r_account_confirm": "yes"})
    assert errors == {} and values["r_luhn_ok"] == "no" and values["r_account_confirm"] == "yes"


@pytest.mark.parametrize("who,relation,applicant_relation,review", [
    ("other", "child", "child", False), ("other", "spouse", "child", False), ("other", "grandchild", "child", False),
    ("other", "sibling", "child", True), ("other", "other_relative", "child", True), ("other", "agent", "child", True),
    ("self", "", "child", False), ("self", "", "sibling", True),
])
def test_recipient_not_a_direct_relative_goes_to_review(who: str, relation: str, applicant_relation: str,
                                                        review: bool) -> None:
    answers = {"matters": ["pension"], "r_who": who, "r_relation": relation, "a_relation": applicant_relation}
    assert s.recipient_review(answers) is review
    if who == "other":
        _, errors = run("recipient", {**RECIPIENT_OK, "r_relation": relation})
        assert errors == {}  # accepted, never refused


def test_recipient_step_only_with_the_pension_matter() -> None:
    assert "recipient" in [x.name for x in s.applicable({"matters": ["pension"]})]
    assert "recipient" not in [x.name for x in s.applicable({"matters": ["hukou"]})]


# --- check answers -------------------------------------------------------------------------


def test_declaration_must_be_accepted_and_is_verbatim() -> None:
    assert s.check_check({}, ctx())[1]
    assert s.check_check({"declaration": "yes"}, ctx()) == ({"declaration": "yes"}, {})
    assert s.DECLARATION.startswith("申请人承诺遵守国家和地方各项殡葬政策规定文明治丧、安置骨灰。")
    assert s.DECLARATION.endswith("因申请人虚假填报信息产生的法律纠纷由申请人自行承担。")


def test_first_invalid_finds_a_step_an_earlier_change_broke() -> None:
    answers = {**BASE, "cert_no": DECEASED_ID, "body_at_fh": "yes", "funeral_home": "温州市殡仪馆",
               "ashes_category": "funeral_home", "ashes_place_funeral_home": "温州市殡仪馆", "pledge": "yes",
               "pension_type": "enterprise_retired", "matters": ["hukou"], "flags": [],
               "a_relation": "child", "a_address": "广场路1号"}
    done = ["scenario", "deceased", "death", "certificate", "funeral", "ashes", "matters", "applicant"]
    assert s.first_invalid(answers, done, ME, now=NOW) is None
    # the pension matter is added: the recipient step is now unfinished
    more = {**answers, "matters": ["hukou", "pension"]}
    assert s.first_invalid(more, done, ME, now=NOW) == "recipient"
    # a different deceased ID: the new-format certificate number no longer matches
    other = {**answers, "d_id": "330302193805050021"}
    assert s.first_invalid(other, done, ME, now=NOW) == "certificate"
    assert s.first_invalid(answers, done[:3], ME, now=NOW) == "certificate"


def test_pickup_before_death_reported_after_death_time_changes() -> None:
    answers = {**BASE, "death_time": "10:00"}
    _, errors = s.BY_NAME["funeral"].check(
        {"body_at_fh": "no", "pickup_address": "家里", "pickup_date": "2026-11-20", "pickup_time": "09:00"}, ctx(answers))
    assert "pickup_date" in errors


def test_china_now_is_utc_plus_8() -> None:

    diff = s.china_now() - datetime.now(UTC).replace(tzinfo=None)
    assert timedelta(hours=7, minutes=59) < diff < timedelta(hours=8, minutes=1)
