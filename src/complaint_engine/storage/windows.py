"""Reading a large register a window of receipt at a time, so memory holds one window's complaints.

For reads of a whole register or a whole year (the audit, an export): each window is one indexed query per
office (the office-and-receipt index serves it), merged into ``find``'s order, oldest receipt first. Read
from a snapshot (``repository.snapshot()``) so that the windows agree with each other while desks go on
committing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from complaint_engine.clock import aware_or_none
from complaint_engine.errors import ValidationError
from complaint_engine.model import Complaint
from complaint_engine.storage import UnitOfWork
from complaint_engine.storage.damaged import Found

__all__ = ["WEEK", "in_windows"]

WEEK = dt.timedelta(days=7)  # a week of a busy office is a few thousand complaints


def in_windows(view: UnitOfWork, *, office: str | None = None, received_from: dt.datetime | None = None,
               received_before: dt.datetime | None = None, window: dt.timedelta = WEEK) -> Iterator[Found[Complaint]]:
    """The complaints of ``office`` (all offices when None) received in [``received_from``,
    ``received_before``), one ``window`` of receipt at a time, each window oldest receipt first (ties by id),
    the windows in order; empty windows are skipped. A window's ``damaged`` lists the documents it could not
    read."""
    if not isinstance(window, dt.timedelta) or window <= dt.timedelta(0):
        raise ValidationError.of("window", window, "a positive datetime.timedelta")
    since = aware_or_none("received_from", received_from)
    until = aware_or_none("received_before", received_before)
    offices = [office] if office is not None else view.offices()
    spans = [span for name in offices if (span := view.received_span(office=name)) is not None]
    if not spans:
        return
    start = min(first for first, _ in spans)
    last = max(final for _, final in spans)
    if since is not None:
        start = max(start, since)
    while start <= last and (until is None or start < until):
        end = start + window if until is None else min(start + window, until)
        found = [view.find(office=name, received_from=start, received_before=end) for name in offices]
        batch = Found(sorted((c for f in found for c in f), key=lambda c: (c.received_at, c.id)),
                      (d for f in found for d in f.damaged))
        if batch or batch.damaged:
            yield batch
        start = end
