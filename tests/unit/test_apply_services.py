"""Draft encoding and the readable 编号 sequence (an in-memory SQLite, no app)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from portal.crypto import Vault
from portal.db import make_engine
from portal.models import NumberSequence
from portal.services.applications import Draft
from portal.services.submission import next_number


def test_draft_round_trip_is_encrypted() -> None:
    vault = Vault(b"k" * 32)
    draft = Draft(answers={"d_id": "330302194001010010", "matters": ["hukou"]}, done=["scenario"])
    sealed = vault.seal_bytes(draft.to_bytes())
    assert b"330302194001010010" not in sealed
    again = Draft.from_bytes(vault.open_bytes(sealed))
    assert again.answers == draft.answers and again.done == ["scenario"]
    assert Draft.from_bytes(None).answers == {}


def test_numbers_per_county_and_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    NumberSequence.__table__.create(engine)
    day = date(2026, 11, 22)
    with Session(engine) as s, s.begin():
        assert next_number(s, "330302", day) == "330302-20261122-0001"
        assert next_number(s, "330302", day) == "330302-20261122-0002"
        assert next_number(s, "330381", day) == "330381-20261122-0001"
        assert next_number(s, "330302", date(2026, 11, 23)) == "330302-20261123-0001"
    with Session(engine) as s, s.begin():
        assert next_number(s, "330302", day) == "330302-20261122-0003"
    engine.dispose()
