"""Personal numbers in one place: normalised before comparing, sealed, indexed and masked alike;
numeric fields keep only ASCII digits whatever digits the family's keyboard produced."""
from __future__ import annotations

import pytest

from portal.crypto import Vault
from portal.domain.idcard import parse_id
from portal.domain.validators import FieldError, check_bank_account, check_phone
from portal.services import pii
from portal.services.pii import Kind

ID_X = "33038119450707018X"
ACCOUNT = "6222021234567890128"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@pytest.mark.parametrize("typed", [
    "330381-19450707-018x",  # a police certificate typed as the ID, with dashes
    "330381 1945 0707 018X",
    "330381\u201419450707\u2013018x",  # em and en dash from a word processor
    ID_X.translate(FULL_WIDTH),
    "330381\u300019450707\u3000018Ｘ",  # ideographic spaces
    ID_X.translate(ARABIC_INDIC),
])
def test_certificate_numbers_are_normalised_before_comparing(typed: str) -> None:
    assert pii.normalise(Kind.CERTIFICATE, typed) == ID_X
    assert pii.stored_form(Kind.CERTIFICATE, typed) == ID_X  # an ID number is kept as one


def test_a_serial_certificate_keeps_its_printed_dashes_but_compares_without_them() -> None:
    assert pii.stored_form(Kind.CERTIFICATE, " wz-2026-001234 ") == "WZ-2026-001234"
    assert pii.normalise(Kind.CERTIFICATE, "wz 2026\u2010001234") == "WZ2026001234"


def test_seal_and_index_go_through_the_normaliser() -> None:
    vault = Vault(b"k" * 32)
    sealed = pii.seal(vault, Kind.CERTIFICATE, "330381-19450707-018x")
    assert sealed.enc and ID_X not in sealed.enc and "19450707" not in sealed.enc
    assert pii.open_value(vault, sealed.enc) == ID_X
    # the certificate that IS the deceased's ID number has the ID's blind index: comparable without opening
    assert sealed.bidx == pii.seal(vault, Kind.ID_CARD, ID_X.lower()).bidx
    assert sealed.bidx != pii.seal(vault, Kind.CERTIFICATE, "WZ-2026-001234").bidx
    assert pii.seal(vault, Kind.CERTIFICATE, "wz-2026-001234").bidx == pii.seal(vault, Kind.CERTIFICATE, "WZ 2026 001234").bidx
    assert pii.seal(vault, Kind.PHONE, "") == pii.Sealed(None, None)


@pytest.mark.parametrize(("kind", "value", "masked"), [
    (Kind.ID_CARD, ID_X, "3303**********018X"),
    (Kind.CERTIFICATE, ID_X, "3303**********018X"),
    (Kind.CERTIFICATE, "WZ-2026-001234", "WZ-2******1234"),
    (Kind.PHONE, "19900000001", "199****0001"),
    (Kind.BANK_ACCOUNT, ACCOUNT, "6222 **** **** **** 0128"),
])
def test_every_kind_is_masked(kind: Kind, value: str, masked: str) -> None:
    assert pii.mask(kind, value) == masked
    assert pii.mask(kind, None) == ""


def test_the_certificate_is_a_personal_field_like_the_others() -> None:
    assert pii.FIELDS["deceased_certificate"].kind is Kind.CERTIFICATE
    assert {f.kind for f in pii.FIELDS.values()} == set(Kind)
    assert all(f.label for f in pii.FIELDS.values())


@pytest.mark.parametrize("digits", [ARABIC_INDIC, DEVANAGARI, FULL_WIDTH])
def test_numeric_fields_store_ascii_digits(digits: dict[int, str]) -> None:
    assert check_bank_account(ACCOUNT.translate(digits)) == (ACCOUNT, True)
    assert check_phone("13812345678".translate(digits)) == "13812345678"
    assert parse_id(ID_X.translate(digits)).number == ID_X
    assert pii.normalise(Kind.BANK_ACCOUNT, ACCOUNT.translate(digits)) == ACCOUNT


@pytest.mark.parametrize("typed", ["六二二二〇二一二三四五六七八九〇一二八", "6222O21234567890128", "6222-0212-3456-789O-128"])
def test_anything_but_digits_is_refused_with_a_chinese_message(typed: str) -> None:
    with pytest.raises(FieldError) as exc:
        check_bank_account(typed)
    assert "只能填数字" in exc.value.message
