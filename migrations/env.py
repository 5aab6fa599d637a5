"""Alembic environment: the URL comes from portal settings (DATABASE_URL) unless given."""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from portal.config import Settings
from portal.models_all import metadata

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_offline() -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
