"""Identity documents at the window (代办) and who may change what on a shared case (委托)."""
from __future__ import annotations

import pytest

from portal.domain.delegation import AGENT, VIEWER, may_change, relation_allowed
from portal.domain.documents import check_document, document_key, mask_document
from portal.domain.validators import FieldError


@pytest.mark.parametrize(("id_type", "raw", "number"), [
    ("1", "33030219620315031x", "33030219620315031X"),
    ("2", "e9000 0017", "E90000017"),
    ("4", "h1234-5678", "H12345678"),
    ("5", "12345678", "12345678"),
    ("6", "abc123456789012", "ABC123456789012"),
])
def test_documents_are_checked_by_their_type(id_type: str, raw: str, number: str) -> None:
    assert check_document(id_type, raw).number == number


@pytest.mark.parametrize(("id_type", "raw", "words"), [
    ("", "E90000017", "证件类型"), ("9", "E90000017", "证件类型"), ("2", "E9", "护照号码"),
    ("4", "X12345678", "港澳"), ("1", "330302194001010011", "身份证"), ("2", "", "护照号码"),
])
def test_wrong_documents_say_what_to_do(id_type: str, raw: str, words: str) -> None:
    with pytest.raises(FieldError, match=words):
        check_document(id_type, raw)


def test_keys_and_masks() -> None:
    card = check_document(1, "33030219620315031X")
    passport = check_document(2, "E90000017")
    assert document_key(card) == "33030219620315031X"  # the same index as every other 身份证号
    assert document_key(passport) == "2:E90000017"  # never the same index as another type's number
    assert mask_document(passport) == "护照 E9****017"
    assert "0315" not in mask_document(card)


def test_who_may_change_what() -> None:
    assert may_change("owner", "recipient") and may_change(AGENT, "applicant")
    assert not may_change(AGENT, "recipient")  # the person paid and the bank account stay the applicant's
    assert not any(may_change(VIEWER, s) for s in ("scenario", "applicant", "recipient", "check"))
    assert not may_change(None, "applicant")
    assert relation_allowed(VIEWER, "grandchild") and not relation_allowed(VIEWER, "sibling")  # 注3
    assert relation_allowed(AGENT, "sibling") and not relation_allowed(AGENT, "agent")
