"""Start-up checks of the editable reference data (catalogue, policy files)."""
from __future__ import annotations


def validate_reference_data() -> None:
    """Load the catalogue once so that a broken data file stops start-up with a clear message."""
    try:
        from portal.domain.catalogue import default_catalogue
    except ImportError:  # domain catalogue not present yet
        return
    default_catalogue()
