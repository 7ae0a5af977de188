"""Several desks on one store: N processes, each running whole procedures (receive → register → dispatch →
start → resolve → reply → callback → close) for T seconds, against N processes of raw single-row write
transactions on the same kind of store — each process's count printed, so a starved one shows.

Run: python benchmarks/desks.py [--processes 1 2 4] [--seconds 10] [--dsn DSN]   (SQLite in a temp folder
without --dsn)

  desks   verbs/s in total and per process; the smallest process's share of the mean (target >= 50 %, #21)
  raw     BEGIN IMMEDIATE; UPDATE one row; COMMIT (SQLite) or one UPDATE in its own transaction (PostgreSQL),
          same synchronous level: transactions/s at the same N                  target: desks >= 50 % of raw
  floor   the same verbs done the cheapest way a store could: the engine on an in-memory desk, the rows each
          save writes built, and the packed document written by the raw statement (no read, one round trip)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import complaint_engine as ce

sys.path.insert(0, str(Path(__file__).parent))
from storage import PATH, REC  # the main path of benchmarks/storage.py


def _repository(db: str, dsn: str | None) -> Any:
    if dsn:
        from complaint_engine.storage.postgres import PostgresRepository

        return PostgresRepository(dsn)
    from complaint_engine.storage import SQLiteRepository

    return SQLiteRepository(db)


def _desk_worker(db: str, dsn: str | None, start: float, stop: float, out: Any) -> None:
    desk = ce.ComplaintDesk(repository=_repository(db, dsn))
    verbs = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        c = desk.receive(by=REC, owner="陳先生", unit="3-1201", channel="phone", category="noise", summary="噪音")
        for verb, by, params in PATH:
            getattr(desk, verb)(c.id, by=by, **params)
        verbs += 1 + len(PATH)
    out.put(verbs)


def _floor_worker(db: str, dsn: str | None, start: float, stop: float, out: Any) -> None:
    """The same verbs done the cheapest way a store could: the engine on an in-memory desk, the rows a save writes
    built (document, its packed row with the facts, the transition row and its link), and the document written
    by one raw single-row statement — no read, one round trip, as the raw anchor."""
    from complaint_engine.serialization import to_document
    from complaint_engine.storage.schema import COMPLAINT_COLUMNS, complaint_row, transition_rows

    desk = ce.ComplaintDesk()
    names: dict[object, int] = {}

    def codes(texts: Any) -> list[int | None]:
        return [None if t is None else names.setdefault(t, len(names) + 1) for t in texts]

    def persisted(c: Any, i: int) -> None:
        doc = to_document(c)
        row = complaint_row(c, codes, doc)
        transition_rows(c, len(c.history) - 1, doc)  # built as a save builds it; the floor writes the document only
        write(row[COMPLAINT_COLUMNS.index("doc")], i % 100)  # the packed document

    if dsn:
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True)

        def write(doc: Any, key: int) -> None:
            conn.execute("UPDATE desks_raw SET n = n + 1, doc = %s WHERE id = %s", (doc, key))
    else:
        lite = sqlite3.connect(db, isolation_level=None, timeout=30)
        lite.execute("PRAGMA synchronous = FULL")

        def write(doc: Any, key: int) -> None:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute("UPDATE desks_raw SET n = n + 1, doc = ? WHERE id = ?", (doc, key))
            lite.execute("COMMIT")
    verbs = 0
    while time.time() < start:
        time.sleep(0.001)
    while time.time() < stop:
        c = desk.receive(by=REC, owner="陳先生", unit="3-1201", channel="phone", category="noise", summary="噪音")
        persisted(c, verbs)
        for verb, by, params in PATH:
            getattr(desk, verb)(c.id, by=by, **params)
            persisted(desk.get(c.id), verbs)
        verbs += 1 + len(PATH)
    out.put(verbs)


def _raw_worker(db: str, dsn: str | None, start: float, stop: float, out: Any) -> None:
    done = 0
    if dsn:
        import psycopg

        conn = psycopg.connect(dsn, autocommit=True)
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < stop:
            conn.execute("UPDATE desks_raw SET n = n + 1 WHERE id = %s", (done % 100,))
            done += 1
    else:
        lite = sqlite3.connect(db, isolation_level=None, timeout=30)
        lite.execute("PRAGMA synchronous = FULL")
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < stop:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute("UPDATE desks_raw SET n = n + 1 WHERE id = ?", (done % 100,))
            lite.execute("COMMIT")
            done += 1
    out.put(done)


def run(target: Any, n: int, seconds: float, db: str, dsn: str | None) -> list[int]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 1.5  # every process connected before the clock starts
    procs = [ctx.Process(target=target, args=(db, dsn, start, start + seconds, out)) for _ in range(n)]
    for p in procs:
        p.start()
    counts = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dsn")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"{'PostgreSQL' if args.dsn else 'SQLite ' + sqlite3.sqlite_version}; {args.seconds:g} s per run")
    for n in args.processes:
        db = str(folder / f"desks-{n}.sqlite")
        _repository(db, args.dsn).close()
        raw_db = str(folder / f"raw-{n}.sqlite")
        if args.dsn:
            import psycopg

            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS desks_raw")
                conn.execute("CREATE TABLE desks_raw (id INTEGER PRIMARY KEY, n INTEGER, doc BYTEA)")
                conn.execute("INSERT INTO desks_raw SELECT g, 0 FROM generate_series(0, 99) g")
        else:
            lite = sqlite3.connect(raw_db, isolation_level=None)
            lite.execute("PRAGMA journal_mode = WAL")
            lite.execute("CREATE TABLE desks_raw (id INTEGER PRIMARY KEY, n INTEGER, doc BLOB)")
            lite.executemany("INSERT INTO desks_raw (id, n) VALUES (?, 0)", [(i,) for i in range(100)])
            lite.close()
        desks = run(_desk_worker, n, args.seconds, db, args.dsn)
        raw = run(_raw_worker, n, args.seconds, raw_db, args.dsn)
        floor = run(_floor_worker, n, args.seconds, raw_db, args.dsn)
        mean = sum(desks) / n
        print(f"N={n}: desks {sum(desks) / args.seconds:7,.0f} verbs/s (per process: "
              f"{', '.join(f'{c / args.seconds:,.0f}' for c in desks)}; smallest {min(desks) / mean:.0%} of the "
              f"mean, target >= 50 %); raw {sum(raw) / args.seconds:7,.0f} transactions/s (per process: "
              f"{', '.join(f'{c / args.seconds:,.0f}' for c in raw)}); desks = {sum(desks) / sum(raw):.0%} of raw")
        print(f"     the floor: the same verbs by the engine in memory, their rows built, each written by one raw "
              f"statement {sum(floor) / args.seconds:7,.0f} verbs/s = {sum(floor) / sum(raw):.0%} of raw; desks = "
              f"{sum(desks) / sum(floor):.0%} of the floor")
    for p in folder.iterdir():
        p.unlink()


if __name__ == "__main__":
    main()
