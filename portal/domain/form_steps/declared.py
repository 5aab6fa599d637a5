"""Simple form fields declared once: a free-text answer kept in a column and printed on the receipt.

A field declared here is on its step's screen (templates/citizen/apply_layout.html renders it),
checked (`check_text`: trimmed, bounded, required or not), written to its row by
`portal.services.intake.materialize` and printed in its section of the receipt
(`portal.services.receipt_view` → `ReceiptView.extra` → templates/pdf/receipt.html). Adding one
is an entry in `FIELDS` plus its column in portal/models/core.py and a migration.

Only plain words belong here: personal numbers (身份证号, phone, bank account, certificate numbers)
are sealed through portal/services/pii.py and never kept in a clear column. A field with a choice
list or a check across fields is written by hand like the older fields of its step.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from portal.domain.form_steps.answers import Errors, Values, collect, one_value
from portal.domain.validators import check_text

Row = Literal["deceased", "applicant"]  # the row it is kept in, and the receipt's section


@dataclass(frozen=True)
class TextField:
    name: str  # the form key, e.g. "d_occupation" (d_ deceased, a_ applicant)
    step: str  # the step's name in application_form.STEPS
    label: str  # on the screen, in the error and on the receipt
    row: Row
    column: str  # the attribute of the Deceased or applicant Party row
    max_len: int = 60
    required: bool = False
    hint: str = ""
    empty: str = "无"  # printed when the answer was left blank


FIELDS: tuple[TextField, ...] = ()


def for_step(step: str, fields: tuple[TextField, ...] = FIELDS) -> tuple[TextField, ...]:
    return tuple(f for f in fields if f.step == step)


def check(form: Mapping[str, Any], fields: tuple[TextField, ...], errors: Errors, values: Values) -> None:
    """Check the declared fields of a step into the step's own `errors` and `values`."""
    for f in fields:
        collect(errors, values, f.name, partial(_check_one, form, f))


def _check_one(form: Mapping[str, Any], f: TextField) -> str:
    return check_text(one_value(form, f.name), label=f.label, max_len=f.max_len, required=f.required)


def write(rows: Mapping[str, Any], answers: Mapping[str, Any], fields: tuple[TextField, ...] = FIELDS) -> None:
    """Answers → columns (`rows` maps "deceased"/"applicant" to the row objects)."""
    for f in fields:
        setattr(rows[f.row], f.column, str(answers.get(f.name) or "") or None)


def printed(rows: Mapping[str, Any], fields: tuple[TextField, ...] = FIELDS) -> dict[str, tuple[tuple[str, str], ...]]:
    """The receipt's extra lines per section, (label, value); empty sections are left out, so a
    receipt without declared fields keeps its view (and digest) as before."""
    out: dict[str, tuple[tuple[str, str], ...]] = {}
    for f in fields:
        row = rows.get(f.row)
        value = (getattr(row, f.column, None) or "") if row is not None else ""
        out[f.row] = (*out.get(f.row, ()), (f.label, value or f.empty))
    return out
