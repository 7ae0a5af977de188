"""Erasure and rectification of a person's data (PIPL arts. 46–47, GDPR arts. 16–17) as commands."""

from __future__ import annotations

from typing import ClassVar

import attrs

from complaint_engine.commands.base import COMPLAINT_ID, Command, ComplaintCommand
from complaint_engine.commands.fields import optional_text, text
from complaint_engine.errors import ValidationError
from complaint_engine.model import Complaint, Event

__all__ = ["PRIVACY_COMMANDS", "EraseComplaint", "ErasePerson"]


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
            isinstance(v, str) and v.strip() for v in value):
        raise ValidationError.of("phones", "(withheld)", "a list of non-empty texts")
    return tuple(value)


def _secrets(value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationError.of("secrets", "(withheld)", "a list of texts")
    return tuple(value)


@attrs.frozen
class ErasePerson(Command[tuple[Complaint, ...]]):
    """Pseudonymise every complaint of a person in the actor's office: found by ``owner`` (the name as
    recorded), by ``unit``, or both (a complaint must match every one given). ``phones`` are further texts
    to remove wherever they appear. Returns the complaints as pseudonymised."""

    event: ClassVar[Event] = Event.ERASE
    reason: str = attrs.field(validator=text(), repr=False)
    owner: str | None = attrs.field(default=None, validator=optional_text(), repr=False)
    unit: str | None = attrs.field(default=None, validator=optional_text(), repr=False)
    phones: tuple[str, ...] = attrs.field(default=(), converter=_texts, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.owner is None and self.unit is None:
            raise ValidationError.of("person", None, "an owner, a unit, or both")


@attrs.frozen
class EraseComplaint(ComplaintCommand[Complaint]):
    """The engine's step on each complaint of an erasure: ``secrets`` are removed from every text of the
    record, the owner becomes ``pseudonym`` and — when the unit is erased — the unit keeps only its building."""

    event: ClassVar[Event] = Event.ERASE
    complaint_id: str = attrs.field(validator=COMPLAINT_ID)
    pseudonym: str = attrs.field(validator=text("pseudonym"))
    secrets: tuple[str, ...] = attrs.field(converter=_secrets, repr=False)
    erase_unit: bool = False
    reason: str = attrs.field(default="", repr=False)


PRIVACY_COMMANDS: tuple[type[Command[object]], ...] = (ErasePerson, EraseComplaint)
