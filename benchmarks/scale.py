"""Group scale on SQLite: what a register of n complaints costs on disk, to import and to analyse — each figure
against the floor measured in the same run.

Run: python benchmarks/scale.py [--n 100000] [--dir /tmp] [--dsn DSN]

The register: n complaints closed along the whole procedure (receive → register → dispatch → start → resolve →
reply → callback → close, short texts) over 2024, each a *distinct* object graph (its own history, notice,
clocks and callback, decoded from its own document), with its own owner, unit and texts — so no encoder cache
keyed by object identity makes the import look cheaper than a real one.

  size        bytes per complaint after a checkpoint, indexes included (file ÷ n), and the tables and indexes
              that hold them (SQLite's dbstat)                         target <= 1,200 B (#21)
  import      add_many(n)   vs  raw executemany of the same rows (complaint rows, transition rows, built
              beforehand) into the same schema  vs  raw executemany of lean rows (integer codes and instants, one
              row per complaint and per transition) into a lean schema: the floor
                                                                       target >= 40,000/s and <= 1.5x lean raw
  frame       frame(period="2024")  vs  the same SELECT with the same ORDER BY, fetched raw  vs  the integer
              columns of that query fetched into numpy (the floor); the memory the frame holds (RSS growth)
                                                                       target <= 2 s at 1M, <= 2x floor, <= 400 MB
  analyse     analyse() of 2024H1 from the store, frame included         target <= 3 s at 1M
  --dsn       the import into PostgreSQL (add_many's COPY vs a raw COPY of the same rows), and the half-year's
              analysis counted by the server vs read into a frame (benchmarks/pushdown.py: a group's 5M register)
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

import complaint_engine as ce
from complaint_engine.facts import CODED, FACT_COLUMNS, NAMES
from complaint_engine.instants import to_us
from complaint_engine.period import Period
from complaint_engine.serialization import from_dict, to_dict, to_document
from complaint_engine.stats import ComplaintFrame, analyse
from complaint_engine.storage import SQLiteRepository
from complaint_engine.storage.schema import INSERT_COMPLAINT, INSERT_TRANSITION, complaint_row, transition_rows

sys.path.insert(0, str(Path(__file__).parent))
from storage import PATH, REC  # the main path of benchmarks/storage.py

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 1, 1, 8, tzinfo=TZ)
SURNAMES = "王李張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def footprint(cols: dict[str, np.ndarray]) -> float:
    """MiB a frame holds: its arrays, and each distinct object its text columns point to, once."""
    seen: dict[int, int] = {}
    for column in cols.values():
        if column.dtype == object:
            for v in column.tolist():
                seen.setdefault(id(v), sys.getsizeof(v))
    return (sum(c.nbytes for c in cols.values()) + sum(seen.values())) / 2**20


def register(n: int) -> list[ce.Complaint]:
    """n closed complaints over 2024, each decoded from its own document (distinct objects, own texts)."""
    desk = ce.ComplaintDesk(clock=ce.FixedClock(T0))
    cid = desk.receive(by=REC, owner="陳先生", unit="3-1201", channel="phone", category="repair",
                       summary="廚房水龍頭漏水").id
    for verb, by, params in PATH:
        getattr(desk, verb)(cid, by=by, **params)
    template = to_dict(desk.get(cid))
    assert isinstance(template, dict)
    rng = np.random.default_rng(7)
    minutes = np.sort(rng.integers(0, 360 * 24 * 60, n)).tolist()
    out = []
    for i, m in enumerate(minutes):
        doc = dict(template)
        shift = dt.timedelta(minutes=m)
        doc.update(id=f"c{i:07d}", serial=f"A-2024-{i + 1:07d}", document_number=f"A-2024-{i + 1:07d}",
                   received_at=(T0 + shift).isoformat(), owner=f"{SURNAMES[i % 20]}先生",
                   unit=f"{i % 30 + 1}-{i % 40 + 1:02d}{i % 8 + 1:02d}", summary=f"單位{i % 997}漏水")
        out.append(from_dict(doc, ce.Complaint))
    return out


LEAN_DDL = [
    "CREATE TABLE complaints (id INTEGER PRIMARY KEY, office INTEGER, serial INTEGER, status INTEGER, "
    + ", ".join(f"{n} INTEGER" for n, _ in FACT_COLUMNS if n not in ("id", "office", "serial", "status"))
    + ", doc BLOB)",
    "CREATE INDEX lean_received ON complaints (office, received_us)",
    "CREATE TABLE transitions (complaint INTEGER, seq INTEGER, event INTEGER, actor INTEGER, at INTEGER, "
    "note TEXT, PRIMARY KEY (complaint, seq)) WITHOUT ROWID",
]


class Coder:
    """Codes for the coded facts' texts, as a store's ``names`` would give them (kept in a dict)."""

    def __init__(self) -> None:
        self.codes: dict[object, int] = {}

    def __call__(self, texts: Any) -> list[int | None]:
        return [None if t is None else self.codes.setdefault(t, len(self.codes) + 1) for t in texts]

    def names(self) -> list[tuple[int, object]]:
        return [(code, name) for name, code in self.codes.items()]


def lean_rows(complaints: list[ce.Complaint]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The floor's rows: every fact an integer (codes for texts), one small state document, transitions as codes
    and microseconds."""
    codes: dict[object, int] = {}
    coder = Coder()

    def code(v: object) -> int | None:
        return None if v is None else v if isinstance(v, int) else codes.setdefault(v, len(codes))

    facts: list[tuple[Any, ...]] = []
    moves: list[tuple[Any, ...]] = []
    for i, c in enumerate(complaints):
        row = complaint_row(c, coder)
        values = dict(zip(("id", "office", "status", "serial", "received_us", "next_due_us", "version", "doc"),
                          row[:8], strict=True))
        fact = [code(v) for v in row[8:8 + len(NAMES) - 5]]  # the fact columns after the own ones
        facts.append((i, code(values["office"]), i + 1, code(values["status"]), values["received_us"],
                      *fact[:len(FACT_COLUMNS) - 5], b"{}"))
        moves.extend((i, s, code(t.event), code(t.actor.id), to_us(t.at), t.note) for s, t in enumerate(c.history))
    return facts, moves


def postgres_import(dsn: str, complaints: list[ce.Complaint], rows: list[tuple[Any, ...]],
                    transitions: list[tuple[Any, ...]], coder: Coder, t_rows: float) -> None:
    """add_many on PostgreSQL (COPY) vs a raw COPY of the same rows, already built, into the same tables."""
    from complaint_engine.storage import PostgresRepository
    from complaint_engine.storage.schema import IMPORTED

    n = len(complaints)
    repo = PostgresRepository(dsn)
    repo.drop_all_data_for_tests()
    t_ours, _ = timed(lambda: repo.add_many(complaints, batch=50_000))
    policy = ce.Policy.default()  # the half-year's report counted by the server, and read into a frame (#21 item 4)
    t_push, pushed = timed(lambda: analyse(repo, "2024H1", policy=policy))
    t_framed, framed = timed(lambda: analyse(ComplaintFrame.for_analysis(repo, "2024H1", tz=policy.tz), "2024H1",
                                             policy=policy))
    equal = pushed.to_dict() == framed.to_dict()
    repo.drop_all_data_for_tests()
    conn = repo.pg_connection
    conn.execute("DELETE FROM names")

    def raw_copy() -> None:
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy("COPY names (code, name) FROM STDIN") as copy:
                for row in coder.names():
                    copy.write_row(row)
            for table, table_rows in (("complaints", rows), ("transitions", transitions)):
                with cursor.copy(f"COPY {table} ({', '.join(IMPORTED[table][0])}) FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)

    t_raw, _ = timed(raw_copy)
    repo.drop_all_data_for_tests()
    conn.execute("DELETE FROM names")
    repo.close()
    print(f"         PostgreSQL: add_many {n / t_ours:9,.0f}/s (target >= 50,000/s); raw COPY of the same rows "
          f"{n / t_raw:9,.0f}/s; building them {n / t_rows:,.0f}/s (the floor): add_many = "
          f"{t_ours / (t_rows + t_raw):.2f}x building + raw COPY")
    print(f"         PostgreSQL analyse 2024H1: push-down {t_push:.2f} s, frame path {t_framed:.2f} s "
          f"({t_framed / t_push:.1f}x); reports equal: {'yes' if equal else 'NO'} (5M: benchmarks/pushdown.py)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--dsn", help="also import into this PostgreSQL database (emptied first: a throwaway one)")
    args = parser.parse_args()
    n = args.n
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, sqlite "
          f"{sqlite3.sqlite_version}; n = {n:,}; {dt.date.today()}")
    t_build, complaints = timed(lambda: register(n))
    print(f"register built in {t_build:.1f} s (distinct objects)")

    # --- import -------------------------------------------------------------------------------------------
    ours = SQLiteRepository(folder / "ours.sqlite")
    t_ours, _ = timed(lambda: ours.add_many(complaints, batch=50_000))
    coder = Coder()

    def build() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        documents = [to_document(c) for c in complaints]
        return ([complaint_row(c, coder, doc) for c, doc in zip(complaints, documents, strict=True)],
                [t for c, doc in zip(complaints, documents, strict=True) for t in transition_rows(c, 0, doc)])

    gc.disable()  # as add_many does: the rows have no cycles, and the collector would rescan the register's heap
    t_rows, (rows, transitions) = timed(build)
    t_encode, _ = timed(lambda: [to_document(c) for c in complaints])
    gc.enable()
    SQLiteRepository(folder / "same.sqlite").close()  # the same schema and pragmas, another file
    same = sqlite3.connect(folder / "same.sqlite", isolation_level=None)

    def raw_same() -> None:
        same.execute("BEGIN")
        same.executemany("INSERT INTO names (code, name) VALUES (?, ?)", coder.names())
        same.executemany(INSERT_COMPLAINT, rows)
        same.executemany(INSERT_TRANSITION, transitions)
        same.execute("COMMIT")

    t_same, _ = timed(raw_same)
    facts, moves = lean_rows(complaints)
    lean = sqlite3.connect(folder / "lean.sqlite", isolation_level=None)
    lean.execute("PRAGMA journal_mode = WAL")
    for ddl in LEAN_DDL:
        lean.execute(ddl)

    def raw_lean() -> None:
        lean.execute("BEGIN")
        lean.executemany(f"INSERT INTO complaints VALUES ({', '.join('?' * len(facts[0]))})", facts)
        lean.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?)", moves)
        lean.execute("COMMIT")

    t_lean, _ = timed(raw_lean)
    print(f"import   add_many {n / t_ours:9,.0f}/s; raw executemany of the same rows {n / t_same:9,.0f}/s; "
          f"of lean rows {n / t_lean:9,.0f}/s (floor)")
    print(f"         add_many = {t_ours / t_lean:.1f}x the lean floor (target <= 1.5x), "
          f"{t_ours / t_same:.1f}x the same rows raw; {n / t_ours:,.0f}/s (target >= 40,000/s)")
    print(f"         building the rows from the objects alone {n / t_rows:9,.0f}/s ({t_rows / n * 1e6:.0f} us a "
          f"complaint), of which encoding the documents (to_document) {n / t_encode:,.0f}/s: add_many = "
          f"{t_ours / (t_rows + t_same):.2f}x building + raw insert of the same rows")

    if args.dsn:
        postgres_import(args.dsn, complaints, rows, transitions, coder, t_rows)

    # --- size ---------------------------------------------------------------------------------------------
    for conn in (ours.connection, lean):
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = (folder / "ours.sqlite").stat().st_size
    lean_size = (folder / "lean.sqlite").stat().st_size
    parts = ours.connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    print(f"size     {size / n:,.0f} B per complaint (target <= 1,200 B); lean floor {lean_size / n:,.0f} B; by "
          "table and index: " + ", ".join(f"{name!s} {b / n:,.0f} B" for name, b in parts[:6]))

    # --- frame --------------------------------------------------------------------------------------------
    before = rss_mib()
    t_frame, cols = timed(lambda: ours.frame(period="2024"))
    held = rss_mib() - before
    start, end = Period.parse("2024").bounds("Asia/Shanghai")
    where = "WHERE received_us >= ? AND received_us < ? ORDER BY received_us, id"
    raw = sqlite3.connect(folder / "ours.sqlite")
    t_fetch, fetched = timed(lambda: raw.execute(f"SELECT {', '.join(NAMES)} FROM complaints {where}",
                                                 (to_us(start), to_us(end))).fetchall())
    ints = [n for n, kind in FACT_COLUMNS if kind != "text" or n in CODED]
    t_floor, floor = timed(lambda: np.array(
        raw.execute(f"SELECT {', '.join(f'IFNULL({c}, 0)' for c in ints)} FROM complaints {where}",
                    (to_us(start), to_us(end))).fetchall(), dtype=np.int64))
    holds = footprint(cols)
    print(f"frame    {len(cols['id']):,} rows: frame() {t_frame:.2f} s holding {holds:,.0f} MiB (the process grew by "
          f"{held:,.0f} MiB); the same query raw "
          f"{t_fetch:.2f} s ({len(fetched):,} rows); its {len(ints)} integer columns into numpy {t_floor:.2f} s "
          f"({floor.nbytes / 2**20:,.0f} MiB)")
    print(f"         frame() = {t_frame / t_fetch:.2f}x the same query raw, {t_frame / t_floor:.1f}x the integer floor "
          f"(target <= 2x); at 1M: {t_frame * 1e6 / n:.1f} s (target <= 2 s; the floor alone "
          f"{t_floor * 1e6 / n:.1f} s), {holds * 1e6 / n:,.0f} MiB (target <= 400 MB; the integer floor alone "
          f"{floor.nbytes / n * 1e6 / 2**20:,.0f} MiB, without the ids, serials and texts)")
    del fetched, floor

    # --- analyse -------------------------------------------------------------------------------------------
    t_analyse, _ = timed(lambda: analyse(ComplaintFrame.from_repository(ours, period="2024H1"), "2024H1"))
    print(f"analyse  2024H1 from the store (frame included) {t_analyse:.2f} s; at 1M about "
          f"{t_analyse * 1e6 / n:.1f} s if linear (target <= 3 s)")
    raw.close()
    ours.close()
    same.close()
    lean.close()
    if not os.environ.get("KEEP"):
        for p in folder.iterdir():
            p.unlink()


if __name__ == "__main__":
    main()
