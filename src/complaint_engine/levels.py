"""Service levels: the clock rules chosen per complaint.

Every helpdesk we compare against chooses the service level per ticket (Frappe's conditional SLAs, Odoo's
SLA policies, Znuny's per queue and SLA). A policy holds an ordered list of levels; each says ``when`` it
applies (office, category, severity, urgency, channel — a value or a list of values each, all of them
matching) and which clock rules it overrides. The first level that matches a complaint wins; a clock the
winning level does not set runs under the policy's own rule, the ``"default"`` level.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import frozen_dict
from complaint_engine.model import Channel, Severity, Urgency
from complaint_engine.rules.deadlines import DeadlineRule

__all__ = ["CLOCK_RULES", "DEFAULT_LEVEL", "Condition", "ServiceLevel", "Subject", "Threshold", "parse_threshold"]

# every clock a policy or a level may set a rule for
CLOCK_RULES = ("reply", "arrival", "emergency_repair", "minor_repair", "callback", "acknowledge", "start", "update")
DEFAULT_LEVEL = "default"


def _texts(value: tuple[str, ...] | str) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class Subject:
    """What a level's condition looks at: the complaint's office, category, severity, urgency and channel."""

    office: str
    category: str
    severity: Severity
    urgency: Urgency | None
    channel: Channel


@attrs.frozen(kw_only=True)
class Condition:
    """``when``: each field a value or a list of values, empty for any; a complaint matches when every field
    does. Enum fields hold the enums' text values (``severity = "major"``)."""

    office: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    category: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    severity: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    urgency: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    channel: tuple[str, ...] = attrs.field(default=(), converter=_texts)

    def matches(self, s: Subject) -> bool:
        return ((not self.office or s.office in self.office)
                and (not self.category or s.category in self.category)
                and (not self.severity or s.severity.value in self.severity)
                and (not self.urgency or (s.urgency is not None and s.urgency.value in self.urgency))
                and (not self.channel or s.channel.value in self.channel))

    def covers(self, other: Condition) -> bool:
        """Whether every complaint ``other`` matches is matched here too (so a level after this one with the
        condition ``other`` can never apply)."""
        return all(not mine or (theirs and set(theirs) <= set(mine))
                   for mine, theirs in ((self.office, other.office), (self.category, other.category),
                                        (self.severity, other.severity), (self.urgency, other.urgency),
                                        (self.channel, other.channel)))


def _rules(value: Mapping[str, DeadlineRule | None]) -> Mapping[str, DeadlineRule | None]:
    return frozen_dict(value)


@attrs.frozen(kw_only=True)
class ServiceLevel:
    """A named service level: when it applies and the clock rules it sets (``None``: that clock is off)."""

    name: str
    when: Condition = Condition()
    rules: Mapping[str, DeadlineRule | None] = attrs.field(factory=dict, converter=_rules)
    warn_at: tuple[str, ...] | None = None  # the warning thresholds of this level's clocks (None: the policy's)


_LEAD = re.compile(r"^\s*(\d+)\s*(minute|hour|day)s?\s*$")
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_UNIT = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}


@attrs.frozen
class Threshold:
    """When a warning falls due before a clock's: a share of the allowed time elapsed (``"80%"``) or a fixed
    time before the due instant (``"5 minutes"``)."""

    text: str
    share: float | None = None
    lead: dt.timedelta | None = None

    def instant(self, started_at: dt.datetime, due: dt.datetime) -> dt.datetime:
        if self.share is not None:
            return started_at + (due - started_at) * self.share
        assert self.lead is not None  # one of the two, by parse_threshold
        return due - self.lead


def parse_threshold(text: object) -> Threshold:
    """``"80%"`` (more than 0, less than 100 %) or ``"N minutes|hours|days"`` (before the due instant)."""
    if isinstance(text, str):
        share = _SHARE.match(text)
        if share:
            value = float(share.group(1))
            if 0 < value < 100 and math.isfinite(value):
                return Threshold(text, share=value / 100)
        lead = _LEAD.match(text)
        if lead and int(lead.group(1)) > 0:
            return Threshold(text, lead=int(lead.group(1)) * _UNIT[lead.group(2)])
    raise ValidationError.of("warning threshold", text, "'N%' with 0 < N < 100, or 'N minutes|hours|days' before due")
