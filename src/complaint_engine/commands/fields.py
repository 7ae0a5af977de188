"""The checks and converters of command fields: what makes a command refuse bad input when it is made."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import TypeVar

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message
from complaint_engine.model import (
    AnnouncementChannel,
    CallbackMethod,
    Channel,
    ContactMethod,
    EvidenceKind,
    Satisfaction,
    Severity,
    Urgency,
    refuse_unstorable_text,
)

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")
__all__ = [
    "Validator",
    "action_ref",
    "actions",
    "announcement_channel",
    "any_text",
    "attachments",
    "boolean",
    "channel",
    "clocks",
    "contact_method",
    "evidence_kind",
    "ids",
    "instant",
    "member",
    "method",
    "optional_boolean",
    "optional_instant",
    "optional_text",
    "problem",
    "satisfaction",
    "severity",
    "text",
    "urgency",
]

Validator = Callable[[object, "attrs.Attribute[T]", T], None]


def text(what: str | None = None) -> Validator[str]:
    """A non-empty string every store can keep."""

    def check(_: object, attribute: attrs.Attribute[str], value: object) -> None:
        name = what or attribute.name
        if not isinstance(value, str) or not value.strip():
            raise ValidationError.of(name, value, "a non-empty string")
        refuse_unstorable_text(name, value)

    return check


def optional_text(what: str | None = None) -> Validator[str | None]:
    """None, or a non-empty string every store can keep."""

    def check(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
        if value is not None:
            name = what or attribute.name
            if not isinstance(value, str) or not value.strip():
                raise ValidationError.of(name, value, "a non-empty string")
            refuse_unstorable_text(name, value)

    return check


def any_text(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    """None or any string every store can keep (an owner's opinion may be short)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError.of(attribute.name, value, "None or a string")
    refuse_unstorable_text(attribute.name, value)


def instant(_: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise ValidationError.of(attribute.name, value, "a timezone-aware datetime")


def optional_instant(_: object, attribute: attrs.Attribute[dt.datetime | None], value: object) -> None:
    if value is not None and (not isinstance(value, dt.datetime) or value.utcoffset() is None):
        raise ValidationError.of(attribute.name, value, "None or a timezone-aware datetime")


def boolean(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError.of(attribute.name, value, "True or False")


def optional_boolean(_: object, attribute: attrs.Attribute[bool | None], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError.of(attribute.name, value, "True, False or None")


def member(kind: type[E], value: object, what: str) -> E:
    """The member itself, or the member whose value is given (the engine's enums have text values); else a
    ValidationError naming ``what`` and listing the allowed values."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    raise ValidationError.of(what, value, Message("one of {0}", [m.value for m in kind]))


# attrs converters: enum fields take their members or their values
def channel(value: object) -> Channel:
    return member(Channel, value, "channel")


def severity(value: object) -> Severity:
    return member(Severity, value, "severity")


def urgency(value: object) -> Urgency | None:
    return None if value is None else member(Urgency, value, "urgency")


def method(value: object) -> CallbackMethod:
    return member(CallbackMethod, value, "method")


def satisfaction(value: object) -> Satisfaction | None:
    return None if value is None else member(Satisfaction, value, "satisfaction")


def contact_method(value: object) -> ContactMethod:
    return member(ContactMethod, value, "method")


def announcement_channel(value: object) -> AnnouncementChannel:
    return member(AnnouncementChannel, value, "announcement channel")


def problem(value: object) -> str:
    """A CAPA report's problem: a non-empty string every store can keep (a converter, so the desk can pass the
    problem a finding describes, or None for the check to refuse)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.of("problem", value, "a non-empty string")
    refuse_unstorable_text("problem", value)
    return value


def clocks(value: object) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(n, str) for n in value):
        raise ValidationError.of("clocks", value, "a list of clock names")
    return tuple(value)


def ids(value: object) -> tuple[str, ...]:
    """One or more distinct complaint ids, as a tuple (an id listed twice would be saved twice from one copy)."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(i, str) and i for i in value):
        repeated = sorted({i for i in value if value.count(i) > 1})
        if repeated:
            raise ValidationError.of("complaint_ids", value, Message("distinct complaint ids ({repeated} repeated)",
                                                                     repeated=repeated))
        return tuple(value)
    raise ValidationError.of("complaint_ids", value, "one or more complaint ids")


def attachments(value: object) -> tuple[str, ...]:
    """References to the records of the complaint (E-records): a string is one reference."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ValidationError.of("attachments", value, "a list of references")
    refs = tuple(value)
    for i, ref in enumerate(refs):
        if not isinstance(ref, str) or not ref.strip():
            raise ValidationError.of(Message("attachments[{i}]", i=i), ref, "a non-empty string")
        refuse_unstorable_text(f"attachments[{i}]", ref)
    return refs


def actions(value: object) -> tuple[tuple[str, dt.datetime, str | None], ...]:
    """CAPA actions: one or more (description, timezone-aware due, owner) triples; a (description, due) pair
    leaves the owner to the desk (the person who plans the action)."""
    refuse_unstorable_text("actions", value)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValidationError.of("actions", value, "one or more (description, due, owner) triples")
    out = []
    for i, item in enumerate(value):
        if not (isinstance(item, (tuple, list)) and len(item) in (2, 3) and isinstance(item[0], str)
                and item[0].strip() and isinstance(item[1], dt.datetime) and item[1].utcoffset() is not None
                and (len(item) == 2 or item[2] is None or (isinstance(item[2], str) and item[2].strip()))):
            raise ValidationError.of(Message("actions[{i}]", i=i), item, "(description, timezone-aware due, owner)")
        out.append((item[0], item[1], item[2] if len(item) == 3 else None))
    return tuple(out)


def evidence_kind(value: object) -> EvidenceKind:
    return member(EvidenceKind, value, "evidence kind")


def action_ref(value: object) -> int | str:
    """A CAPA action named by its position (0, 1, …) or its exact description."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip():
        refuse_unstorable_text("action", value)
        return value
    raise ValidationError.of("action", value, "the action's position (0, 1, …) or its description")


