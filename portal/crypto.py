"""Encryption at rest for personal numbers (身份证号, bank accounts).

AES-256-GCM with a random nonce per value, and an HMAC-SHA256 blind index so that equal
numbers can be found (duplicate-deceased check) without storing them in clear.
Both keys are derived from one master key with HKDF, so rotating means one setting.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class Vault:
    """Seals and opens short personal strings; computes their blind index."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) < 32:
            raise ValueError("PII_KEY must be at least 32 bytes (64 hex characters)")
        self._aead = AESGCM(_derive(master_key, b"shenhou/pii/enc"))
        self._index_key = _derive(master_key, b"shenhou/pii/index")

    def seal(self, plain: str | None) -> str | None:
        if plain is None or plain == "":
            return None
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plain.encode(), None)
        return _PREFIX + base64.urlsafe_b64encode(nonce + ct).decode()

    def open(self, sealed: str | None) -> str | None:
        if not sealed:
            return None
        if not sealed.startswith(_PREFIX):
            raise ValueError("unknown ciphertext version")
        raw = base64.urlsafe_b64decode(sealed[len(_PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()

    def index(self, plain: str | None) -> str | None:
        if not plain:
            return None
        return hmac.new(self._index_key, plain.upper().encode(), hashlib.sha256).hexdigest()

    def seal_bytes(self, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, None)

    def open_bytes(self, blob: bytes) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], None)
