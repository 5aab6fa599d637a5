"""Health of what the portal depends on: can the database store something right now?"""
from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from portal.db import transaction
from portal.models import Heartbeat, utcnow

log = logging.getLogger("portal.health")


def check_writable(db: sessionmaker[Session], name: str = "web") -> str | None:
    """Rewrite the heartbeat row and commit; None when that worked, else what failed.

    A SELECT succeeds on a read-only or full database; a committed upsert does not, so the
    health check fails exactly when families could not save anything.
    """
    try:
        with transaction(db) as session:
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            now = utcnow()
            session.execute(insert(Heartbeat).values(name=name, beat_at=now)
                            .on_conflict_do_update(index_elements=[Heartbeat.name], set_={"beat_at": now}))
    except SQLAlchemyError as exc:
        log.error("health check: the database does not accept writes: %s", exc)
        return "write failed: " + type(exc).__name__
    return None
