"""What a complaint's record gains while it is handled: hand-overs, evidence, the cause found, the measure taken
for a breach. Appended, never changed (P-7). Free text and references stay out of ``repr``."""

from __future__ import annotations

import datetime as dt
import enum

import attrs

__all__ = ["Evidence", "EvidenceKind", "Investigation", "Measure", "Remark", "Transfer"]


class EvidenceKind(enum.Enum):
    """What a piece of evidence is (E-records): the host keeps the file, the engine its reference."""

    PHOTO = "photo"
    RECORDING = "recording"
    DOCUMENT = "document"
    JOB_SHEET = "job_sheet"
    OTHER = "other"


@attrs.frozen(slots=False)
class Transfer:
    """A hand-over of a dispatched complaint: from which department (and person) to which, by whom, when, why."""

    from_department: str
    to_department: str
    by: str
    at: dt.datetime
    reason: str = attrs.field(repr=False)
    from_assignee: str | None = None
    to_assignee: str | None = None


@attrs.frozen(slots=False)
class Evidence:
    """A piece of evidence appended to a complaint: its kind, the host's opaque reference (a URI), who added it
    and when (E-records)."""

    kind: EvidenceKind
    reference: str
    by: str
    at: dt.datetime
    note: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(slots=False)
class Investigation:
    """The cause found for a complaint (P-5.2), whether or not it needs a CAPA report."""

    cause: str = attrs.field(repr=False)
    by: str
    at: dt.datetime


@attrs.frozen(slots=False)
class Measure:
    """The measure taken for a breached clock (E-accountability, 處分): who decided it, against whom, what."""

    clock: str
    person: str
    measure: str = attrs.field(repr=False)
    by: str
    at: dt.datetime


@attrs.frozen(slots=False)
class Remark:
    """The free text a step gave that has no other place in the record (why work paused, why a complaint was
    reopened or merged): kept in the document, never in the transition's note, which holds no free text."""

    event: str
    text: str = attrs.field(repr=False)
    by: str
    at: dt.datetime
