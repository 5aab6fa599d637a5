"""Compatibility name: the throttle moved to portal/throttle.py (web, services and auth share it)."""
from portal.throttle import (
    ALLOWED,
    LIMITS,
    DatabaseStorage,
    Limit,
    Throttle,
    Verdict,
    make_storage,
    now,
    parse_limits,
    retry_text,
)

__all__ = ["ALLOWED", "LIMITS", "DatabaseStorage", "Limit", "Throttle", "Verdict", "make_storage", "now",
           "parse_limits", "retry_text"]
