"""complaint_engine: the complaint procedure of a property-management company, as a library.

Everything a user touches is importable from here; deadline rules and the calendar live in
``complaint_engine.rules``, stores in ``complaint_engine.storage``.
"""

from typing import TYPE_CHECKING

from complaint_engine.clock import Clock, FixedClock, SystemClock
from complaint_engine.desk import ComplaintDesk, OverdueItem
from complaint_engine.errors import (
    CalendarError,
    ComplaintEngineError,
    ConcurrencyError,
    ConnectionLost,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyError,
    StorageError,
    ValidationError,
)
from complaint_engine.messages import set_error_language
from complaint_engine.model import (
    Actor,
    Announcement,
    AnnouncementChannel,
    Callback,
    CallbackMethod,
    CAPAAction,
    CAPAReport,
    CAPAStatus,
    Channel,
    Complaint,
    Contact,
    ContactMethod,
    Deferral,
    Escalation,
    Evidence,
    EvidenceKind,
    HandlingNotice,
    Investigation,
    Measure,
    Referral,
    Role,
    Satisfaction,
    Severity,
    Status,
    Transfer,
    Transition,
    Urgency,
    Verification,
)
from complaint_engine.policy import Category, Department, Policy
from complaint_engine.rules.sla import ClockState, Deadline, Responsible
from complaint_engine.storage.damaged import DamagedRecord, Found

if TYPE_CHECKING:
    from complaint_engine.settings import read_calendar_notice

__all__ = [
    "Actor",
    "Announcement",
    "AnnouncementChannel",
    "CAPAAction",
    "CAPAReport",
    "CAPAStatus",
    "CalendarError",
    "Callback",
    "CallbackMethod",
    "Category",
    "Channel",
    "Clock",
    "ClockState",
    "Complaint",
    "ComplaintDesk",
    "ComplaintEngineError",
    "ConcurrencyError",
    "ConnectionLost",
    "Contact",
    "ContactMethod",
    "DamagedRecord",
    "Deadline",
    "Deferral",
    "Department",
    "Escalation",
    "Evidence",
    "EvidenceKind",
    "FixedClock",
    "Found",
    "HandlingNotice",
    "InvalidTransition",
    "Investigation",
    "Measure",
    "NotFound",
    "OverdueItem",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "Referral",
    "Responsible",
    "Role",
    "Satisfaction",
    "Severity",
    "Status",
    "StorageError",
    "SystemClock",
    "Transfer",
    "Transition",
    "Urgency",
    "ValidationError",
    "Verification",
    "read_calendar_notice",
    "set_error_language",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # file readers live at the edge (complaint_engine.settings), loaded on first use: importing the package
    # never imports the converter's dependencies
    if name == "read_calendar_notice":
        from complaint_engine.settings import read_calendar_notice

        return read_calendar_notice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
