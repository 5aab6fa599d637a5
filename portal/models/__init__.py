"""The portal's tables. One module per topic; this package re-exports every mapped class so
`from portal.models import X` works and `Base.metadata` knows every table once the package is imported.

Personal numbers are never stored in clear (see portal/models/core.py).
"""
from portal.models.api import (  # the machine interface (/api/v1)
    ApiClient,
    ChangeCounter,
    WebhookSubscription,
)
from portal.models.channels import CaseAccess, ProxyApplicant, TextPhone
from portal.models.core import (
    Application,
    ApplicationMatter,
    CitizenAccount,
    Deceased,
    DepartmentTask,
    Event,
    Heartbeat,
    Job,
    Notification,
    NumberSequence,
    Party,
    PolicyArticle,
    Receipt,
    ScheduleRun,
    StaffMember,
    TaskDependency,
    ThrottleCounter,
    TimestampMixin,
    WebSession,
    utcnow,
)
from portal.models.exchange import CaseException, CaseInvitation, ExchangeEvent
from portal.models.oversight import (  # issue 16: 月对账 and retention runs
    ReconConfirmation,
    ReconLine,
    ReconMonth,
    RetentionRun,
)

__all__ = [
    "utcnow",
    "TimestampMixin",
    "CitizenAccount",
    "StaffMember",
    "Application",
    "Deceased",
    "Party",
    "ApplicationMatter",
    "DepartmentTask",
    "TaskDependency",
    "Event",
    "Notification",
    "PolicyArticle",
    "Receipt",
    "NumberSequence",
    "ThrottleCounter",
    "Job",
    "ScheduleRun",
    "Heartbeat",
    "WebSession",
    "ProxyApplicant",
    "TextPhone",
    "CaseAccess",
    "ReconMonth",
    "ReconLine",
    "ReconConfirmation",
    "RetentionRun",
    "ApiClient",
    "WebhookSubscription",
    "ChangeCounter",
    "ExchangeEvent",
    "CaseException",
    "CaseInvitation",
]
