"""Simple fields declared once (portal/domain/form_steps/declared.py): on the step, checked, written
to the row, printed on the receipt; with none declared, everything is as before."""
from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from pdf.receipt import render_receipt
from portal.domain import application_form as steps
from portal.domain.form_steps import declared
from portal.domain.form_steps.answers import Applicant, Ctx
from tests.unit.test_pdf_receipt import view

OCCUPATION = declared.TextField("d_occupation", "deceased", "生前职业", "deceased", "occupation", max_len=20)
EMPLOYER = declared.TextField("a_employer", "applicant", "工作单位", "applicant", "employer", required=True)


def test_a_declared_field_joins_its_step_and_its_check() -> None:
    step = steps.with_declared(steps.BY_NAME["deceased"], (OCCUPATION,))
    assert step.fields == (*steps.BY_NAME["deceased"].fields, "d_occupation")
    assert step.simple == (OCCUPATION,)
    ctx = Ctx(answers={}, applicant=Applicant(name="王五", id_card=None, phone=None), now=datetime(2026, 11, 22, 10, 0))
    values, errors = step.check({"d_occupation": "  教师  "}, ctx)
    assert values["d_occupation"] == "教师"
    assert "d_occupation" not in errors and "d_name" in errors  # the step's own checks still run
    _, errors = step.check({"d_occupation": "很" * 21}, ctx)
    assert errors["d_occupation"] == "生前职业最多填写20个字，现在有21个字，请精简一些"
    _, errors = steps.with_declared(steps.BY_NAME["applicant"], (EMPLOYER,)).check({}, ctx)
    assert errors["a_employer"] == "请填写工作单位"


def test_no_declared_field_leaves_the_steps_as_they_were() -> None:
    assert steps.with_declared(steps.BY_NAME["deceased"], ()) is steps.BY_NAME["deceased"]
    assert declared.printed({"deceased": SimpleNamespace(), "applicant": None}, ()) == {}


def test_answers_go_to_their_row_and_to_the_receipt_section() -> None:
    rows = {"deceased": SimpleNamespace(occupation=None), "applicant": SimpleNamespace(employer=None)}
    declared.write(rows, {"d_occupation": "", "a_employer": "鹿城区医院"}, (OCCUPATION, EMPLOYER))
    assert rows["deceased"].occupation is None and rows["applicant"].employer == "鹿城区医院"
    assert declared.printed(rows, (OCCUPATION, EMPLOYER)) == {
        "deceased": (("生前职业", "无"),), "applicant": (("工作单位", "鹿城区医院"),)}


def test_the_receipt_prints_the_declared_lines(tmp_path: Path) -> None:
    pdf = render_receipt(view(extra={"deceased": (("生前职业", "中学教师"),), "applicant": (("工作单位", "鹿城区医院"),)}),
                         copy="family")
    (tmp_path / "x.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "x.pdf"), "-"], capture_output=True, check=True).stdout.decode()
    for value in ("生前职业", "中学教师", "工作单位", "鹿城区医院"):
        assert value in text, value
