"""Deadline rules as short text, for TOML policies and stored documents.

Grammar (case-insensitive, singular or plural)::

    3 working days | 2 days | 2 days at close of business | 10 minutes | 2 hours | 8 working hours
    end of day | end of day with 120 minutes grace | earliest(2 days, 3 working days)

``rule_text(parse_rule(s))`` is canonical and ``parse_rule(rule_text(r)) == r`` for every rule.
"""

from __future__ import annotations

import datetime as dt
import re

from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message, Verbatim
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

__all__ = ["parse_rule", "rule_text"]

GRAMMAR = Verbatim(  # the rule language is English in every language: its words are code
    "'N working days', 'N days', 'N days at close of business', 'N minutes', 'N hours', "
    "'N working hours', 'end of day', 'end of day with N minutes grace', 'earliest(rule, rule, ...)'")
_SIMPLE = {
    "working day": WorkingDays, "day": CalendarDays, "minute": ClockMinutes, "hour": ClockHours,
    "working hour": WorkingHours,
}
_COUNTED = re.compile(r"^(\d+)\s+(working day|day|minute|hour|working hour)s?(\s+at close of business)?$")
_EOD = re.compile(r"^end of (?:the )?day(?:\s+with\s+(\d+)\s+minutes?\s+grace)?$")


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in body:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def parse_rule(text: str) -> DeadlineRule:
    """Parse a rule; an unknown form raises ``ValidationError`` naming it and the grammar."""
    if not isinstance(text, str):
        raise ValidationError.of("deadline rule", text, GRAMMAR)
    s = " ".join(text.strip().lower().split())
    if s.startswith("earliest(") and s.endswith(")"):
        return Earliest(*(parse_rule(part) for part in _split_top_level(s[len("earliest("):-1])))
    if m := _COUNTED.match(s):
        n, unit, cob = int(m.group(1)), m.group(2), m.group(3)
        if n < 1:
            raise ValidationError.of("deadline rule", text, Message("a count >= 1 in {0}", GRAMMAR))
        if cob:
            if unit != "day":
                raise ValidationError.of("deadline rule", text, "'at close of business' only after 'N days'")
            return CalendarDays(n, close_of_business=True)
        rule: DeadlineRule = _SIMPLE[unit](n)
        return rule
    if m := _EOD.match(s):
        grace = m.group(1)
        if grace is not None and int(grace) < 1:
            raise ValidationError.of("deadline rule", text, "a grace of at least 1 minute")
        return EndOfDay(min_grace=dt.timedelta(minutes=int(grace)) if grace else None)
    raise ValidationError.of("deadline rule", text, GRAMMAR)


def rule_text(rule: DeadlineRule) -> str:
    """The canonical text of a rule (the inverse of :func:`parse_rule`)."""
    match rule:
        case Earliest():
            return "earliest(" + ", ".join(rule_text(r) for r in rule.rules) + ")"
        case WorkingDays(n=n):
            return f"{n} working days"
        case CalendarDays(n=n, close_of_business=cob):
            return f"{n} days" + (" at close of business" if cob else "")
        case ClockHours(n=n):
            return f"{n} hours"
        case ClockMinutes(n=n):
            return f"{n} minutes"
        case WorkingHours(n=n):
            return f"{n} working hours"
        case EndOfDay(min_grace=grace):
            if grace is None:
                return "end of day"
            minutes = grace // dt.timedelta(minutes=1)
            if dt.timedelta(minutes=minutes) != grace:
                raise ValidationError.of("end-of-day grace", grace, "whole minutes")
            return f"end of day with {minutes} minutes grace"
    raise ValidationError.of("deadline rule", rule, "one of the rules in complaint_engine.rules")
