"""The base classes of commands, and the checks the engine's own commands share."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from complaint_engine.commands.fields import clocks, text
from complaint_engine.errors import ValidationError
from complaint_engine.model import CAPAReport, Event

__all__ = ["CAPACommand", "Command", "ComplaintCommand", "action_positions", "clock_names"]

R = TypeVar("R", covariant=True)


def action_positions(value: object) -> tuple[int, ...]:
    """Positions of a CAPA report's actions (0, 1, …)."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                       for i in value):
        raise ValidationError.of("actions", value, "positions of the report's actions (0, 1, …)")
    return tuple(value)


def clock_names(value: object) -> tuple[str, ...]:
    """The ``clocks`` converter under another name: inside RecordBreach, ``clocks`` names its field."""
    return clocks(value)


COMPLAINT_ID = text("complaint id")
NUMBER = text("number")


# ------------------------------------------------------------------------------------------- the base classes
class Command(Generic[R]):
    """A desk verb as data. ``R`` is what the verb returns; ``event`` is the lifecycle event it runs."""

    __slots__ = ()
    event: ClassVar[Event]


class ComplaintCommand(Command[R]):
    """A command that steps one stored complaint (it has a ``complaint_id``)."""

    __slots__ = ()
    complaint_id: str


class CAPACommand(Command[CAPAReport]):
    """A command that steps one stored CAPA report (it has a ``number``)."""

    __slots__ = ()
    number: str
