"""Backends for the contract suite: memory, SQLite, and PostgreSQL when COMPLAINT_ENGINE_PG_DSN is set."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.conftest import MANAGER, MONDAY, RECEPTION

import complaint_engine as ce
from complaint_engine.facts import facts_of
from complaint_engine.instants import to_us
from complaint_engine.model import replace
from complaint_engine.serialization import to_dict
from complaint_engine.storage import InMemoryRepository, SQLiteRepository
from complaint_engine.storage.schema import next_due_us, transition_row

PG_DSN = os.environ.get("COMPLAINT_ENGINE_PG_DSN")
# "postgres-begin-alone": PostgreSQL as with a libpq before 14 (no pipelines), where a unit sends BEGIN alone
BACKENDS = ["memory", "sqlite", *(["postgres", "postgres-begin-alone"] if PG_DSN else [])]


def make_repository(kind: str, tmp_path: Path) -> object:
    if kind == "memory":
        return InMemoryRepository()
    if kind == "sqlite":
        return SQLiteRepository(tmp_path / f"store-{len(list(tmp_path.iterdir()))}.sqlite")
    from complaint_engine.storage.postgres import PostgresRepository

    assert PG_DSN is not None
    repo = PostgresRepository(PG_DSN)
    repo.drop_all_data_for_tests()
    if kind == "postgres-begin-alone":
        repo.begins_with_first_statement = False
    return repo


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    r = make_repository(request.param, tmp_path)
    yield r
    r.close()  # type: ignore[attr-defined]


@pytest.fixture
def repo_pg(tmp_path: Path) -> Iterator[object]:
    r = make_repository("postgres", tmp_path)
    yield r
    r.close()  # type: ignore[attr-defined]


@attrs.frozen
class LegacyData:
    complaints: list[ce.Complaint]
    complaint_rows: list[tuple[Any, ...]]
    transition_rows: list[tuple[Any, ...]]
    capa_rows: list[tuple[Any, ...]]
    fact_rows: list[tuple[Any, ...]]


def legacy_data() -> LegacyData:
    """Rows as versions 1 and 2 of the schema stored them: documents of document schema 1 repeating their
    history, transition rows without the actor's office, and (version 2) the separate facts rows."""
    desk = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY))
    other = ce.Actor("hq-duty", ce.Role.RECEPTION, "HQ")  # an actor of another office: the office must survive
    a = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    desk.dispatch(a.id, by=RECEPTION)
    b = desk.receive(by=other, owner="p", unit="v", channel="phone", category="fees", summary="t")
    capa = desk.open_capa(by=MANAGER, complaint_ids=[a.id], problem="recurring noise")
    # written before transitions kept when they were entered: no recorded_at
    stored = [replace(c, {"history": tuple(attrs.evolve(t, recorded_at=None) for t in c.history)})
              for c in (desk.get(a.id), b)]
    return LegacyData(
        complaints=stored,
        complaint_rows=[(c.id, c.office, c.status.value, c.serial, to_us(c.received_at), next_due_us(c), c.version,
                         json.dumps({**to_dict(c), "schema_version": 1}, ensure_ascii=False)) for c in stored],
        transition_rows=[row[:7] + row[8:10] for c in stored
                         for row in (transition_row(c.id, i, t) for i, t in enumerate(c.history))],
        capa_rows=[(capa.number, capa.office, capa.version, json.dumps({**to_dict(capa), "schema_version": 1}))],
        fact_rows=[facts_of(c) for c in stored])


def as_version_6(path: Path) -> None:
    """Turn a SQLite register of the current schema back into version 6 as the library wrote it: documents as
    JSON text, transition rows as text (instants in ISO form, links in hex) — the file a first- or
    second-series desk left, for the migration tests."""
    import sqlite3

    from complaint_engine.facts import CODED
    from complaint_engine.storage import SQLiteRepository
    from complaint_engine.storage.lean import document_text
    from complaint_engine.storage.sqlite import NO_DELETE_TRIGGER, NO_UPDATE_TRIGGER

    repo = SQLiteRepository(path)
    docs = [(document_text(doc), cid) for cid, doc in repo._conn.execute("SELECT id, doc FROM complaints")]
    rows = [(cid, *r) for _doc, cid in docs for r in repo.history(cid)]
    repo.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for statement in ("DROP TABLE transitions", "DROP TABLE codes", "DROP TABLE document_formats",
                      "CREATE TABLE transitions (complaint_id TEXT NOT NULL, seq INTEGER NOT NULL, "
                      "event TEXT NOT NULL, source TEXT, target TEXT NOT NULL, actor TEXT NOT NULL, "
                      "role TEXT NOT NULL, at TEXT NOT NULL, note TEXT, office TEXT, recorded_at TEXT, hash TEXT, "
                      "PRIMARY KEY (complaint_id, seq)) WITHOUT ROWID",
                      NO_UPDATE_TRIGGER, NO_DELETE_TRIGGER):
        conn.execute(statement)
    conn.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # the coded fact columns as text again: the table made again with TEXT columns (their declared type decides)
    columns = conn.execute("PRAGMA table_info(complaints)").fetchall()
    indexes = [sql for (sql,) in conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND "
                                               "tbl_name = 'complaints' AND sql IS NOT NULL")]
    defs = ", ".join(f"{name} {'TEXT' if name in CODED else kind}{' NOT NULL' if notnull else ''}"
                     f"{' PRIMARY KEY' if pk else ''}" for _cid, name, kind, notnull, _default, pk in columns)
    conn.execute(f"CREATE TABLE complaints_v6 ({defs})")
    names = [c[1] for c in columns]
    conn.execute(f"INSERT INTO complaints_v6 ({', '.join(names)}) SELECT "
                 + ", ".join(f"(SELECT name FROM names WHERE code = {n})" if n in CODED else n for n in names)
                 + " FROM complaints")
    for statement in ("DROP TABLE complaints", "ALTER TABLE complaints_v6 RENAME TO complaints", *indexes,
                      "DROP TABLE names"):
        conn.execute(statement)
    conn.executemany("UPDATE complaints SET doc = ? WHERE id = ?", docs)
    conn.execute("PRAGMA user_version = 6")
    conn.execute("COMMIT")
    conn.close()
