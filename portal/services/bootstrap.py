"""Start-up checks of the editable reference data (catalogue, policy files)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def validate_reference_data() -> None:
    """Load the catalogue once so that a broken data file stops start-up with a clear message."""
    try:
        from portal.domain.catalogue import default_catalogue
    except ImportError:  # domain catalogue not present yet
        return
    default_catalogue()


def warm_up(db: sessionmaker[Session]) -> None:
    """Do slow one-time work before the first visitor: jieba's dictionary (~1 s) and the policy index."""
    from portal.services.policy_search import snapshot

    with db() as session:
        snapshot(session)
