"""One flat row of facts per complaint: what the periodic analysis needs, as plain values.

Stores keep these rows in a table next to the documents, written in the same transaction, so the
analysis reads numpy columns straight from SQL without rebuilding a Complaint per row
(:func:`columns`). Computing them here, once, keeps every backend and the in-memory path identical.

Instants are UTC microseconds (``NULL``/NaT when absent). The reply clock is the *first* one the owner
was given (a reopened complaint's later clocks do not replace the original commitment).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from complaint_engine.instants import to_us
from complaint_engine.model import Complaint, Satisfaction, Status
from complaint_engine.rules.sla import Deadline

__all__ = ["CLOCKS", "CLOCKS_V3", "CODED", "FACTS_V6", "FACT_COLUMNS", "NULL_US", "SELECTED", "FactColumns", "FactRow",
           "FactValue", "columns", "default_location", "facts_of"]

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
# Text facts of few distinct values (categories, departments, staff, codes): a store keeps each distinct text once,
# in its ``names`` table, and these columns hold its integer code (0 in a read for NULL). Office and status are the
# store's own query columns, id, serial, unit and location nearly unique: those stay text.
CODED = tuple(n for n, kind in FACT_COLUMNS
              if kind == "text" and n not in ("id", "office", "serial", "status", "unit", "location"))


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


# Text columns whose values repeat (codes, staff ids, units, buildings): each distinct value is kept once, so a
# frame of a million rows holds one string per distinct value, not one per row (the driver makes a str per cell).
# Ids and serials never repeat.
_SHARED = frozenset(n for n, kind in FACT_COLUMNS if kind == "text" and n not in ("id", "serial"))
# The fact columns as a store selects them: NULL instants and counts filled in SQL, so :func:`columns` converts
# whole integer columns without looking at each cell.
# (the least int64 written as an expression: SQL reads the literal 9223372036854775808 as a real number)
_NULL_US_SQL = f"({NULL_US + 1} - 1)"
SELECTED = tuple(f"COALESCE({name}, 0)" if name in CODED else name if kind == "text"
                 else f"COALESCE({name}, {_NULL_US_SQL if kind == 'us' else 0})" for name, kind in FACT_COLUMNS)
CHUNK = 65_536  # rows converted at a time: the rows of a whole register are never held as tuples at once


def columns(rows: Iterable[Sequence[object]],
            labels: Callable[[], Sequence[str | None]] | None = None) -> FactColumns:
    """Fact rows → numpy columns: text as object arrays (None kept), instants as ``datetime64[us]`` (NaT for
    NULL), counts and flags as int64. ``rows`` may be a cursor: it is read a chunk at a time. With ``labels`` (the
    reader of a store's names by code, None at 0), the :data:`CODED` columns of the rows are codes: read as
    integers, then each replaced by its text (one shared object per distinct text). The names are read after the
    last row: a store only ever adds names, so they then hold every code read, even where the rows were read
    outside one snapshot while another desk entered a new name."""
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in NAMES}
    shared: dict[str, dict[object, object]] = {name: {} for name in _SHARED}
    coded = frozenset(CODED) if labels is not None else frozenset()
    it = iter(rows)
    while block := list(itertools.islice(it, CHUNK)):
        for (name, kind), values in zip(FACT_COLUMNS, zip(*block, strict=True), strict=True):
            if name in coded:
                parts[name].append(np.array(values, dtype=np.int64))
            elif kind == "text":
                if name in shared:
                    keep = shared[name]
                    values = tuple(map(keep.setdefault, values, values))
                parts[name].append(np.array(values, dtype=object))
            else:  # a store fills NULL in SQL (``COALESCE``, see :data:`SELECTED`): no cell to look at here then
                if None in values:
                    fill = NULL_US if kind == "us" else 0
                    values = tuple([fill if v is None else v for v in values])
                parts[name].append(np.array(values, dtype=np.int64))
    out: FactColumns = {}
    texts = np.array([None, *labels()[1:]], dtype=object) if labels is not None else None
    for name, kind in FACT_COLUMNS:
        empty = np.empty(0, dtype=np.int64 if name in coded or kind != "text" else object)
        column = np.concatenate(parts[name]) if parts[name] else empty
        if name in coded and texts is not None:
            out[name] = texts[column]
        else:
            out[name] = column.view("datetime64[us]") if kind == "us" else column
    return out
