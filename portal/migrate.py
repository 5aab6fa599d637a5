"""Run Alembic migrations programmatically (used by the CLI and the tests)."""
from __future__ import annotations

from collections.abc import Callable

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from portal.config import ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(engine: Engine, *, pii_key: bytes | None = None, revision: str = "head") -> None:
    """Migrate to head (or `revision`). `pii_key` seals personal numbers a migration moves out of
    clear columns (without it such a migration reads PII_KEY the way Settings does)."""
    _run(engine, command.upgrade, revision, pii_key)
    if engine.dialect.name == "sqlite":  # fold the WAL into the file and empty it: no old page images left
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def downgrade(engine: Engine, revision: str, *, pii_key: bytes | None = None) -> None:
    """Go back to `revision` (tests of a migration write rows as the older code did)."""
    _run(engine, command.downgrade, revision, pii_key)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str, pii_key: bytes | None) -> None:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by rebuilding it (batch mode): with foreign keys on, dropping the
            # old copy of a referenced table fails or cascades. SQLite's own recipe: keys off outside
            # the transaction, rebuild, check every key, keys on again.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg = alembic_config(str(engine.url))
                cfg.attributes["connection"] = conn
                if pii_key is not None:
                    cfg.attributes["pii_key"] = pii_key
                step(cfg, revision)
                if sqlite and (broken := conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()):
                    raise RuntimeError(f"migration left {len(broken)} broken references, e.g. {broken[0]}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    with engine.connect() as conn:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        command.check(cfg)
