"""Reads of many records go on past one that cannot be read: they skip it and report it.

A disk error or a hand edit can leave one stored document unreadable. A read of one complaint (``get``) raises,
naming it; a read of many (``find``, ``overdue``, the sweep) returns every readable record and lists the
damaged ones in ``.damaged`` — one bad row never stops the overdue sweep of a whole store. ``audit`` still
fails on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

import attrs

from complaint_engine.errors import ValidationError
from complaint_engine.messages import Joined, Message

__all__ = ["DamagedRecord", "Found", "damage_of"]

T = TypeVar("T")
log = logging.getLogger("complaint_engine.storage")


@attrs.frozen
class DamagedRecord:
    """A stored complaint that could not be read: its id, and what failed (the paths of the problems, never the
    values, which may hold personal data)."""

    complaint_id: str
    problem: str


class Found(list[T]):
    """A list of what a read found; ``damaged`` lists the records it skipped because they could not be read."""

    damaged: tuple[DamagedRecord, ...]

    def __init__(self, items: Iterable[T] = (), damaged: Iterable[DamagedRecord] = ()) -> None:
        super().__init__(items)
        self.damaged = tuple(damaged)


def damage_of(complaint_id: str, exc: ValidationError) -> DamagedRecord:
    """The record of an unreadable document, logged as a warning (its id and the failing paths only)."""
    paths = sorted({path for path, _ in exc.problems}) or ["$"]
    record = DamagedRecord(complaint_id, Message("unreadable stored document at {0}", Joined(paths, ", ")))
    log.warning("skipped complaint %s: %s", complaint_id, record.problem)
    return record
