"""Identity documents a person can show at the window (代办): the 居民身份证 and the others
浙江政务服务网 knows (id_type 1-6), how each number is checked, masked, and keyed for look-ups.

A family without a 身份证 (a passport-holding 华侨, a 港澳 resident) cannot apply online
(the form needs a 身份证 login) and is sent to the window: the clerk records the document
here, and the same one-form steps do the rest. Pure rules: no database, no web.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from portal.domain.idcard import mask_id, parse_id
from portal.domain.validators import FieldError

__all__ = ["ID_CARD", "ID_TYPES", "Document", "check_document", "document_key", "document_label",
           "mask_document"]

ID_CARD = 1

# The id_type codes of 浙江政务服务网 (auth/personas.toml), with the words a clerk reads.
ID_TYPES: tuple[tuple[str, str], ...] = (
    ("1", "居民身份证"),
    ("2", "护照"),
    ("3", "军官证"),
    ("4", "港澳居民来往内地通行证"),
    ("5", "台湾居民来往大陆通行证"),
    ("6", "外国人永久居留身份证"),
)
_LABELS = {int(code): label for code, label in ID_TYPES}

_SEPARATORS = re.compile(r"[\s\u3000\-\u2010-\u2015\uff0d_]+")
_SHAPES: dict[int, tuple[re.Pattern[str], str]] = {
    2: (re.compile(r"^[A-Z0-9]{5,20}$"), "请输入护照号码：5到20位字母或数字，按护照上印的填写"),
    3: (re.compile(r"^[A-Z0-9\u4e00-\u9fff]{4,20}$"), "请输入军官证号码：4到20位，按证件上印的填写"),
    4: (re.compile(r"^[HM][0-9]{8}([0-9]{2})?$"), "请输入港澳居民来往内地通行证号码：H或M开头，后面8位或10位数字"),
    5: (re.compile(r"^[0-9]{8}([0-9]{2})?$"), "请输入台湾居民来往大陆通行证号码：8位或10位数字"),
    6: (re.compile(r"^([A-Z]{3}[0-9]{12}|9[0-9]{16}[0-9X])$"), "请输入外国人永久居留身份证号码：15位或18位，按证件上印的填写"),
}


@dataclass(frozen=True)
class Document:
    id_type: int
    number: str  # normalised: capitals, no separators

    @property
    def is_id_card(self) -> bool:
        return self.id_type == ID_CARD

    @property
    def label(self) -> str:
        return document_label(self.id_type)


def document_label(id_type: int) -> str:
    return _LABELS.get(id_type, "证件")


def check_document(id_type: str | int | None, raw: str | None) -> Document:
    """The document as typed by a clerk, checked by its type (FieldError in plain Chinese)."""
    try:
        kind = int(str(id_type or ""))
    except ValueError:
        kind = 0
    if kind not in _LABELS:
        raise FieldError("请选择申请人出示的证件类型")
    if kind == ID_CARD:
        return Document(ID_CARD, parse_id(raw).number)
    number = _SEPARATORS.sub("", str(raw or "")).upper()
    if not number:
        raise FieldError(f"请输入申请人的{_LABELS[kind]}号码")
    shape, hint = _SHAPES[kind]
    if not shape.match(number):
        raise FieldError(hint)
    return Document(kind, number)


def document_key(doc: Document) -> str:
    """What the blind index is computed over: a 身份证号 alone (so it matches every other
    身份证 index of the portal), any other document with its type (two documents of different
    types never share an index)."""
    return doc.number if doc.is_id_card else f"{doc.id_type}:{doc.number}"


def mask_document(doc: Document) -> str:
    """As screens and the family's copy show it: a 身份证号 like every other, others keep the
    first two and last three characters, with the document named."""
    if doc.is_id_card:
        return mask_id(doc.number)
    n = doc.number
    masked = n[:2] + "*" * max(len(n) - 5, 1) + n[-3:] if len(n) > 5 else n[:1] + "*" * (len(n) - 1)
    return f"{doc.label} {masked}"
