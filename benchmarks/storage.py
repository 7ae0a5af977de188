"""Storage against raw sqlite3, in one process, on one file system.

Run: python benchmarks/storage.py [--n 1000000] [--dir /tmp]

  import        SQLiteRepository.add_many(n complaints, each its own object graph)  vs  raw executemany of the
                same rows (documents, transition rows and fact rows already built) in one transaction, into
                another file of the same schema
  overdue       the overdue query on n rows: ours (ids, and whole complaints) vs the raw indexed query vs the
                same query forced to scan (NOT INDEXED); and the sweep users run (desk.sweep: the query, the
                due complaints read, each breach recorded in one unit of work), first and again
  verb          each desk verb of the main path persisted vs one raw single-row transaction, same
                synchronous level, on the other file; each batch against the raw batches just before and after;
                one desk, then two desks (two repositories on the file) taking the verbs in turn
  alone         the statements each verb issued, replayed on a copy of the file without our Python, vs the
                same raw transactions: what of a verb's ratio is SQL and what is the engine
  frame         frame() of n rows (numpy columns) vs a raw fetch of the same columns by the same query (the
                same ORDER BY)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

import complaint_engine as ce
from complaint_engine.facts import SELECTED
from complaint_engine.instants import to_us
from complaint_engine.model import replace
from complaint_engine.period import Period
from complaint_engine.serialization import from_dict, to_dict
from complaint_engine.storage import SQLiteRepository
from complaint_engine.storage.schema import (
    INSERT_COMPLAINT,
    INSERT_TRANSITION,
    LIVE,
    complaint_row,
    transition_rows,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 1, 1, 8, tzinfo=TZ)
REC = ce.Actor("duty", ce.Role.RECEPTION, "A")
MGR = ce.Actor("wang", ce.Role.DEPARTMENT_MANAGER, "A")
CBO = ce.Actor("chen", ce.Role.CALLBACK_OFFICER, "A")
# the main path of a complaint, one persisted desk verb per step
PATH: list[tuple[str, ce.Actor, dict[str, object]]] = [
    ("register", REC, {}), ("dispatch", REC, {}), ("start", MGR, {}), ("resolve", MGR, {"result": "done"}),
    ("reply", REC, {}), ("record_callback", CBO, {"method": "phone", "satisfaction": "satisfied"}),
    ("close", CBO, {})]


def make_complaints(n: int) -> list[ce.Complaint]:
    """n complaints over 2024, as a year-old register looks: 99.9 % closed along the whole procedure, 0.1 %
    registered with a reply clock still running past the sweep instant."""
    desk = ce.ComplaintDesk(clock=ce.FixedClock(T0))
    cid = desk.receive(by=REC, owner="陳先生", unit="3-1201", channel="phone", category="noise",
                       summary="loud music after 23:00").id
    running = desk.register(cid, by=REC)
    for verb, by, params in PATH[1:]:
        getattr(desk, verb)(cid, by=by, **params)
    closed = desk.get(cid)
    rng = np.random.default_rng(7)
    offsets = np.sort(rng.integers(0, 360 * 24 * 60, n))
    out = []
    closed_doc = to_dict(closed)
    assert isinstance(closed_doc, dict)
    for i, minutes in enumerate(offsets.tolist()):
        at = T0 + dt.timedelta(minutes=minutes)
        fields = {"id": f"c{i:07d}", "serial": f"A-2024-{i + 1:07d}", "received_at": at}
        if i % 1000 == 0:
            reply = replace(running.deadlines["reply"], {"started_at": at, "due": at + dt.timedelta(days=2)})
            out.append(replace(running, {**fields, "deadlines": {"reply": reply}}))
        else:  # its own object graph (decoded from its own document): no encoder cache keyed by identity helps
            doc = {**closed_doc, "id": fields["id"], "serial": fields["serial"], "received_at": at.isoformat(),
                   "owner": f"陳先生{i % 97}", "unit": f"{i % 30 + 1}-{i % 40 + 1:02d}01"}
            out.append(from_dict(doc, ce.Complaint))
    return out


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    n = args.n
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    print(f"machine: {platform.machine()} python {platform.python_version()} sqlite {sqlite3.sqlite_version}; "
          f"n = {n:,}; files in {folder}")
    complaints = make_complaints(n)

    # --- import -------------------------------------------------------------------------------------
    codes: dict[object, int] = {}  # the coded facts' texts, as the store's names table gives them
    rows = [complaint_row(c, lambda texts: [None if t is None else codes.setdefault(t, len(codes) + 1)
                                            for t in texts]) for c in complaints]
    transitions = [t for c in complaints for t in transition_rows(c, 0)]
    raw_path = folder / "raw.sqlite"
    SQLiteRepository(raw_path).close()  # the same schema and pragmas
    raw = sqlite3.connect(raw_path, isolation_level=None)
    raw.execute("PRAGMA synchronous = FULL")

    def raw_import() -> None:
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO names (code, name) VALUES (?, ?)", [(c, name) for name, c in codes.items()])
        raw.executemany(INSERT_COMPLAINT, rows)
        raw.executemany(INSERT_TRANSITION, transitions)
        raw.execute("COMMIT")

    t_raw, _ = timed(raw_import)
    repo = SQLiteRepository(folder / "ours.sqlite")
    t_ours, _ = timed(lambda: repo.add_many(complaints, batch=n))
    print(f"import   ours add_many {n / t_ours:10,.0f}/s   raw executemany {n / t_raw:10,.0f}/s   "
          f"ours = {t_raw / t_ours:.0%} of raw (target >= 40%)")

    # --- overdue query --------------------------------------------------------------------------------
    sweep = T0 + dt.timedelta(days=362)
    cut = to_us(sweep)
    q = f"SELECT id FROM complaints WHERE next_due_us < ? AND {LIVE}"  # the statement due_ids runs
    t_idx = min(timed(lambda: raw.execute(q, (cut,)).fetchall())[0] for _ in range(5))
    t_scan = min(timed(lambda: raw.execute(q.replace("complaints", "complaints NOT INDEXED"), (cut,))
                       .fetchall())[0] for _ in range(3))
    t_ids = min(timed(lambda: repo.due_ids(sweep))[0] for _ in range(5))
    t_find, found = min((timed(lambda: repo.find(due_before=sweep)) for _ in range(3)), key=lambda r: r[0])
    print(f"overdue  {len(found):,} due of {n:,}: ours ids {t_ids * 1e3:.2f} ms, ours complaints "
          f"{t_find * 1e3:.1f} ms, raw indexed {t_idx * 1e3:.2f} ms, raw without index {t_scan * 1e3:.1f} ms; "
          f"ours ids = {t_ids / t_idx:.2f}x raw indexed (target <= 1.5x)")
    sweeper = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(sweep))
    t_first, swept = timed(lambda: sweeper.sweep())
    t_again, _ = timed(lambda: sweeper.sweep())
    print(f"sweep    desk.sweep(): {len(swept):,} breaches recorded in {t_first * 1e3:.1f} ms (the query, the "
          f"complaints, one unit of work), then {t_again * 1e3:.1f} ms with nothing new; "
          f"{t_first / t_idx:.0f}x / {t_again / t_idx:.1f}x the raw indexed query")

    # --- one verb ----------------------------------------------------------------------------------------
    # Each round receives a batch (untimed), then times every verb of the main path over the batch. Raw
    # single-row transactions on the same file run in batches between the verbs' batches, and each verb batch
    # is compared with the mean of the raw batches just before and just after it: both see the same WAL,
    # checkpoint and disk state, so the machine's drift (fsync latency varies by tens of percent over a run
    # here) cancels out of each ratio. Medians over the rounds.
    clock = ce.FixedClock(T0 + dt.timedelta(days=400))
    desk = ce.ComplaintDesk(repository=repo, clock=clock)
    seq = iter(range(10**9))

    def raw_txn() -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("UPDATE complaints SET version = version + 1 WHERE id = ?", (f"c{next(seq) % n:07d}",))
        raw.execute("COMMIT")

    def raw_batch() -> float:
        return timed(lambda: [raw_txn() for _ in range(batch)])[0] / batch

    batch, rounds = 100, 25
    second = ce.ComplaintDesk(repository=SQLiteRepository(folder / "ours.sqlite"), clock=clock)

    def path_rounds(desks: list[ce.ComplaintDesk], label: str) -> None:
        """The main path over batches of complaints; with two desks (two repositories on the file, as two
        processes) taking the verbs in turn, each verb finds its complaint changed by the other desk — not in
        its cache — as when reception and the departments work apart."""
        ours: dict[str, list[float]] = {verb: [] for verb, _, _ in PATH}
        paired: dict[str, list[float]] = {verb: [] for verb, _, _ in PATH}
        bare: list[float] = [raw_batch()]
        for _ in range(rounds):
            ids = []
            for _ in range(batch):  # complaints arrive one after another, not all at one instant
                clock.advance(minutes=1)
                ids.append(desks[0].receive(by=REC, owner="o", unit="u", channel="phone", category="noise",
                                            summary="s").id)
            for k, (verb, by, params) in enumerate(PATH):
                clock.advance(minutes=1)
                call = getattr(desks[(k + 1) % len(desks)], verb)
                t = time.perf_counter()
                for i in ids:
                    call(i, by=by, **params)
                ours[verb].append((time.perf_counter() - t) / batch)
                bare.append(raw_batch())
                paired[verb].append(ours[verb][-1] / ((bare[-2] + bare[-1]) / 2))
        t_raw = statistics.median(bare)
        ratios = {verb: statistics.median(r) for verb, r in paired.items()}
        print(f"verb     {label}: raw single-row transaction {t_raw * 1e3:.3f} ms (synchronous=FULL, median of "
              f"{len(bare)} batches of {batch}); each persisted desk verb / the raw batches around it, median of "
              f"{rounds} rounds (target <= 2x):")
        print("         " + ", ".join(f"{verb} {statistics.median(ours[verb]) * 1e3:.3f} ms = {r:.2f}x"
                                      for verb, r in ratios.items()))
        print(f"         path mean {statistics.mean(ratios.values()):.2f}x, worst {max(ratios.values()):.2f}x "
              f"({max(ratios, key=ratios.__getitem__)})")

    path_rounds([desk], "one desk")
    path_rounds([desk, second], "two desks in turn")

    # --- the statements alone -------------------------------------------------------------------------------
    # Where a verb's time goes: the exact statements (and parameters) the desk issued for some more rounds,
    # replayed on a copy of the file taken just before them, with no Python of ours in between, against raw
    # batches on the copy. What is left between this and the verb's ratio is the engine's Python.
    replay_rounds = 5
    ids = []
    for _ in range(replay_rounds * batch):
        clock.advance(minutes=1)
        ids.append(desk.receive(by=REC, owner="o", unit="u", channel="phone", category="noise", summary="s").id)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(folder / "ours.sqlite", folder / "replay.sqlite")
    issued: list[tuple[str, str, tuple[object, ...]]] = []
    verb_now = [""]

    class Recording:  # the desk's connection, noting each statement under the verb that issued it
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def execute(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
            issued.append((verb_now[0], sql, tuple(args)))
            return self.conn.execute(sql, args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.conn, name)

    repo.connection = Recording(repo.connection)  # type: ignore[assignment]  # the benchmark looks inside
    for r in range(replay_rounds):
        for verb, by, params in PATH:
            clock.advance(minutes=1)
            verb_now[0] = verb
            for i in ids[r * batch:(r + 1) * batch]:
                getattr(desk, verb)(i, by=by, **params)
    repo.connection = repo.connection.conn  # type: ignore[attr-defined]
    copy = sqlite3.connect(folder / "replay.sqlite", isolation_level=None)
    copy.execute("PRAGMA synchronous = FULL")
    copy_seq = iter(range(10**9))

    def copy_raw_batch() -> float:
        def one() -> None:
            copy.execute("BEGIN IMMEDIATE")
            copy.execute("UPDATE complaints SET version = version + 1 WHERE id = ?", (f"c{next(copy_seq) % n:07d}",))
            copy.execute("COMMIT")
        return timed(lambda: [one() for _ in range(batch)])[0] / batch

    by_verb = [[(sql, args) for v, sql, args in issued if v == verb] for verb, _, _ in PATH]
    alone: dict[str, list[float]] = {verb: [] for verb, _, _ in PATH}
    around = copy_raw_batch()
    for r in range(replay_rounds):
        for (verb, _, _), statements in zip(PATH, by_verb, strict=True):
            per = len(statements) // replay_rounds
            t = time.perf_counter()
            for sql, args in statements[r * per:(r + 1) * per]:
                copy.execute(sql, args).fetchall()
            t_alone = (time.perf_counter() - t) / batch
            after = copy_raw_batch()
            alone[verb].append(t_alone / ((around + after) / 2))
            around = after
    copy.close()
    print("alone    the same statements replayed without our Python / the raw batches around them: " + ", ".join(
        f"{verb} {statistics.median(r):.2f}x ({len(s) // (replay_rounds * batch)} statements)"
        for (verb, r), s in zip(alone.items(), by_verb, strict=True)))

    # --- frame ---------------------------------------------------------------------------------------
    t_frame, cols = timed(lambda: repo.frame(period="2024"))
    sql = (f"SELECT {', '.join(SELECTED)} FROM complaints WHERE received_us >= ? AND received_us < ? "
           "ORDER BY received_us, id")  # the statement frame() runs
    start, end = Period.parse("2024").bounds("Asia/Shanghai")
    t_fetch, fetched = timed(lambda: raw.execute(sql, (to_us(start), to_us(end))).fetchall())
    print(f"frame    {len(cols['id']):,} rows: frame() {t_frame:.2f} s, raw fetch {t_fetch:.2f} s "
          f"({len(fetched):,} rows): {t_frame / t_fetch:.2f}x (target <= 3x)")
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    print(f"files: {size:,.0f} MiB in {folder} (delete when done)")
    raw.close()
    repo.close()
    os.environ.get("KEEP") or [p.unlink() for p in folder.iterdir()]


if __name__ == "__main__":
    main()
