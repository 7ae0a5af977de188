"""Schema version 7's compact records (storage/lean.py): every transition and document reads back as written —
same instants in the same offsets, same text form, same hash link — whatever it holds."""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import nasty_text

import complaint_engine as ce
from complaint_engine.model import Event, Role, Status, Transition
from complaint_engine.storage.lean import (
    CODES,
    DICTIONARY,
    DOCUMENT_FORMAT,
    EVENT_CODES,
    ROLE_CODES,
    STATUS_CODES,
    document_text,
    lean_row,
    pack_document,
)
from complaint_engine.storage.schema import transition_of, transition_row

offsets = st.integers(-14 * 3600, 14 * 3600).map(lambda s: dt.timezone(dt.timedelta(seconds=s)))
instants = st.builds(lambda d, tz: d.replace(tzinfo=tz), st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2090, 1, 1)),
                     st.one_of(st.just(dt.UTC), offsets))
links = st.one_of(st.none(), st.binary(min_size=32, max_size=32).map(bytes.hex),
                  st.tuples(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32))
                  .map(lambda p: f"{p[0].hex()}:{p[1].hex()}"))


@st.composite
def transitions(draw: st.DrawFn) -> tuple[Transition, str | None]:
    at = draw(instants)
    recorded = draw(st.one_of(st.none(), st.just(at), instants))
    storable = st.text(st.characters(blacklist_characters="\x00"), min_size=1, max_size=12)
    actor = ce.Actor(draw(storable), draw(st.sampled_from(list(Role))), draw(storable))
    source = draw(st.one_of(st.none(), st.sampled_from(list(Status))))
    t = Transition.record(draw(st.sampled_from(list(Event))).value, source, draw(st.sampled_from(list(Status))),
                          actor, at, draw(st.one_of(st.none(), nasty_text)), recorded)
    return t, draw(links)


@given(transitions())
def test_a_transition_reads_back_exactly_from_its_compact_row(drawn: tuple[Transition, str | None]) -> None:
    t, link = drawn
    row = lean_row("c1", 3, t, link)
    back = transition_of(row[2:])
    assert back == t
    # the text form the hash chain covers is the very same: offsets, microseconds, the instant of entry
    assert transition_row("c1", 3, back) == transition_row("c1", 3, t)
    assert back.hash == link
    if t.recorded_at is t.at:  # entered when it took effect: stored in no bytes, read back as one object again
        assert back.recorded_at is back.at
        assert row[11:13] == (0, None)
    if link is not None:
        assert len(row[-1]) == len(link.replace(":", "")) // 2  # binary: half the hex


@given(st.text())
def test_a_document_reads_back_from_its_packed_form(text: str) -> None:
    packed = pack_document(text)
    assert packed[0] == DOCUMENT_FORMAT
    assert document_text(packed) == text
    # any tool unpacks it with zlib alone and the dictionary each store keeps
    unpacker = zlib.decompressobj(-14, DICTIONARY)
    assert (unpacker.decompress(packed[1:]) + unpacker.flush()).decode() == text


def test_a_document_stored_as_text_is_read_as_it_is_and_a_cut_packed_one_is_refused() -> None:
    assert document_text('{"a": 1}') == '{"a": 1}'
    assert document_text(b'{"a": 1}') == '{"a": 1}'
    packed = pack_document('{"id": "x", "summary": "' + "漏水" * 100 + '"}')
    with pytest.raises(ce.ValidationError, match=f"{len(packed) - 9} bytes.*packed in format 1"):
        document_text(packed[:-9], "x")


def test_the_codes_and_the_dictionary_never_change_meaning() -> None:
    """Stored codes and packed documents keep their meaning only while these tuples grow at their ends and the
    dictionary stays byte for byte what it was: a change here must be a new format, never an edit."""
    assert hashlib.sha256(DICTIONARY).hexdigest() == "51263394b967be9a8e4eac02cf263ed5c16d34e2f3d4879565c1d265b4890f94"
    assert set(EVENT_CODES) == {e.value for e in Event}
    assert set(STATUS_CODES) == {s.value for s in Status}
    assert set(ROLE_CODES) == {r.value for r in Role}
    assert all(len(set(names)) == len(names) for names in CODES.values())


def test_a_store_whose_codes_mean_otherwise_is_refused(tmp_path: Path) -> None:
    import sqlite3

    from complaint_engine.storage import SQLiteRepository

    path = tmp_path / "codes.sqlite"
    SQLiteRepository(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE codes SET name = 'closed' WHERE kind = 'status' AND code = 1")  # as a reordered tuple would
    conn.commit()
    conn.close()
    with pytest.raises(ce.StorageError, match="status code 1 means 'closed'; this library reads it as 'received'"):
        SQLiteRepository(path)


def test_the_documented_sql_reads_a_history_with_its_codes_and_instants(tmp_path: Path) -> None:
    """docs/storage.md shows how to read a history in SQL: run it as written."""
    import sqlite3

    from tests.conftest import MONDAY, RECEPTION

    from complaint_engine.storage import SQLiteRepository

    docs = (Path(__file__).resolve().parents[2] / "docs" / "storage.md").read_text(encoding="utf-8")
    sql = docs.split("```sql\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "r.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    conn = sqlite3.connect(path)
    rows = conn.execute(sql, (c.id,)).fetchall()
    conn.close()
    assert rows == [(0, "receive", "received", RECEPTION.id, MONDAY.strftime("%Y-%m-%dT%H:%M:%S"), 8.0, None),
                    (1, "register", "registered", RECEPTION.id, MONDAY.strftime("%Y-%m-%dT%H:%M:%S"), 8.0, None)]
