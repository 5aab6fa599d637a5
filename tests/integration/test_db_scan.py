"""After a whole demo, the SQLite file holds no personal number in clear (issue 11).

The demo: `migrate`, `seed-demo`, a family application submitted through the real flow (a
police certificate typed as the ID with dashes, another person as recipient), the family's
receipt, a clerk revealing every number with a reason, accepting, and printing the archive copy.
Then the raw bytes of the database file and its WAL are searched, as ASCII and as UTF-16, for
any checksum-valid 身份证号, any 16-19 digit number passing Luhn (bank cards) and any
mainland mobile number. It runs on its own SQLite file whatever database the suite uses.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import String, Text, select
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from stdnum import luhn
from stdnum.cn import ric

from auth.web import build_oauth
from portal.app import create_app
from portal.config import Settings
from portal.db import make_engine
from portal.domain.idcard import PROVINCE_CODES
from portal.migrate import upgrade
from portal.models import Application
from portal.models_all import metadata
from tests.conftest import TEST_PII_KEY, csrf_from
from tests.helpers import login
from tests.integration.test_apply_support import (
    BAD_LUHN_ACCOUNT,
    DECEASED_ID_X,
    RECIPIENT_ID,
    answer_all,
    start,
    submit,
    typical,
)

# --- the scanner ---------------------------------------------------------------------------------

_ID_WINDOWS = re.compile(r"(?=([0-9]{17}[0-9Xx]))")
_CARD = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9Xx])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_HEX_RUN = re.compile(r"[0-9a-f]+")
_DIGEST_LENGTHS = {16, 32, 40, 64}
# digits typed in groups (330381-19450707-018X, 138 1234 5678); dates and times have 2-digit groups
_GROUPED = re.compile(r"(?<![0-9])[0-9]{3,}(?:[-\u2010-\u2015 ][0-9]{3,}[Xx]?)+")
_SEPARATOR = re.compile(r"[-\u2010-\u2015 ]")


def valid_id(candidate: str) -> bool:
    number = candidate.upper()
    if number[:2] not in PROVINCE_CODES:
        return False
    try:
        born = ric.get_birth_date(number)
    except Exception:  # noqa: BLE001 - not a date: not an ID number
        return False
    return 1900 <= born.year and born <= date.today() and ric.calc_check_digit(number) == number[-1]


def _blank(found: str, harmless: set[str]) -> str:
    """Hide what only looks like numbers: hex digests (blind indexes, fingerprints) and 编号s.

    Every such value the database holds is removed wherever it occurs (so a number stored right
    after one is still found), and so is any lone hex run of a digest's length (one left behind
    by a deleted row).
    """
    for value in sorted(harmless, key=len, reverse=True):
        found = found.replace(value, "#" * len(value))
    return _HEX_RUN.sub(lambda m: "#" * len(m.group(0)) if len(m.group(0)) in _DIGEST_LENGTHS
                        and re.search("[a-f]", m.group(0)) else m.group(0), found)


def personal_numbers_in(data: bytes, harmless: set[str]) -> set[tuple[str, str]]:
    """(kind, number) of every personal number in `data`, read as ASCII and as UTF-16 (both orders).

    Numbers typed with dashes or spaces between the digits count too.
    """
    views = [data.decode("latin-1")]
    for encoding in ("utf-16-le", "utf-16-be"):
        views += [data.decode(encoding, "ignore"), data[1:].decode(encoding, "ignore")]
    found: set[tuple[str, str]] = set()
    for view in views:
        view = _blank(view, harmless)
        for text in (view, _GROUPED.sub(lambda m: _SEPARATOR.sub("", m.group(0)), view)):
            found |= {("身份证号", m.group(1).upper()) for m in _ID_WINDOWS.finditer(text) if valid_id(m.group(1))}
            found |= {("银行卡号", m.group(0)) for m in _CARD.finditer(text) if luhn.is_valid(m.group(0))}
            found |= {("手机号", m.group(0)) for m in _MOBILE.finditer(text)}
    return found


def test_the_scanner_finds_numbers_in_clear_and_only_those() -> None:
    bidx = "9f3a13812345678e" + "0" * 48
    data = ("note:" + "330381-19450707-018x" + "|6222021234567890128|a13812345678|" + bidx).encode()
    data += "领取人13912345678".encode("utf-16-le") + b"2026-11-30 06:31:06.123456"
    assert personal_numbers_in(data, {bidx}) == {
        ("身份证号", DECEASED_ID_X), ("银行卡号", "6222021234567890128"), ("手机号", "13812345678"),
        ("手机号", "13912345678")}
    harmless = b"330381194507070180 6222021234567890123 12812345678 2026-11-30 06:31:06.123456 330302-20261122-0007"
    assert personal_numbers_in(harmless, {"330302-20261122-0007"}) == set()


# --- the demo ------------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[TestClient, Engine, Settings]]:
    settings = Settings.from_env({
        "VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "SECRET_KEY": "scan-secret-key", "PII_KEY": TEST_PII_KEY, "BASE_URL": "http://testserver",
        "OIDC_CLIENT_SECRET": "scan-client-secret", "PRERENDER_RECEIPTS": "0",
    })
    engine = make_engine(settings.database_url)
    upgrade(engine, pii_key=settings.pii_key)
    from portal.services.content import sync_policies
    from portal.services.demo import seed_demo

    sync_policies(engine)
    seed_demo(settings)
    application = create_app(settings, engine=engine)
    application.state.oauth = build_oauth(settings, transport=httpx.ASGITransport(app=application))
    with TestClient(application, base_url="http://testserver", follow_redirects=False) as client:
        yield client, engine, settings
    engine.dispose()


def _reveal_and_print(client: TestClient, app_id: int) -> None:
    page = client.get(f"/admin/applications/{app_id}")
    assert page.status_code == 200
    token = csrf_from(page.text)
    select_field = re.search(r'<select[^>]*name="field"[^>]*>(.*?)</select>', page.text, re.S)
    assert select_field, "no reveal form"
    for field in re.findall(r'<option value="([a-z_]+)"', select_field.group(1)):
        shown = client.post(f"/admin/applications/{app_id}/reveal",
                            data={"csrf_token": token, "field": field, "reason": "核对材料"})
        assert shown.status_code == 200, field
    printed = client.post(f"/admin/applications/{app_id}/archive.pdf",
                          data={"csrf_token": token, "archive_reason": "乡镇存档"})
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")


def test_no_personal_number_in_clear_after_a_whole_demo(demo) -> None:  # type: ignore[no-untyped-def]
    client, engine, settings = demo
    start(client, "linxiaoyan")
    answers = typical(deceased_id=DECEASED_ID_X, scenario="unnatural")
    answers["certificate"] = {"cert_no": "330381-19450707-018x"}
    answers["recipient"] = {"r_who": "other", "r_name": "林小红", "r_relation": "child", "r_id": RECIPIENT_ID,
                            "r_bank": "温州银行", "r_account": BAD_LUHN_ACCOUNT, "r_account_confirm": "yes"}
    answer_all(client, answers)
    done = submit(client)
    assert done.status_code == 303, done.text[:300]
    app_id = int(re.match(r"/apply/(\d+)/done", done.headers["location"]).group(1))
    assert client.get(f"/my/{app_id}/receipt.pdf").content.startswith(b"%PDF")
    client.cookies.clear()

    login(client, "clerk")
    _reveal_and_print(client, app_id)
    page = client.get(f"/admin/applications/{app_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    assert client.post(f"/admin/applications/{app_id}/accept",
                       data={"csrf_token": csrf_from(page.text), "version": version}).status_code == 303
    _reveal_and_print(client, 1)  # a seeded application (its certificate number is the deceased's ID)

    harmless = set()  # hex digests and 编号s: digit runs nobody typed
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for row in conn.execute(select(*columns)) if columns else ():
                harmless |= {v for v in row if isinstance(v, str) and re.fullmatch(r"[0-9a-f]{16,}", v)
                             and re.search("[a-f]", v)}
        harmless |= set(conn.scalars(select(Application.number).where(Application.number.is_not(None))))
    engine.dispose()
    path = Path(engine.url.database)
    assert path.stat().st_size > 100_000  # the demo really wrote there
    leaks = {}
    for part in (path, Path(f"{path}-wal")):
        if part.exists():
            found = personal_numbers_in(part.read_bytes(), harmless)
            if found:
                leaks[part.name] = sorted(found)
    assert leaks == {}, leaks
