"""One flat row of facts per complaint: what the periodic analysis needs, as plain values.

Stores keep these rows in a table next to the documents, written in the same transaction, so the
analysis reads numpy columns straight from SQL without rebuilding a Complaint per row
(:func:`columns`). Computing them here, once, keeps every backend and the in-memory path identical.

Instants are UTC microseconds (``NULL``/NaT when absent). The reply clock is the *first* one the owner
was given (a reopened complaint's later clocks do not replace the original commitment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from complaint_engine.instants import to_us
from complaint_engine.model import Complaint, Satisfaction, Status
from complaint_engine.rules.sla import Deadline

__all__ = ["CLOCKS", "CLOCKS_V3", "FACTS_V6", "FACT_COLUMNS", "NULL_US", "FactColumns", "FactRow", "FactValue",
           "columns", "default_location", "facts_of"]

FactValue = str | int | None
"""A cell of a fact row: text, a count or flag, UTC microseconds — or NULL."""
FactRow = tuple[FactValue, ...]
FactColumns = dict[str, npt.NDArray[Any]]
"""Fact columns by name: text as object arrays, instants as ``datetime64[us]``, counts and flags as int64 (the
dtype differs by column, so the arrays are typed by name at their use)."""

NULL_US = np.iinfo(np.int64).min  # views as NaT in datetime64[us]
CLOCKS_V3 = ("reply", "arrival", "repair", "callback")  # the clocks whose facts schema version 3 stores
CLOCKS = (*CLOCKS_V3, "acknowledge", "start", "update")
_TEXT = ("id", "office", "serial", "category", "channel", "department", "unit", "status", "severity", "urgency",
         "satisfaction")
_INSTANTS = ("received_us", "registered_us", "dispatched_us", "escalated_us", "decided_us", "replied_us",
             "closed_us")
_COUNTS = ("callback_reached", "callback_attempts", "reopened", "needs_capa", "widespread", "capa_count",
           "announced", "answers_satisfied", "answers_basically_satisfied", "answers_dissatisfied")
_CLOCK_COLUMNS = tuple(f"{clock}_{part}" for clock in CLOCKS
                       for part in ("due_us", "met_us", "breached", "dept", "person"))
FACTS_V6 = ("location", "measures")  # the facts schema version 6 adds: where the problem is, measures recorded
FACT_COLUMNS: tuple[tuple[str, str], ...] = (
    *((n, "text") for n in _TEXT),
    *((n, "us") for n in _INSTANTS),
    *((n, "int") for n in _COUNTS),
    *((n, "us" if n.endswith("_us") else "int" if n.endswith("breached") else "text") for n in _CLOCK_COLUMNS),
    ("location", "text"), ("measures", "int"),
)
NAMES = tuple(n for n, _ in FACT_COLUMNS)


_SATISFACTIONS = tuple(Satisfaction)  # answer counts are columns in this order


def default_location(unit: str | None) -> str | None:
    """The building a unit code names ("3-1201" → "3"), where it names one: a complaint's location unless it
    gives its own (a facility such as "5座電梯")."""
    return unit.split("-", 1)[0] if unit and "-" in unit else None


def _us(instant: dt.datetime | None) -> int | None:
    return None if instant is None else to_us(instant)


def _first_clock(c: Complaint, name: str) -> Deadline | None:
    for d in c.past_deadlines:
        if d.name == name:
            return d
    return c.deadlines.get(name)


def _clock_facts(c: Complaint, name: str) -> FactRow:
    d = _first_clock(c, name) if name == "reply" else c.deadlines.get(name) or _last_archived(c, name)
    if d is None:
        return (None, None, None, None, None)
    return (_us(d.due), _us(d.met_at), int(d.breached), d.responsible.department, d.responsible.person)


def _last_archived(c: Complaint, name: str) -> Deadline | None:
    for d in reversed(c.past_deadlines):
        if d.name == name:
            return d
    return None


def facts_of(c: Complaint) -> FactRow:
    """The fact row of a complaint, in :data:`FACT_COLUMNS` order."""
    first: dict[str, dt.datetime] = {}
    last_close = None
    reopened = 0
    for t in c.history:
        if t.event not in first:
            first[t.event] = t.at
        if t.event == "close":
            last_close = t.at
        if t.event == "reopen" or (t.event == "record_callback" and t.target is Status.IN_PROGRESS):
            reopened += 1
    reached = c.reached_callback
    esc = c.escalation
    notice = c.notice
    answers = dict.fromkeys(_SATISFACTIONS, 0)
    unreached = 0
    for cb in c.callbacks:
        if not cb.reached:
            unreached += 1
        elif cb.satisfaction is not None:
            answers[cb.satisfaction] += 1
    # ``_value_`` rather than ``.value``: the enum property is a slow descriptor, and this runs on every save
    row: list[FactValue] = [
        c.id, c.office, c.serial, c.category, c.channel._value_, notice.department if notice else None, c.unit,
        c.status._value_, c.severity._value_, c.urgency._value_ if c.urgency else None,
        reached.satisfaction._value_ if reached and reached.satisfaction else None,
        _us(c.received_at), _us(first.get("register")), _us(first.get("dispatch")),
        _us(esc.escalated_at) if esc else None, _us(esc.decided_at) if esc else None,
        _us(first.get("reply")), _us(last_close),
        int(reached is not None), unreached, reopened, int(c.needs_capa),
        int(c.widespread), len(notice.capa_numbers) if notice else 0, len(c.announcements),
        *answers.values(),
    ]
    for name in CLOCKS:
        row.extend(_clock_facts(c, name))
    row += [c.location or default_location(c.unit), len(c.measures)]
    return tuple(row)


def columns(rows: Iterable[Sequence[object]]) -> FactColumns:
    """Fact rows → numpy columns: text as object arrays (None kept), instants as ``datetime64[us]`` (NaT for
    NULL), counts and flags as int64."""
    rows = list(rows)
    out: FactColumns = {}
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in FACT_COLUMNS]
    for (name, kind), values in zip(FACT_COLUMNS, cols, strict=True):
        if kind == "text":
            out[name] = np.array(values, dtype=object)
        elif kind == "us":
            out[name] = np.array([NULL_US if v is None else v for v in values], dtype=np.int64).view("datetime64[us]")
        else:
            out[name] = np.array([0 if v is None else v for v in values], dtype=np.int64)
    return out
