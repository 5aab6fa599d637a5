"""Load the policy knowledge base (content/policies) into the database, idempotently."""
from __future__ import annotations

from sqlalchemy.engine import Engine


def sync_policies(engine: Engine) -> int:
    """Insert or update every policy entry whose file changed; returns how many changed."""
    try:
        from portal.services.policies import sync_policy_articles
    except ImportError:  # knowledge base not built yet
        return 0
    return sync_policy_articles(engine)
