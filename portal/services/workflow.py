"""Compatibility names for code written before the back office was split by use case.

New code imports from the modules that do the work:
    errors      WorkflowError, NotFound, Conflict, Invalid
    casework    StaffLike, snapshots, version checks, catalogue names
    window      一窗受理: accept, return_application, record_channel
    tasks       限时结办: take/complete/refuse/return, dependencies, completion, resume after correction
    disclosure  personal numbers opened with a reason, the archive copy
    staff       staff accounts (create, (de)activate)
`portal.services.submission` still calls `workflow.resume_after_correction` through this module.
"""
from __future__ import annotations

from portal.domain.clock import now, today
from portal.services.casework import (
    StaffLike,
    app_snapshot,
    catalogue,
    conflict_message,
    department_name,
    matter_name,
    staff_actor,
    task_snapshot,
)
from portal.services.deadlines import time_limit
from portal.services.disclosure import (
    REVEALABLE,
    ArchiveCopy,
    may_reveal,
    print_archive,
    reveal,
    revealable,
    viewable_application,
)
from portal.services.errors import Conflict, Invalid, NotFound, WorkflowError
from portal.services.staff import ROLES, StaffForm, create_staff, set_staff_active
from portal.services.tasks import (
    complete_task,
    dependents,
    lock_application,
    maybe_complete,
    medical_settlement,
    parse_result,
    prerequisites,
    refuse_task,
    resume_after_correction,
    return_task,
    take_task,
    unmet_prerequisites,
)
from portal.services.window import CHANNELS, accept, record_channel, return_application

__all__ = [
    "CHANNELS", "REVEALABLE", "ROLES", "ArchiveCopy", "Conflict", "Invalid", "NotFound", "StaffForm", "StaffLike",
    "WorkflowError", "accept", "app_snapshot", "catalogue", "complete_task", "conflict_message", "create_staff",
    "department_name", "dependents", "lock_application", "matter_name", "may_reveal", "maybe_complete",
    "medical_settlement", "now", "parse_result", "prerequisites", "print_archive", "record_channel", "refuse_task",
    "resume_after_correction", "return_application", "return_task", "reveal", "revealable", "set_staff_active",
    "staff_actor", "take_task", "task_snapshot", "time_limit", "today", "unmet_prerequisites",
    "viewable_application",
]
