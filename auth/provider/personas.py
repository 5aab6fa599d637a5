"""Fictional demo personas of the stand-in provider (auth/personas.toml) and their claims.

The mapping from a persona to OIDC claims lives only here (:meth:`Persona.claims`), so a real
浙江政务服务网 connector can later replace the whole provider with a thin adapter that maps
``getUserInfo`` fields the same way (DOMAIN.md §5).
"""
from __future__ import annotations

import hmac
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.domain import clock

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
SUB_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$")
PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"

ID_TYPES = {1: "身份证", 2: "护照", 3: "军官证", 4: "港澳居民来往内地通行证",
            5: "台湾居民来往大陆通行证", 6: "外国人永久居留身份证"}
AUTH_LEVELS = {1: "非实名", 2: "初级实名", 3: "高级实名"}
KINDS = ("citizen", "staff")

#: claims released per scope (userinfo and id_token); "sub" is always present
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "gender", "birthdate", "nation", "id_type", "id_card_no",
                "passport_no", "auth_level", "user_type"),
    "phone": ("phone_number", "phone_number_verified"),
}
CLAIMS_SUPPORTED = ("sub", "acr", "auth_time", *SCOPE_CLAIMS["profile"], *SCOPE_CLAIMS["phone"])


class PersonaFileError(ValueError):
    """The persona file is missing, unreadable or inconsistent; the message lists every problem."""


def id_check_char(first17: str) -> str:
    """GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return ID_CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def validate_id_card_no(number: str) -> date:
    """Check an 18-char 居民身份证号码 (format, birth date, check char); return the birth date."""
    if not ID_RE.match(number):
        raise ValueError("must be 17 digits and a check character (0-9 or upper-case X)")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError("contains an impossible birth date") from None
    if number[17] != id_check_char(number[:17]):
        raise ValueError(f"check character should be {id_check_char(number[:17])}")
    return born


@dataclass(frozen=True)
class Persona:
    username: str
    password: str
    sub: str
    kind: str
    role_hint: str
    name: str
    phone_number: str
    id_type: int
    id_card_no: str
    passport_no: str
    auth_level: int
    gender: int
    nation: str
    birthdate: str
    user_type: str

    @property
    def acr(self) -> str:
        return f"zjzwfw:{self.auth_level}"

    def check_password(self, password: str) -> bool:
        return hmac.compare_digest(self.password.encode(), password.encode())

    def all_claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "name": self.name,
            "phone_number": self.phone_number,
            # the stand-in treats the registered mobile as verified only for real-name accounts
            "phone_number_verified": self.auth_level >= 2,
            "id_type": self.id_type,
            "id_card_no": self.id_card_no,
            "passport_no": self.passport_no,
            "auth_level": self.auth_level,
            "gender": self.gender,
            "nation": self.nation,
            "birthdate": self.birthdate,
            "user_type": self.user_type,
        }

    def claims(self, scope: str) -> dict[str, Any]:
        """Claims released for a space-separated ``scope`` ("sub" always)."""
        scopes = set(scope.split())
        everything = self.all_claims()
        out = {"sub": self.sub}
        for s, names in SCOPE_CLAIMS.items():
            if s in scopes:
                for n in names:
                    if n == "passport_no" and not self.passport_no:
                        continue
                    out[n] = everything[n]
        return out


_FIELDS = {
    "username": str, "password": str, "sub": str, "kind": str, "role_hint": str, "name": str,
    "phone_number": str, "id_type": int, "id_card_no": str, "passport_no": str,
    "auth_level": int, "gender": int, "nation": str, "birthdate": str, "user_type": str,
}
_OPTIONAL = {"passport_no": "", "role_hint": "", "kind": "citizen", "user_type": "person"}


def _check_persona(p: Persona) -> list[str]:
    errs: list[str] = []
    if not USERNAME_RE.match(p.username):
        errs.append("username must be 2-64 chars of a-z, 0-9 and '-'")
    if not SUB_RE.match(p.sub):
        errs.append("sub must be 1-64 chars of A-Z a-z 0-9 . _ -")
    if len(p.password) < 8:
        errs.append("password must have at least 8 characters")
    if p.kind not in KINDS:
        errs.append(f"kind must be one of {KINDS}")
    if not p.name.strip():
        errs.append("name is empty")
    if not PHONE_RE.match(p.phone_number):
        errs.append("phone_number must be an 11-digit mobile number 1[3-9]xxxxxxxxx")
    if p.id_type not in ID_TYPES:
        errs.append("id_type must be 1-6")
    if p.auth_level not in AUTH_LEVELS:
        errs.append("auth_level must be 1, 2 or 3")
    if p.gender not in (1, 2):
        errs.append("gender must be 1 (男) or 2 (女)")
    if not re.fullmatch(r"\d{2}", p.nation) or not 1 <= int(p.nation) <= 56:
        errs.append("nation must be a GB 3304-91 code '01'..'56'")
    if p.user_type != "person":
        errs.append("user_type must be 'person'")
    try:
        born = date.fromisoformat(p.birthdate)
        if len(p.birthdate) != 10 or born > clock.today():
            raise ValueError
    except ValueError:
        errs.append("birthdate must be a past date YYYY-MM-DD")
        born = None
    if p.id_type == 1:
        if not p.id_card_no:
            errs.append("id_card_no is required when id_type = 1")
        else:
            try:
                id_born = validate_id_card_no(p.id_card_no)
            except ValueError as exc:
                errs.append(f"id_card_no {p.id_card_no!r} {exc}")
            else:
                if born is not None and id_born != born:
                    errs.append(f"birthdate {p.birthdate} disagrees with id_card_no ({id_born})")
                id_gender = 1 if int(p.id_card_no[16]) % 2 else 2
                if p.gender != id_gender:
                    errs.append(f"gender {p.gender} disagrees with the 17th digit of id_card_no")
        if p.passport_no:
            errs.append("passport_no must be empty when id_type = 1")
    else:
        if p.id_card_no:
            errs.append("id_card_no must be empty unless id_type = 1")
        if p.id_type == 2 and not PASSPORT_RE.match(p.passport_no):
            errs.append("passport_no (5-20 chars A-Z, 0-9) is required when id_type = 2")
    return errs


def parse_personas(data: dict[str, Any], source: str = "<personas>") -> list[Persona]:
    """Build and validate personas from parsed TOML; raise PersonaFileError listing all problems."""
    problems: list[str] = []
    if data.get("version") != 1:
        problems.append("top-level 'version = 1' is missing or unsupported")
    raw = data.get("persona")
    if not isinstance(raw, list) or not raw:
        raise PersonaFileError(f"{source}: no [[persona]] entries")
    personas: list[Persona] = []
    for i, entry in enumerate(raw, 1):
        label = f"persona #{i} ({entry.get('username', '?')})" if isinstance(entry, dict) else f"persona #{i}"
        if not isinstance(entry, dict):
            problems.append(f"{label}: not a table")
            continue
        unknown = set(entry) - set(_FIELDS)
        if unknown:
            problems.append(f"{label}: unknown field(s) {sorted(unknown)}")
        values: dict[str, Any] = {}
        bad = False
        for fname, ftype in _FIELDS.items():
            if fname not in entry:
                if fname in _OPTIONAL:
                    values[fname] = _OPTIONAL[fname]
                    continue
                problems.append(f"{label}: missing field {fname!r}")
                bad = True
                continue
            v = entry[fname]
            if type(v) is not ftype:  # noqa: E721 - bool is not an int here
                problems.append(f"{label}: {fname!r} must be a TOML {ftype.__name__}")
                bad = True
                continue
            values[fname] = v
        if bad:
            continue
        persona = Persona(**values)
        problems.extend(f"{label}: {e}" for e in _check_persona(persona))
        personas.append(persona)
    for attr in ("username", "sub"):
        seen: set[str] = set()
        for p in personas:
            v = getattr(p, attr)
            if v in seen:
                problems.append(f"duplicate {attr} {v!r}")
            seen.add(v)
    if problems:
        raise PersonaFileError(f"{source}: invalid persona file:\n  - " + "\n  - ".join(problems))
    return personas


def load_personas(path: Path) -> list[Persona]:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise PersonaFileError(f"persona file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PersonaFileError(f"{path}: not valid TOML: {exc}") from None
    return parse_personas(data, str(path))


class PersonaStore:
    """Personas indexed by username and by sub (loaded once, read-only)."""

    def __init__(self, personas: list[Persona]):
        self.personas = list(personas)
        self._by_username = {p.username: p for p in personas}
        self._by_sub = {p.sub: p for p in personas}

    @classmethod
    def from_file(cls, path: Path) -> PersonaStore:
        return cls(load_personas(path))

    def by_username(self, username: str) -> Persona | None:
        return self._by_username.get(username)

    def by_sub(self, sub: str) -> Persona | None:
        return self._by_sub.get(sub)

    def authenticate(self, username: str, password: str) -> Persona | None:
        persona = self._by_username.get(username.strip().lower())
        if persona is None:
            # compare anyway so timing does not reveal which usernames exist
            hmac.compare_digest(b"x" * 8, password.encode())
            return None
        return persona if persona.check_password(password) else None
