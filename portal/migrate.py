"""Run Alembic migrations programmatically (used by the CLI and the tests)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from portal.config import ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(engine: Engine, *, pii_key: bytes | None = None) -> None:
    """Migrate to head. `pii_key` seals personal numbers a migration moves out of clear columns
    (without it such a migration reads PII_KEY the way Settings does)."""
    with engine.begin() as conn:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        if pii_key is not None:
            cfg.attributes["pii_key"] = pii_key
        command.upgrade(cfg, "head")
    if engine.dialect.name == "sqlite":  # fold the WAL into the file and empty it: no old page images left
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    with engine.connect() as conn:
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = conn
        command.check(cfg)
