"""Schema version 7 (both backends): packed documents, transition rows of integers (``storage/lean.py``) and the
coded fact columns (``facts.CODED``) holding the code of their text in the new ``names`` table.

The step rewrites every document and copies every transition row into a new table of the compact shape; both
run inside the migration's one transaction, a page of rows at a time (a register of millions never sits in
memory whole). Interrupted — a crash, a SIGKILL — the transaction never commits: the file or database keeps
version 6 whole, and the next open runs the step again. Each row keeps its meaning exactly, so the hash chains
and the document digests of the trust audit hold across it.

SQLite does not give back the pages the old rows filled: ``VACUUM`` once afterwards returns them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from complaint_engine.facts import CODED
from complaint_engine.model import Status, Transition
from complaint_engine.storage.dbapi import Cursor, Params, Row, Value
from complaint_engine.storage.lean import DICTIONARY, DOCUMENT_FORMAT, codes_ddl, lean_row, pack_document
from complaint_engine.storage.schema import TRANSITION_COLUMNS, actor_of
from complaint_engine.storage.sql.statements import as_int
from complaint_engine.storage.sql.statements import as_str as as_text

__all__ = ["PAGE", "move_to_version_7", "recode_postgres", "recode_sqlite", "transitions_ddl", "version_7_ddl"]

PAGE = 5_000  # rows read and rewritten at a time


def transitions_ddl(table: str, integer: str, blob: str, table_options: str = "") -> str:
    """The transition table of version 7."""
    return (f"CREATE TABLE {table} (complaint_id TEXT NOT NULL, seq {integer} NOT NULL, event {integer} NOT NULL, "
            f"source {integer}, target {integer} NOT NULL, actor TEXT NOT NULL, role {integer} NOT NULL, "
            f"office TEXT, at_us {integer} NOT NULL, at_offset_s {integer} NOT NULL, note TEXT, "
            f"recorded_after_us {integer}, recorded_offset_s {integer}, hash {blob}, "
            f"PRIMARY KEY (complaint_id, seq)){table_options}")


def version_7_ddl(integer: str, blob: str, serial_key: str, table_options: str = "") -> list[str]:
    """The new tables of version 7: the compact transition table (filled, then renamed over the old one by
    :func:`move_to_version_7`), the codes, the names of the coded fact columns and the document format's
    dictionary."""
    return [transitions_ddl("transitions_v7", integer, blob, table_options), *codes_ddl(integer),
            f"CREATE TABLE names (code {serial_key}, name TEXT NOT NULL UNIQUE)",
            f"CREATE TABLE document_formats (format {integer} PRIMARY KEY, method TEXT NOT NULL, "
            f"dictionary {blob} NOT NULL)"]


def _enter_names(execute: Callable[[str, Params], Cursor]) -> None:
    """Every distinct text of the coded fact columns into ``names``, in code-point order."""
    union = " UNION ".join(f"SELECT {column} AS v FROM complaints" for column in CODED)
    execute(f"INSERT INTO names (name) SELECT v FROM ({union}) AS t WHERE v IS NOT NULL ORDER BY v", ())


def _code_of_text(column: str) -> str:
    return f"(SELECT code FROM names WHERE name = {column})"


def recode_sqlite(execute: Callable[[str, Params], Cursor]) -> None:
    """SQLite: the complaint table made again with integer coded fact columns (a column's declared type decides
    what it stores), its rows copied with their texts' codes, its indexes made again."""
    _enter_names(execute)
    columns = execute("PRAGMA table_info(complaints)", ()).fetchall()  # (cid, name, type, notnull, default, pk)
    indexes = [str(sql) for (sql,) in execute("SELECT sql FROM sqlite_schema WHERE type = 'index' AND "
                                                "tbl_name = 'complaints' AND sql IS NOT NULL", ()).fetchall()]
    names = [str(column[1]) for column in columns]
    defs = ", ".join(f"{as_text(name)} {'INTEGER' if name in CODED else as_text(kind)}"
                     f"{' NOT NULL' if notnull else ''}{' PRIMARY KEY' if pk else ''}"
                     for _cid, name, kind, notnull, _default, pk in columns)
    execute(f"CREATE TABLE complaints_v7 ({defs})", ())
    execute(f"INSERT INTO complaints_v7 ({', '.join(names)}) SELECT "
            f"{', '.join(_code_of_text(n) if n in CODED else n for n in names)} FROM complaints", ())
    for statement in ("DROP TABLE complaints", "ALTER TABLE complaints_v7 RENAME TO complaints", *indexes):
        execute(statement, ())


def recode_postgres(execute: Callable[[str, Params], Cursor]) -> None:
    """PostgreSQL: each coded fact column replaced by an integer one holding its text's code."""
    _enter_names(execute)
    for column in CODED:
        execute(f"ALTER TABLE complaints RENAME COLUMN {column} TO {column}_text", ())
        execute(f"ALTER TABLE complaints ADD COLUMN {column} BIGINT", ())
    sets = ", ".join(f"{column} = {_code_of_text(column + '_text')}" for column in CODED)
    execute(f"UPDATE complaints SET {sets}", ())
    for column in CODED:
        execute(f"ALTER TABLE complaints DROP COLUMN {column}_text", ())


def _legacy_instant(text: Value) -> dt.datetime:
    return dt.datetime.fromisoformat(as_text(text))


def compact_transition(row: Row) -> Row:
    """A transition row of versions 3 to 6 — (complaint_id, seq, event, source, target, actor, role, office, at,
    note, recorded_at, hash), text — in the compact shape of :data:`TRANSITION_COLUMNS`: read as the transition
    it records (an entry instant written as the same text is the same instant), then stored as any other."""
    cid, seq, event, source, target, actor, role, office, at_text, note, recorded_text, link = row
    at = _legacy_instant(at_text)
    recorded = None if recorded_text is None else at if recorded_text == at_text else _legacy_instant(recorded_text)
    t = Transition.record(as_text(event), None if source is None else Status(as_text(source)),
                          Status(as_text(target)), actor_of(as_text(actor), as_text(role), as_text(office)), at,
                          None if note is None else as_text(note), recorded)
    return lean_row(as_text(cid), as_int(seq), t, None if link is None else as_text(link))


def move_to_version_7(execute: Callable[[str, Params], Cursor], executemany: Callable[[str, list[Row]], object],
                      *, document_type: str | None = None) -> None:
    """The data step of version 7, after :func:`version_7_ddl`: the dictionary written (the codes are written by
    ``lean.sync_codes``, as at every open), every
    transition row copied into ``transitions_v7`` in the compact shape, every document packed. The caller
    then drops the old transition table, renames the new one and puts its append-only guard back.
    ``document_type``: a server's column type for packed documents, set before they are written."""
    executemany("INSERT INTO document_formats (format, method, dictionary) VALUES (?, ?, ?)",
                [(DOCUMENT_FORMAT, "raw deflate (zlib wbits -14) primed with this dictionary, after the format byte",
                  DICTIONARY)])
    old = ("complaint_id", "seq", "event", "source", "target", "actor", "role", "office", "at", "note", "recorded_at",
           "hash")
    insert = (f"INSERT INTO transitions_v7 ({', '.join(TRANSITION_COLUMNS)}) "
              f"VALUES ({', '.join('?' for _ in TRANSITION_COLUMNS)})")
    last: tuple[Value, Value] = ("", -1)
    while rows := execute(f"SELECT {', '.join(old)} FROM transitions WHERE complaint_id > ? OR "
                          f"(complaint_id = ? AND seq > ?) ORDER BY complaint_id, seq LIMIT {PAGE}",
                          (last[0], last[0], last[1])).fetchall():
        executemany(insert, [compact_transition(row) for row in rows])
        last = (rows[-1][0], rows[-1][1])
    if document_type is not None:
        execute(f"ALTER TABLE complaints ALTER COLUMN doc TYPE {document_type} USING convert_to(doc, 'UTF8')", ())
    key: Value = ""
    while docs := execute(f"SELECT id, doc FROM complaints WHERE id > ? ORDER BY id LIMIT {PAGE}", (key,)).fetchall():
        executemany("UPDATE complaints SET doc = ? WHERE id = ?",
                    [(pack_document(as_text(doc)), cid) for cid, doc in docs])
        key = docs[-1][0]
