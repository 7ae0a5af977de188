"""Reporting periods: a year, a half-year, a quarter or a month, in the policy's local time (P-6.3.1)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message

__all__ = ["Period"]

_FORMS = Message("'2024' (year), '2024H1'/'2024H2' (half-year), '2024Q1'..'2024Q4' (quarter) or '2024-05' (month)")
_PATTERN = re.compile(r"^(\d{4})(?:(H[12])|(Q[1-4])|-(0[1-9]|1[0-2]))?$")


@attrs.frozen
class Period:
    """A half-open local-date interval [start, end) with its label."""

    label: str
    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, text: str | Period) -> Period:
        if isinstance(text, Period):
            return text
        m = _PATTERN.match(text.strip().upper()) if isinstance(text, str) else None
        if m is None:
            raise ValidationError.of("period", text, _FORMS)
        year = int(m.group(1))
        if not 1900 <= year <= 2199:
            raise ValidationError.of("period", text, "a year in 1900..2199")
        if m.group(2):
            first = 1 if m.group(2) == "H1" else 7
            months = 6
        elif m.group(3):
            first = 3 * (int(m.group(3)[1]) - 1) + 1
            months = 3
        elif m.group(4):
            first, months = int(m.group(4)), 1
        else:
            first, months = 1, 12
        start = dt.date(year, first, 1)
        end_month = first + months
        end = dt.date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
        return cls(label=text.strip().upper(), start=start, end=end)

    @property
    def kind(self) -> str:
        if "H" in self.label:
            return "half-year"
        if "Q" in self.label:
            return "quarter"
        return "month" if "-" in self.label else "year"

    def previous(self) -> Period:
        """The period of the same kind just before this one (for period-on-period change)."""
        y = self.start.year
        if self.kind == "year":
            return Period.parse(str(y - 1))
        if self.kind == "half-year":
            return Period.parse(f"{y - 1}H2" if self.start.month == 1 else f"{y}H1")
        if self.kind == "quarter":
            q = (self.start.month - 1) // 3 + 1
            return Period.parse(f"{y - 1}Q4" if q == 1 else f"{y}Q{q - 1}")
        return Period.parse(f"{y - 1}-12" if self.start.month == 1 else f"{y}-{self.start.month - 1:02d}")

    @property
    def months(self) -> range:
        """The period's months as year × 12 + (month − 1), the numbers ``ComplaintFrame.local_month_index`` gives."""
        return range(self.start.year * 12 + self.start.month - 1, self.end.year * 12 + self.end.month - 1)

    def bounds(self, tz: str | ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The aware instants of local 00:00 at start and end."""
        zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        return (dt.datetime.combine(self.start, dt.time(), tzinfo=zone),
                dt.datetime.combine(self.end, dt.time(), tzinfo=zone))

    def __str__(self) -> str:
        return self.label
