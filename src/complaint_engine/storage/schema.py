"""The row shapes both SQL backends store, and the schema steps and version-3 data step they share.

Version 3 (both backends):

* the fact columns of the analysis (``complaint_engine.facts``) live in the complaint's own row — a
  desk verb writes one row, not a row and a facts row in a second B-tree;
* a complaint's document no longer repeats its history: the append-only ``transitions`` table is the one
  record of it, and gains the actor's ``office`` so a history can be rebuilt from it exactly;
* one index of live complaints replaces the status and due-instant indexes (:func:`version_3_ddl`).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from typing import cast

from complaint_engine.events import DomainEvent
from complaint_engine.facts import CLOCKS, CLOCKS_V3, CODED, FACT_COLUMNS, FACTS_V6, NAMES, FactValue, facts_of
from complaint_engine.instants import to_us
from complaint_engine.model import Actor, Announcement, CAPAReport, Complaint, Role, Status, Transition
from complaint_engine.rules.sla import ClockState
from complaint_engine.serialization import from_legacy_document, to_document
from complaint_engine.storage.dbapi import Cursor, Params, Row
from complaint_engine.storage.lean import hash_text, instant_of, lean_row, name_of, pack_document

__all__ = [
    "COMPLAINT_COLUMNS",
    "EVENT_COLUMNS",
    "FACT_EXTRA",
    "IMPORTED",
    "INDEXED",
    "INSERT_COMPLAINT",
    "INSERT_EVENT",
    "INSERT_TRANSITION",
    "LIVE",
    "STILL_OPEN",
    "TRANSITION_COLUMNS",
    "actor_of",
    "chain_head",
    "complaint_row",
    "document_digest",
    "event_of",
    "event_row",
    "facts_ddl",
    "link",
    "link_digest",
    "move_to_version_3",
    "move_to_version_6",
    "next_due_us",
    "transition_of",
    "transition_row",
    "transition_rows",
    "version_3_ddl",
    "version_4_ddl",
    "version_5_ddl",
    "version_6_ddl",
]

# The complaint row: the columns of version 1, then every fact column not already among them.
_OWN = ("id", "office", "status", "serial", "received_us", "next_due_us", "version", "doc")
FACT_EXTRA = tuple(n for n in NAMES if n not in _OWN)
# version 4 adds the facts of the acknowledge, start and update clocks (NULL for complaints stored before them)
FACT_EXTRA_V4 = tuple(n for n in FACT_EXTRA if n.split("_", 1)[0] in set(CLOCKS) - set(CLOCKS_V3))
FACT_EXTRA_V3 = tuple(n for n in FACT_EXTRA if n not in FACT_EXTRA_V4 and n not in FACTS_V6)
# version 6: columns a desk looks complaints up by that are no facts of the analysis (an owner's name is personal
# data: it stays out of the analysis columns)
LOOKUP = ("owner", "assignee")
COMPLAINT_COLUMNS = (*_OWN, *FACT_EXTRA, *LOOKUP)
INDEXED = ("status", "serial", "next_due_us")  # indexed columns a verb may change (office, received_us never do)
_extra_facts = operator.itemgetter(*(NAMES.index(n) for n in FACT_EXTRA))
_extra_facts_v3 = operator.itemgetter(*(NAMES.index(n) for n in FACT_EXTRA_V3))
_CODED_AT = tuple(i for i, n in enumerate(FACT_EXTRA) if n in CODED)
INSERT_COMPLAINT = (f"INSERT INTO complaints ({', '.join(COMPLAINT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in COMPLAINT_COLUMNS)})")

# version 7's transition row (storage/lean.py): codes, instants as UTC microseconds with their offsets, binary links
TRANSITION_COLUMNS = ("complaint_id", "seq", "event", "source", "target", "actor", "role", "office", "at_us",
                      "at_offset_s", "note", "recorded_after_us", "recorded_offset_s", "hash")
INSERT_TRANSITION = (f"INSERT INTO transitions ({', '.join(TRANSITION_COLUMNS)}) "
                     f"VALUES ({', '.join('?' for _ in TRANSITION_COLUMNS)})")
# the tables an import writes: their columns, and the statement inserting one row
IMPORTED = {"complaints": (COMPLAINT_COLUMNS, INSERT_COMPLAINT), "transitions": (TRANSITION_COLUMNS, INSERT_TRANSITION)}


def next_due_us(c: Complaint) -> int | None:
    """The earliest due instant among running clocks of an open complaint: what the overdue query looks at.
    (An ended complaint's clocks have stopped; one stored before they were stopped at close still shows a
    running clock in its document, and must not be swept for ever.)"""
    if c.status.ended:
        return None
    dues = [d.due for d in c.deadlines.values() if d.state is ClockState.RUNNING]
    return to_us(min(dues)) if dues else None


def complaint_row(c: Complaint, codes: Callable[[Sequence[FactValue]], Sequence[int | None]],
                  doc: str | None = None) -> Row:
    """The complaint's row in :data:`COMPLAINT_COLUMNS` order: query columns, version, packed document (of
    ``doc``, its JSON text when the caller has it already), facts — the :data:`~complaint_engine.facts.CODED`
    ones as the store's ``codes`` of their texts."""
    extra: list[FactValue] = list(_extra_facts(facts_of(c)))
    for i, code in zip(_CODED_AT, codes([extra[i] for i in _CODED_AT]), strict=True):
        extra[i] = code
    return (c.id, c.office, c.status.value, c.serial, to_us(c.received_at), next_due_us(c), c.version,
            pack_document(to_document(c) if doc is None else doc), *extra, c.owner,
            c.notice.assignee if c.notice else None)


def transition_rows(c: Complaint, start: int, doc: str | None = None) -> list[Row]:
    """Stored rows of the transitions from ``start`` on, in :data:`TRANSITION_COLUMNS` order; ``doc``: the JSON
    text of the document this save writes, whose digest the save's link covers."""
    # the link covers the rows' text form (transition_row), whatever form they are stored in
    rows = [transition_row(c.id, i, t) for i, t in enumerate(c.history[start:], start)]
    if not rows:
        return rows
    # the rows of one save are one link of the chain, carried by the save's last row: one hash a save (an import
    # writes a complaint's whole history with one)
    head = link(chain_head(c, start), rows, None if doc is None else document_digest(doc))
    _remember(c.history[-1], head)
    last = len(c.history) - 1
    return [lean_row(c.id, i, t, head if i == last else None) for i, t in enumerate(c.history[start:], start)]


def transition_row(complaint_id: str, i: int, t: Transition) -> Row:
    """A transition's text form, which the hash chain covers (the columns of schema versions 1 to 6, without
    the link): (complaint_id, seq, event, source, target, actor, role, office, at, note, recorded_at)."""
    at = t.at.isoformat()
    # entered when it took effect (the usual case): the desk passes the one object, written once
    recorded = at if t.recorded_at is t.at else None if t.recorded_at is None else t.recorded_at.isoformat()
    return (complaint_id, i, t.event, None if t.source is None else t.source._value_, t.target._value_, t.actor.id,
            t.actor.role._value_, t.actor.office, at, t.note, recorded)


def link(prev: str, rows: list[Row], digest: str | None = None) -> str:
    """The link of a save's transition rows in their complaint's hash chain: SHA-256 of the link before them,
    the rows' text (their repr: texts quoted and escaped, numbers and NULLs spelled out) and — since the chain
    covers documents — the digest of the document the save wrote, kept after the hash as ``hash:digest``. A row
    changed, removed or moved breaks the link that covers it and every link after it, and a document changed
    after its last save no longer has the digest its last link carries (the audit recomputes both)."""
    if digest is None:  # a link of the first chains, over the rows alone
        return hashlib.sha256(f"{prev}{rows!r}".encode()).hexdigest()
    return hashlib.sha256(f"{prev}{rows!r}{digest}".encode()).hexdigest() + ":" + digest


def document_digest(doc: str) -> str:
    """The SHA-256 of a stored document's text."""
    return hashlib.sha256(doc.encode()).hexdigest()


def link_digest(stored: str) -> str | None:
    """The document digest a stored link carries (None for links over rows alone)."""
    return stored.partition(":")[2] or None


_CHAINS: dict[int, tuple[Transition, str]] = {}  # a save's last transition object → the chain's link there


def _remember(t: Transition, head: str) -> None:
    if len(_CHAINS) > 100_000:
        _CHAINS.clear()
    _CHAINS[id(t)] = (t, head)


def chain_head(c: Complaint, upto: int) -> str:
    """The chain's link after transition ``upto - 1`` ("" before the first): the stored one where the history was
    read back, the one this process wrote, or — for rows stored before the chain existed — the link of all of
    them, as the audit counts them."""
    prev, start = "", 0
    for i in range(upto - 1, -1, -1):  # the nearest link known
        t = c.history[i]
        known = t.hash if t.hash is not None else _known_link(t)
        if known is not None:
            prev, start = known, i + 1
            break
    if start == upto:
        return prev
    # rows after the last link (rows stored before the chain existed): one link over them, as the audit counts
    return link(prev, [transition_row(c.id, i, c.history[i]) for i in range(start, upto)])


def _known_link(t: Transition) -> str | None:
    hit = _CHAINS.get(id(t))
    return hit[1] if hit is not None and hit[0] is t else None


_ACTORS: dict[tuple[str, str, str], Actor] = {}


def actor_of(actor: str, role: str, office: str) -> Actor:
    """The actor of a stored row, one object per (id, role, office): a desk has few actors, and each row of a long
    history or outbox repeats one of them."""
    key = (actor, role, office)
    who = _ACTORS.get(key)
    if who is None:
        if len(_ACTORS) > 10_000:
            _ACTORS.clear()
        who = _ACTORS[key] = Actor(actor, Role(role), office)
    return who


def transition_of(row: Row) -> Transition:
    """A transition back from its stored row: the columns of :data:`TRANSITION_COLUMNS` after ``complaint_id``
    and ``seq``."""
    event, source, target, actor, role, office, at_us, at_offset, note, after, recorded_offset, chained = row
    who = actor_of(cast(str, actor), name_of("role", role), cast(str, office))
    at = instant_of(at_us, at_offset)
    if after is None:
        recorded = None
    elif after == 0 and recorded_offset is None:
        recorded = at
    else:
        recorded = instant_of(cast(int, at_us) + cast(int, after),
                              at_offset if recorded_offset is None else recorded_offset)
    return Transition.record(name_of("event", event), None if source is None else _STATUSES[name_of("status", source)],
                             _STATUSES[name_of("status", target)], who, at, cast("str | None", note), recorded,
                             hash_text(chained))


_STATUSES = {s.value: s for s in Status}


# The condition of the index of live complaints: open ones, and any with a clock still running. Queries it
# serves repeat this exact text, which is how SQLite (and PostgreSQL) see that the partial index applies.
LIVE = "(status <> 'closed' OR next_due_us IS NOT NULL)"
# Open complaints only: rows written before clocks stopped at close may be closed with a due instant.
STILL_OPEN = "status NOT IN ('closed', 'referred')"


def facts_ddl(integer: str, table_options: str = "") -> list[str]:
    """Version 2's facts table (version 3 moves its columns into the complaint row and drops it)."""
    cols = ", ".join(f"{n} {'TEXT' if kind == 'text' else integer}" + (" PRIMARY KEY" if n == "id" else "")
                     for n, kind in FACT_COLUMNS)
    return [f"CREATE TABLE complaint_facts ({cols}){table_options}",
            "CREATE INDEX complaint_facts_office_received ON complaint_facts (office, received_us)"]


def version_3_ddl(integer: str) -> list[str]:
    """The schema statements of version 3: the fact columns of the complaint row, the actor's office on
    transition rows, and one small index of live complaints in place of the status and due-instant indexes.

    Closed complaints are nearly the whole register; live ones are few, so their index is small and a scan
    of it (or of one office's part of it) is cheap, for a worklist by status as for the overdue sweep. Keyed
    by (office, received_us), a verb changing status and due instant rewrites one entry in place — one page
    — where an index keyed by status or by due instant moves entries between pages on every verb."""
    kinds = dict(FACT_COLUMNS)
    return [*(f"ALTER TABLE complaints ADD COLUMN {n} {'TEXT' if kinds[n] == 'text' else integer}"
              for n in FACT_EXTRA_V3),
            "ALTER TABLE transitions ADD COLUMN office TEXT",
            "DROP INDEX complaints_office_status",
            "DROP INDEX complaints_next_due",
            f"CREATE INDEX complaints_live ON complaints (office, received_us, status, next_due_us) WHERE {LIVE}"]


def version_4_ddl(integer: str) -> list[str]:
    """Version 4: the fact columns of the acknowledge, start and update clocks (no complaint stored before has
    one, so they stay NULL: nothing to rewrite)."""
    kinds = dict(FACT_COLUMNS)
    return [f"ALTER TABLE complaints ADD COLUMN {n} {'TEXT' if kinds[n] == 'text' else integer}"
            for n in FACT_EXTRA_V4]


EVENT_COLUMNS = ("kind", "office", "complaint_id", "number", "serial", "at", "actor", "role", "actor_office", "data")


INSERT_EVENT = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})")


def event_row(e: DomainEvent) -> Row:
    """An event's row in :data:`EVENT_COLUMNS` order (its data as JSON)."""
    who = e.actor
    return (e.kind, e.office, e.complaint_id, e.number, e.serial, e.at.isoformat(),
            None if who is None else who.id, None if who is None else who.role._value_,
            None if who is None else who.office, json.dumps(dict(e.data), ensure_ascii=False, separators=(",", ":")))


def event_of(row: Row) -> DomainEvent:
    """An event back from its row: (position, then :data:`EVENT_COLUMNS`); its data is parsed when first read."""
    actor = row[7]
    who = None
    if actor is not None:
        who = actor_of(cast(str, actor), cast(str, row[8]), cast(str, row[9]))
    return DomainEvent.stored(cast("tuple[int, str, str, str | None, str | None, str | None, str, object, object, "
                                   "object, str]", row), who)


def version_6_ddl(integer: str) -> list[str]:
    """Version 6: the location and measure-count facts (a complaint stored before has neither: NULL, which the
    analysis reads as the unit's building and no measure), and the owner and assignee a desk looks complaints
    up by (filled from the documents by :func:`move_to_version_6`), each transition's ``recorded_at`` (NULL for
    the rows before), with an index for each lookup by unit and by
    owner (the others ride on the office's index of receipt), ordered as results are. Each is partial (``WHERE
    unit IS NOT NULL``): only a query naming the unit (or the owner) implies it, so no planner ever takes it for a
    query of the office alone in place of the live index or the office's index of receipt."""
    return ["ALTER TABLE complaints ADD COLUMN location TEXT", f"ALTER TABLE complaints ADD COLUMN measures {integer}",
            "ALTER TABLE complaints ADD COLUMN owner TEXT", "ALTER TABLE complaints ADD COLUMN assignee TEXT",
            "ALTER TABLE transitions ADD COLUMN recorded_at TEXT", "ALTER TABLE transitions ADD COLUMN hash TEXT",
            "CREATE INDEX complaints_unit ON complaints (unit, office, received_us) WHERE unit IS NOT NULL",
            "CREATE INDEX complaints_owner ON complaints (owner, office, received_us) WHERE owner IS NOT NULL"]


def move_to_version_6(execute: Callable[[str, Params], Cursor],
                      executemany: Callable[[str, list[Row]], object]) -> None:
    """The data step of version 6, after the columns exist: each complaint row's owner and assignee from its
    document (read as JSON: nothing else of it changes)."""
    rows: list[Row] = []
    for key, doc in execute("SELECT id, doc FROM complaints", ()).fetchall():
        try:
            data = json.loads(str(doc))
        except ValueError:  # a damaged document stays as it is: the audit reports it
            continue
        notice = data.get("notice") if isinstance(data, dict) else None
        rows.append((data.get("owner") if isinstance(data, dict) else None,
                     notice.get("assignee") if isinstance(notice, dict) else None, key))
    executemany("UPDATE complaints SET owner = ?, assignee = ? WHERE id = ?", rows)


def version_5_ddl(integer: str, serial_key: str) -> list[str]:
    """Version 5: the outbox (``events``, positions from the key, gap-free in commit order on each backend) and
    the subscriptions' acknowledged positions."""
    cols = ", ".join(f"{n} TEXT" + (" NOT NULL" if n in ("kind", "office", "at") else "") for n in EVENT_COLUMNS)
    # one B-tree written per event: no secondary index (a consumer reads every event after its position; a
    # reader of one office filters them as they come)
    return [f"CREATE TABLE events (position {serial_key}, {cols})",
            f"CREATE TABLE subscriptions (name TEXT PRIMARY KEY, position {integer} NOT NULL)"]


def move_to_version_3(execute: Callable[[str, Params], Cursor],
                      executemany: Callable[[str, list[Row]], object]) -> None:
    """The data step of version 3, after the columns exist: rewrite every document without its history,
    fill each complaint row's facts and each transition row's ``office`` from the version-1 documents.
    The caller has paused the transition table's append-only trigger (inside the same transaction)."""
    sets = ", ".join(f"{n} = ?" for n in ("doc", *FACT_EXTRA_V3))
    rows: list[Row] = []
    offices: list[Row] = []
    for key, doc in execute("SELECT id, doc FROM complaints", ()).fetchall():
        c = from_legacy_document(str(doc), Complaint, key=str(key))
        rows.append((to_document(c), *_extra_facts_v3(facts_of(c)), key))
        offices.extend((t.actor.office, key, i) for i, t in enumerate(c.history))
    executemany(f"UPDATE complaints SET {sets} WHERE id = ?", rows)
    executemany("UPDATE transitions SET office = ? WHERE complaint_id = ? AND seq = ?", offices)
    capas = execute("SELECT number, doc FROM capas", ()).fetchall()
    executemany("UPDATE capas SET doc = ? WHERE number = ?",
                [(to_document(from_legacy_document(str(doc), CAPAReport, key=str(key))), key)
                 for key, doc in capas])
    notices = execute("SELECT number, doc FROM announcements", ()).fetchall()
    executemany("UPDATE announcements SET doc = ? WHERE number = ?",
                [(to_document(from_legacy_document(str(doc), Announcement, key=str(key))), key)
                 for key, doc in notices])
