"""The outbox's cost, in one process.

Run: python benchmarks/events.py [--n 2000] [--rounds 5] [--events 1000000] [--dir /tmp] [--dsn "host=… dbname=…"]

  verb     each persisted desk verb of the main path with the outbox vs the same desk on a store whose
           append_events does nothing (the events are still built: what is measured is the outbox's writes);
           rounds alternate, best round each (target: <= 10 % more). On PostgreSQL also the floor: the events'
           INSERT alone, without the lock that orders positions and without NOTIFY
  read     desk.events() of --events events vs a raw SELECT of the same rows, same ORDER BY (target <= 2x)
  sweep    (with --dsn) a sweep of --sweep open complaints, all past due, by one worker process vs two at once,
           each on its own connection (target: two >= 1.6x the throughput of one)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import complaint_engine as ce
from complaint_engine.events import DomainEvent
from complaint_engine.storage import SQLiteRepository
from complaint_engine.storage.schema import EVENT_COLUMNS

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 6, 3, 9, tzinfo=TZ)
REC = ce.Actor("li", ce.Role.RECEPTION, "A")
MGR = ce.Actor("wang", ce.Role.DEPARTMENT_MANAGER, "A")
CBO = ce.Actor("chen", ce.Role.CALLBACK_OFFICER, "A")


def without_outbox(cls: type[Any]) -> type[Any]:
    """The same store, its outbox writes left out (the baseline of the verb's cost)."""

    class NoOutbox(cls):  # type: ignore[misc, valid-type]
        transaction_class = type("NoOutboxTransaction", (cls.transaction_class,),
                                 {"append_events": lambda self, events: None})

    return NoOutbox


def run_path(repo: Any, n: int) -> float:
    """Seconds per verb over the main path of n complaints (received beforehand, not timed)."""
    clock = ce.FixedClock(T0)
    desk = ce.ComplaintDesk(repository=repo, clock=clock)
    ids = [desk.receive(by=REC, owner="o", unit=f"u{i}", channel="phone", category="noise", summary="s").id
           for i in range(n)]
    steps: list[Callable[[str], object]] = [
        lambda i: desk.register(i, by=REC), lambda i: desk.dispatch(i, by=REC), lambda i: desk.start(i, by=MGR),
        lambda i: desk.resolve(i, by=MGR, result="done"), lambda i: desk.reply(i, by=REC),
        lambda i: desk.record_callback(i, by=CBO, method="phone", satisfaction="satisfied"),
        lambda i: desk.close(i, by=CBO)]
    t = time.perf_counter()
    for cid in ids:
        for verb in steps:
            verb(cid)
    return (time.perf_counter() - t) / (n * len(steps))


def insert_only(cls: type[Any]) -> type[Any]:
    """The floor of an outbox on PostgreSQL: the events' INSERT sent with COMMIT, nothing else (no lock that
    orders positions, no NOTIFY) -- the cheapest way to record an event in the verb's own transaction."""
    from complaint_engine.storage.schema import INSERT_EVENT

    class InsertOnlyTransaction(cls.transaction_class):  # type: ignore[misc, name-defined]
        def commit(self) -> None:
            outbox: list[Any] = self._outbox
            if not outbox:
                super().commit()
                return
            self._pipelined([*((INSERT_EVENT, row) for row in outbox), ("COMMIT", ())])
            outbox.clear()
            self.committed = True
            self._committed()

    class InsertOnly(cls):  # type: ignore[misc]
        transaction_class = InsertOnlyTransaction

    return InsertOnly


def verb_cost(makers: list[Callable[[], Any]], n: int, rounds: int = 3) -> list[float]:
    """Seconds per verb for each store maker: rounds alternate between them, best round each."""
    times: list[list[float]] = [[] for _ in makers]
    for _ in range(rounds):
        for make, out in zip(makers, times, strict=True):
            repo = make()
            try:
                out.append(run_path(repo, n))
            finally:
                repo.close()
    return [min(t) for t in times]


def fake_events(n: int) -> Iterable[DomainEvent]:
    for i in range(n):
        yield DomainEvent(kind="complaint.registered", office="A", at=T0 + dt.timedelta(seconds=i), actor=REC,
                          complaint_id=f"c{i:08d}", serial=f"A-2024-{i:05d}",
                          data={"source": "received", "target": "registered", "serial": f"A-2024-{i:05d}"})


def read_cost(path: Path, n: int) -> tuple[float, float]:
    repo = SQLiteRepository(path, synchronous="OFF")
    batch: list[DomainEvent] = []
    for e in fake_events(n):
        batch.append(e)
        if len(batch) == 50_000:
            repo.append_events(batch)
            batch = []
    if batch:
        repo.append_events(batch)
    ours = min(_timed(lambda: repo.events(0, limit=n)) for _ in range(3))
    repo.close()
    conn = sqlite3.connect(path)
    sql = f"SELECT position, {', '.join(EVENT_COLUMNS)} FROM events WHERE position > ? ORDER BY position LIMIT ?"
    raw = min(_timed(lambda: conn.execute(sql, (0, n)).fetchall()) for _ in range(3))
    conn.close()
    return ours, raw


def _open_complaints(n: int) -> list[ce.Complaint]:
    clock = ce.FixedClock(T0)
    desk = ce.ComplaintDesk(clock=clock)
    out = []
    for i in range(n):
        c = desk.register(desk.receive(by=REC, owner="o", unit=f"u{i}", channel="phone", category="noise",
                                       summary="s").id, by=REC)
        out.append(c)
    return out


def _sweep_worker(dsn: str, at: dt.datetime, start: Any, done: Any) -> None:
    from complaint_engine.storage.postgres import PostgresRepository

    repo = PostgresRepository(dsn)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(at))
    start.wait()
    desk.sweep()
    done.put(time.perf_counter())
    repo.close()


def sweep_cost(dsn: str, n: int) -> tuple[float, float]:
    """Seconds for one worker, then two at once, to sweep n complaints all past due."""
    import multiprocessing as mp

    from complaint_engine.storage.postgres import PostgresRepository

    complaints = _open_complaints(n)
    late = T0 + dt.timedelta(days=10)
    out = []
    for workers in (1, 2):
        repo = PostgresRepository(dsn)
        repo.drop_all_data_for_tests()
        repo.add_many(complaints)
        repo.close()
        start, done = mp.Barrier(workers + 1), mp.Queue()
        procs = [mp.Process(target=_sweep_worker, args=(dsn, late, start, done)) for _ in range(workers)]
        for proc in procs:
            proc.start()
        start.wait()
        t = time.perf_counter()
        ends = [done.get() for _ in procs]
        out.append(max(ends) - t)
        for proc in procs:
            proc.join()
    return out[0], out[1]


def _timed(call: Callable[[], object]) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--dsn", default=os.environ.get("COMPLAINT_ENGINE_PG_DSN"))
    parser.add_argument("--sweep", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the PostgreSQL verb comparison")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(dir=args.dir))
    counter = iter(range(10**6))

    def sqlite_store(cls: type[Any]) -> Callable[[], Any]:
        return lambda: cls(folder / f"verbs-{next(counter)}.sqlite")

    with_, without = verb_cost([sqlite_store(SQLiteRepository), sqlite_store(without_outbox(SQLiteRepository))],
                               args.n)
    print(f"verb  SQLite (synchronous=FULL): {with_ * 1e3:.3f} ms with the outbox, {without * 1e3:.3f} ms without: "
          f"+{(with_ / without - 1):.1%} (target <= 10 %)")
    if args.dsn:
        from complaint_engine.storage.postgres import PostgresRepository

        def pg_store(cls: type[Any]) -> Callable[[], Any]:
            def make() -> Any:
                repo = cls(args.dsn)
                repo.drop_all_data_for_tests()
                return repo
            return make

        with_, floor, without = verb_cost([pg_store(PostgresRepository), pg_store(insert_only(PostgresRepository)),
                                           pg_store(without_outbox(PostgresRepository))], args.n, args.rounds)
        print(f"verb  PostgreSQL: {with_ * 1e3:.3f} ms with the outbox, {without * 1e3:.3f} ms without: "
              f"+{(with_ / without - 1):.1%} (target <= 10 %); floor, the INSERT alone: {floor * 1e3:.3f} ms, "
              f"+{(floor / without - 1):.1%}")
        one, two = sweep_cost(args.dsn, args.sweep)
        print(f"sweep PostgreSQL, {args.sweep:,} complaints past due: one worker {one:.2f} s, two at once {two:.2f} s: "
              f"{one / two:.2f}x the throughput (target >= 1.6x)")
    ours, raw = read_cost(folder / "events.sqlite", args.events)
    print(f"read  {args.events:,} events: events() {ours:.2f} s, raw SELECT {raw:.2f} s: {ours / raw:.2f}x "
          "(target <= 2x)")
    print(f"files in {folder} (delete when done)")


if __name__ == "__main__":
    main()
