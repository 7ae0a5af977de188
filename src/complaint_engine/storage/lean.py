"""Schema version 7's compact records: packed documents and transition rows of integers.

* **Documents** are stored packed: one format byte, then the document's UTF-8 JSON compressed with raw
  deflate (``zlib``) primed with a fixed dictionary (``documents.zdict``: the keys, codes and rule texts of
  typical documents, free texts and instants blanked). A 1.4 KB document of the main path packs to about
  200 bytes, at about 10 µs; it unpacks in about 2 µs. The dictionary of a format never changes (a test pins
  its digest); each store also keeps it in its ``document_formats`` table, so any tool can unpack a document
  with ``zlib`` alone. A document stored as text (a file migrated in part by hand, a correction made out of
  band) is read as it is.
* **Transition rows** hold the event, source, target and role as small integer codes (the ``codes`` table of
  each store spells them out), the instant as UTC microseconds with its UTC offset in seconds, the instant of
  entry as microseconds after it (0: the same instant, which SQLite stores in no bytes at all) and the hash
  link as binary (32 bytes, 64 with the document digest) instead of hex.

Reading a row back gives the very ``Transition`` that was written — same instants, same offsets — so the hash
chain, computed over a transition's text form (``schema.transition_row``), is the same before and after.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable
from importlib import resources
from typing import cast

from complaint_engine.errors import StorageError, ValidationError
from complaint_engine.instants import EPOCH, US
from complaint_engine.messages import Message
from complaint_engine.model import Transition
from complaint_engine.storage.dbapi import Cursor, Params, Row, Value

__all__ = [
    "CODES",
    "DOCUMENT_FORMAT",
    "EVENT_CODES",
    "ROLE_CODES",
    "STATUS_CODES",
    "code_of",
    "codes_ddl",
    "document_text",
    "hash_bytes",
    "hash_text",
    "instant_of",
    "lean_row",
    "name_of",
    "offset_of",
    "pack_document",
    "sync_codes",
]

DOCUMENT_FORMAT = 1  # the first byte of a packed document: deflate primed with dictionary 1
DICTIONARY = resources.files("complaint_engine.storage").joinpath("documents.zdict").read_bytes()
_WBITS = -14  # raw deflate (no header, no checksum: the hash chain covers the text), a 16 KiB window
_FORMAT_BYTE = bytes([DOCUMENT_FORMAT])


def pack_document(doc: str) -> bytes:
    """The stored form of a document's JSON text."""
    packer = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    return _FORMAT_BYTE + packer.compress(doc.encode()) + packer.flush()


def document_text(stored: Value, key: str = "?") -> str:
    """The JSON text of a stored document: unpacked, or as stored when it was stored as text."""
    if isinstance(stored, str):
        return stored
    if isinstance(stored, (bytes, bytearray, memoryview)):
        data = bytes(stored)
        if data[:1] != _FORMAT_BYTE:
            return data.decode("utf-8", errors="replace")  # text stored as bytes: its parse says what is wrong
        unpacker = zlib.decompressobj(_WBITS, DICTIONARY)
        try:
            text = unpacker.decompress(data[1:]) + unpacker.flush()
            if unpacker.eof and not unpacker.unused_data:
                return text.decode("utf-8")
        except (zlib.error, UnicodeDecodeError):
            pass
        raise ValidationError.of(Message("stored {0} {1!r}", "Complaint", key), Message("{0} bytes", len(data)),
                                 Message("a document packed in format {0}", DOCUMENT_FORMAT))
    raise StorageError(Message("the database returned {value!r} where text is stored", value=stored))


# The codes of the transition rows. Each tuple only ever grows at its end: a code is its name's position + 1,
# and a stored code must keep its meaning (the ``codes`` table of every store spells them out, checked at open).
EVENT_CODES = (
    "receive", "refer", "register", "dispatch", "escalate", "decide", "start", "record_arrival", "pause", "resume",
    "defer", "resolve", "reply", "record_callback", "reopen", "close", "flag", "link_capa", "announce",
    "record_breach", "inform", "record_action_overdue", "transfer", "add_evidence", "investigate", "record_measure",
    "complete_capa_action", "merge", "link_duplicate", "close_year", "erase", "open_capa", "plan_capa",
    "implement_capa", "verify_capa", "close_capa",
)
STATUS_CODES = ("received", "referred", "registered", "dispatched", "escalated", "in_progress", "deferred",
                "resolved", "replied", "called_back", "closed", "merged")
ROLE_CODES = ("reception", "department_manager", "supervisor", "general_manager", "technician", "callback_officer",
              "system")
CODES = {"event": EVENT_CODES, "status": STATUS_CODES, "role": ROLE_CODES}
_CODE_OF = {kind: {name: i for i, name in enumerate(names, 1)} for kind, names in CODES.items()}


def code_of(kind: str, name: str) -> int:
    """The stored code of an event, status or role name."""
    try:
        return _CODE_OF[kind][name]
    except KeyError:
        raise ValidationError.of(kind, name, Message("one of {0}", list(CODES[kind]))) from None


def name_of(kind: str, code: Value) -> str:
    """The name a stored code stands for."""
    names = CODES[kind]
    if isinstance(code, int) and 0 < code <= len(names):
        return names[code - 1]
    raise StorageError(Message("the database returned {value!r} where a {kind} code 1..{n} is stored",
                               value=code, kind=kind, n=len(names)))


def codes_ddl(integer: str) -> list[str]:
    """The dictionary of the codes, for readers of the tables (the library reads its own tuples)."""
    return [f"CREATE TABLE codes (kind TEXT NOT NULL, code {integer} NOT NULL, name TEXT NOT NULL, "
            "PRIMARY KEY (kind, code))"]


def sync_codes(execute: Callable[[str, Params], Cursor]) -> None:
    """Write the codes this library knows into the store's ``codes`` table (new ones appended), and refuse a
    store whose table gives a code another meaning (written by a library whose tuples were reordered)."""
    stored = {(str(kind), int(cast(int, code))): str(name)
              for kind, code, name in execute("SELECT kind, code, name FROM codes", ()).fetchall()}
    for kind, names in CODES.items():
        for code, name in enumerate(names, 1):
            found = stored.get((kind, code))
            if found is None:
                execute("INSERT INTO codes (kind, code, name) VALUES (?, ?, ?)", (kind, code, name))
            elif found != name:
                raise StorageError(Message("the store's {kind} code {code} means {found!r}; this library reads it as "
                                           "{name!r}", kind=kind, code=code, found=found, name=name))


# ------------------------------------------------------------------------------------------- instants
_EPOCHS: dict[int, dt.datetime] = {}  # the epoch read in each offset: epoch + microseconds keeps the offset


def offset_of(instant: dt.datetime) -> int:
    """The instant's UTC offset in seconds."""
    offset = instant.utcoffset()
    if offset is None:
        raise ValidationError.of("instant", instant.isoformat(), "an aware instant")
    return offset.days * 86_400 + offset.seconds


def instant_of(us: Value, offset_s: Value) -> dt.datetime:
    """The instant of UTC microseconds, read in its stored UTC offset (what ``isoformat`` shows is unchanged)."""
    if not isinstance(us, int) or not isinstance(offset_s, int):
        raise StorageError(Message("the database returned {value!r} where an instant is stored",
                                   value=(us, offset_s)))
    epoch = _EPOCHS.get(offset_s)
    if epoch is None:
        zone = dt.UTC if offset_s == 0 else dt.timezone(dt.timedelta(seconds=offset_s))
        epoch = _EPOCHS[offset_s] = EPOCH.astimezone(zone)
    return epoch + us * US


# ------------------------------------------------------------------------------------------- hash links
def hash_bytes(link: str | None) -> bytes | None:
    """A stored hash link (hex, or ``hash:digest``) as 32 or 64 bytes."""
    if link is None:
        return None
    head, _, digest = link.partition(":")
    return bytes.fromhex(head + digest)


def hash_text(stored: Value) -> str | None:
    """The hash link of its stored bytes (text stored by hand is read as it is: the audit checks it)."""
    if stored is None or isinstance(stored, str):
        return stored
    if isinstance(stored, (bytes, bytearray, memoryview)):
        data = bytes(stored)
        return data[:32].hex() + (":" + data[32:].hex() if len(data) > 32 else "")
    raise StorageError(Message("the database returned {value!r} where a hash is stored", value=stored))


def lean_row(complaint_id: str, i: int, t: Transition, link: str | None) -> Row:
    """A transition's stored row in :data:`schema.TRANSITION_COLUMNS` order."""
    at = t.at
    offset = offset_of(at)
    recorded = t.recorded_at
    if recorded is None:
        after = recorded_offset = None
    elif recorded is at:
        after, recorded_offset = 0, None
    else:
        after = (recorded - at) // US
        recorded_offset = offset_of(recorded)
        if recorded_offset == offset:
            recorded_offset = None
    source = None if t.source is None else code_of("status", t.source._value_)
    return (complaint_id, i, code_of("event", t.event), source, code_of("status", t.target._value_),
            t.actor.id, code_of("role", t.actor.role._value_), t.actor.office, (at - EPOCH) // US, offset, t.note,
            after, recorded_offset, hash_bytes(link))
