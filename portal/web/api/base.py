"""The base of every request and response model of /api/v1: strict, closed, fully described.

Strict: a JSON string is not taken for a number, nor a number for a string. Closed: an unknown
field is refused (422), so a typo never passes silently. Fields with a default are still listed as
always present in responses (the document says what a client can rely on).
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_serialization_defaults_required=True)


class QueryModel(BaseModel):
    """Query parameters: closed like the bodies, but read from text (a query string has no numbers)."""

    model_config = ConfigDict(extra="forbid")
