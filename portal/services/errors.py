"""Why a back-office action could not be done, in words for the person who tried.

Every use case of the window, the departments, disclosure and staff administration raises these;
the web layer turns them into a page (404, 400 with the fields, 409 with the latest state).
"""
from __future__ import annotations

from collections.abc import Mapping


class WorkflowError(Exception):
    """An action that cannot be done; `message` is plain Chinese for the person who tried."""

    def __init__(self, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class NotFound(WorkflowError):
    """No such record, or not one this person may see (indistinguishable on purpose)."""

    def __init__(self) -> None:
        super().__init__("找不到这条记录，或者您没有权限查看。")


class Conflict(WorkflowError):
    """The record changed since the form was shown; nothing was saved."""


class Invalid(WorkflowError):
    """Form fields need fixing; `errors` maps field name to message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("请修改以下问题", errors)
