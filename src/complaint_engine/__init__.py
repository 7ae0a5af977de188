"""complaint_engine: the complaint procedure of a property-management company, as a library."""

from complaint_engine.errors import (
    CalendarError,
    ComplaintEngineError,
    ConcurrencyError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    PolicyError,
    ValidationError,
)

__all__ = [
    "CalendarError",
    "ComplaintEngineError",
    "ConcurrencyError",
    "InvalidTransition",
    "NotFound",
    "PermissionDenied",
    "PolicyError",
    "ValidationError",
]
__version__ = "0.1.0"
