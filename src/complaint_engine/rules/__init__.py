"""Time limits on the official working-day calendar: the calendar, the deadline rules, the clocks."""

from complaint_engine.rules.calendar import (
    CalendarNotice,
    ProvisionalCalendarError,
    ProvisionalCalendarWarning,
    WorkingCalendar,
)
from complaint_engine.rules.deadlines import (
    CalendarDays,
    ClockHours,
    ClockMinutes,
    DeadlineRule,
    Earliest,
    EndOfDay,
    WorkingDays,
    WorkingHours,
)
from complaint_engine.rules.sla import ClockState, Deadline, Responsible, breached, overdue

__all__ = [
    "CalendarDays",
    "CalendarNotice",
    "ClockHours",
    "ClockMinutes",
    "ClockState",
    "Deadline",
    "DeadlineRule",
    "Earliest",
    "EndOfDay",
    "ProvisionalCalendarError",
    "ProvisionalCalendarWarning",
    "Responsible",
    "WorkingCalendar",
    "WorkingDays",
    "WorkingHours",
    "breached",
    "overdue",
]
