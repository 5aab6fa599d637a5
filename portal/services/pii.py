"""Personal numbers: the one place that knows each of them and how it is normalised, sealed,
indexed and masked.

Four kinds: the 身份证号, the mobile phone, the bank account and the death-certificate number,
which from 2026-07-01 IS the deceased's 身份证号 (and which families type with dashes or spaces
for a police certificate). Every kind is
- normalised before it is compared or indexed (full-width and other Unicode digits to ASCII,
  separators dropped, x -> X), so "330381-19450707-018x" and "33038119450707018X" are one number;
- sealed with the vault (AES-GCM) in its stored form and never kept in clear;
- blind-indexed (HMAC of the normalised form) for equality look-ups; a certificate that is the
  deceased's ID number gets the same index as that ID, so the two compare without opening either;
- masked on every screen and on the family's receipt.

`FIELDS` lists the personal numbers of an application staff see masked and may reveal, with a
reason, through the workflow's reveal service (auth.permissions decides who may reveal which).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from portal.crypto import Vault
from portal.domain.idcard import mask_id
from portal.domain.validators import fold_digits, mask_account, mask_phone, normalise_digits
from portal.models import Application


class Kind(StrEnum):
    ID_CARD = "id_card"
    PHONE = "phone"
    BANK_ACCOUNT = "bank_account"
    CERTIFICATE = "certificate"


_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_WHITESPACE = re.compile(r"[\s\u3000\u00a0]+")
_DASHES = re.compile(r"[\u2010-\u2015\u2212\uff0d_]")


def normalise(kind: Kind, raw: str | None) -> str:
    """The comparison form of a number: ASCII digits and capitals, no separators."""
    return normalise_digits(raw).upper()


def _certificate_as_printed(raw: str | None) -> str:
    """A serial keeps its printed dashes (the clerk compares it with the paper); one that is an
    18-character ID number is kept as the ID number, however it was typed."""
    number = normalise(Kind.CERTIFICATE, raw)
    if _ID_SHAPE.fullmatch(number):
        return number
    text = fold_digits(unicodedata.normalize("NFKC", str(raw or "")))
    return _DASHES.sub("-", _WHITESPACE.sub("", text)).upper()


def stored_form(kind: Kind, raw: str | None) -> str:
    """What is sealed: the normalised number, except a certificate serial keeps its dashes."""
    if kind is Kind.CERTIFICATE:
        return _certificate_as_printed(raw)
    return normalise(kind, raw)


_MASKS: dict[Kind, Callable[[str], str]] = {
    Kind.ID_CARD: mask_id,
    Kind.PHONE: mask_phone,
    Kind.BANK_ACCOUNT: mask_account,
    Kind.CERTIFICATE: mask_id,  # first and last four: an ID number is masked like one
}


def mask(kind: Kind, value: str | None) -> str:
    """The number as screens and the family's receipt show it ("" when there is none)."""
    return _MASKS[kind](value) if value else ""


@dataclass(frozen=True)
class Sealed:
    enc: str | None
    bidx: str | None


def seal(vault: Vault, kind: Kind, raw: str | None) -> Sealed:
    """Ciphertext of the stored form and blind index of the normalised form (None, None if empty)."""
    if not normalise(kind, raw):
        return Sealed(None, None)
    return Sealed(vault.seal(stored_form(kind, raw)), vault.index(normalise(kind, raw)))


def index(vault: Vault, kind: Kind, raw: str | None) -> str | None:
    """Blind index for looking a number up, however it was typed."""
    return vault.index(normalise(kind, raw)) or None


def open_value(vault: Vault, sealed: str | None) -> str:
    """The number in clear ("" when none): only for the reveal service, the archive copy and the owner."""
    return vault.open(sealed) or ""


# --- the personal numbers of an application ---------------------------------------------------


@dataclass(frozen=True)
class PersonalField:
    key: str  # as the reveal form, auth.permissions and the audit log name it
    label: str
    kind: Kind
    holder: str  # "deceased" | "applicant" | "recipient"
    column: str  # the row's sealed column is <column>_enc


FIELDS: dict[str, PersonalField] = {f.key: f for f in (
    PersonalField("deceased_id", "逝者身份证号", Kind.ID_CARD, "deceased", "id_card"),
    PersonalField("deceased_certificate", "死亡证明编号", Kind.CERTIFICATE, "deceased", "certificate_no"),
    PersonalField("applicant_id", "申请人身份证号", Kind.ID_CARD, "applicant", "id_card"),
    PersonalField("applicant_phone", "申请人手机号", Kind.PHONE, "applicant", "phone"),
    PersonalField("recipient_id", "领取人身份证号", Kind.ID_CARD, "recipient", "id_card"),
    PersonalField("recipient_phone", "领取人手机号", Kind.PHONE, "recipient", "phone"),
    PersonalField("recipient_account", "领取人银行账号", Kind.BANK_ACCOUNT, "recipient", "bank_account"),
)}


def _holder(app: Application, holder: str) -> object | None:
    if holder == "deceased":
        return app.deceased
    return next((p for p in app.parties if p.role == holder), None)


def present(app: Application) -> list[PersonalField]:
    """The fields this application has (no recipient row: no recipient fields)."""
    return [f for f in FIELDS.values() if _holder(app, f.holder) is not None]


def sealed_value(app: Application, key: str) -> str | None:
    field = FIELDS[key]
    row = _holder(app, field.holder)
    return getattr(row, f"{field.column}_enc", None) if row is not None else None


def opened(app: Application, vault: Vault, key: str) -> str:
    return open_value(vault, sealed_value(app, key))


def same_as_deceased_id(app: Application) -> bool:
    """The certificate number is the deceased's ID number (compared by blind index, unopened)."""
    d = app.deceased
    return d is not None and bool(d.certificate_no_bidx) and d.certificate_no_bidx == d.id_card_bidx


@dataclass
class MaskedField:
    """A personal number as the back office shows it: masked, or revealed after a logged reveal."""

    key: str
    label: str
    masked: str
    revealed: str | None = None
    note: str = ""
    revealable: bool = True  # False when there is nothing of its own to open (e.g. 同申请人)


SAME_AS_APPLICANT = "同申请人"


def recipient_is_applicant(app: Application) -> bool:
    """The applicant receives the money: same person, same numbers (compared by blind index)."""
    parties = {p.role: p for p in app.parties}
    applicant, recipient = parties.get("applicant"), parties.get("recipient")
    return (applicant is not None and recipient is not None and bool(recipient.id_card_bidx)
            and recipient.id_card_bidx == applicant.id_card_bidx)


def masked_fields(app: Application, vault: Vault, revealed: dict[str, str] | None = None,
                  keys: Iterable[str] | None = None) -> list[MaskedField]:
    """Every personal number of the application, masked; those in `revealed` also in full."""
    wanted = set(keys) if keys is not None else None
    same_person = recipient_is_applicant(app)
    out = []
    for field in present(app):
        if wanted is not None and field.key not in wanted:
            continue
        if same_person and field.key in ("recipient_id", "recipient_phone"):
            out.append(MaskedField(field.key, field.label, SAME_AS_APPLICANT, revealable=False))
            continue
        value = opened(app, vault, field.key)
        if field.key == "recipient_phone" and not value:
            continue  # the form asks only the applicant for a phone
        note = "（与逝者身份证号相同）" if field.key == "deceased_certificate" and same_as_deceased_id(app) else ""
        out.append(MaskedField(field.key, field.label, mask(field.kind, value) or "未填写",
                               (revealed or {}).get(field.key), note))
    return out
