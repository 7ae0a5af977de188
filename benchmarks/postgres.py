"""Desk verbs on PostgreSQL against raw psycopg, in one process, on one server.

Run: COMPLAINT_ENGINE_PG_DSN="host=… dbname=… user=…" python benchmarks/postgres.py [--n 20000] [--rounds 12]

The database is emptied first (``drop_all_data_for_tests``): point it at a throwaway database.

  one desk      each desk verb of the main path persisted vs one raw single-row transaction (one UPDATE in
                its own transaction, autocommit: one round trip, the tightest anchor) on the same server; each
                batch against the raw batches just before and after it, medians over the rounds; the same
                transaction written BEGIN, UPDATE, COMMIT (three round trips) is printed for comparison
  two desks     the same path with two desks (two repositories, as two processes) taking the verbs in turn:
                each verb finds the complaint changed by the other desk, so it reads it whole
  waits         how many times each verb waited for the server (a pipeline's statements are one wait)

Over a network, each round trip adds the network's latency to both sides of the ratio: the round trips are
the figure that carries over to another machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import complaint_engine as ce
from complaint_engine.storage import PostgresRepository
from storage import PATH, REC, T0, make_complaints  # the same register and path as benchmarks/storage.py


class Counting:
    """The repository's connection, counting the waits for the server: a statement outside a pipeline, or a
    whole pipeline."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.waits = 0
        self._in_pipeline = False

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.waits += not self._in_pipeline
        return self.conn.execute(*args, **kwargs)

    def pipeline(self) -> Any:
        counter = self

        class Pipeline:
            def __enter__(self) -> Any:
                counter.waits += 1
                counter._in_pipeline = True
                self.inner = counter.conn.pipeline()
                return self.inner.__enter__()

            def __exit__(self, *exc: Any) -> Any:
                counter._in_pipeline = False
                return self.inner.__exit__(*exc)

        return Pipeline()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    dsn = os.environ.get("COMPLAINT_ENGINE_PG_DSN")
    if not dsn:
        sys.exit("set COMPLAINT_ENGINE_PG_DSN (bash .ci/postgres.sh starts a throwaway server and prints one)")
    repo = PostgresRepository(dsn)
    repo.drop_all_data_for_tests()
    repo.add_many(make_complaints(args.n))
    raw = psycopg.connect(dsn, autocommit=True)
    version = raw.execute("SHOW server_version").fetchone()
    fsync = raw.execute("SHOW fsync").fetchone()
    print(f"PostgreSQL {version[0] if version else '?'} (fsync {fsync[0] if fsync else '?'}), psycopg "
          f"{psycopg.__version__}, libpq {psycopg.pq.version()}; {args.n:,} complaints stored")
    seq = iter(range(10**9))

    def raw_batch(batch: int = 50, trips: int = 1) -> float:
        t = time.perf_counter()
        for _ in range(batch):
            if trips == 3:
                raw.execute("BEGIN")
            raw.execute("UPDATE complaints SET version = version + 1 WHERE id = %s", (f"c{next(seq) % args.n:07d}",))
            if trips == 3:
                raw.execute("COMMIT")
        return (time.perf_counter() - t) / batch

    clock = ce.FixedClock(T0 + dt.timedelta(days=400))
    repos = [repo, PostgresRepository(dsn)]  # a second desk's repository: another process, its own cache
    counters = [Counting(r.pg_connection) for r in repos]
    for r, counting in zip(repos, counters, strict=True):
        r.connection = r.pg_connection = counting  # type: ignore[assignment]  # the benchmark looks inside
    desks = [ce.ComplaintDesk(repository=r, clock=clock) for r in repos]
    bare = [raw_batch()]

    def path(n_desks: int) -> None:
        """The main path, verb after verb taken by the desks in turn: with two, each verb finds the complaint
        changed by the other desk (not in its cache), as when reception and the departments work apart."""
        times: dict[str, list[float]] = {verb: [] for verb, _, _ in PATH}
        paired: dict[str, list[float]] = {verb: [] for verb, _, _ in PATH}
        waits: dict[str, int] = {}
        for _ in range(args.rounds):
            ids = []
            for _ in range(50):
                clock.advance(minutes=1)
                ids.append(desks[0].receive(by=REC, owner="o", unit="u", channel="phone", category="noise",
                                            summary="s").id)
            for k, (verb, by, params) in enumerate(PATH):
                clock.advance(minutes=1)
                desk, counting = desks[(k + 1) % n_desks], counters[(k + 1) % n_desks]
                call = getattr(desk, verb)
                counting.waits = 0
                t = time.perf_counter()
                for i in ids:
                    call(i, by=by, **params)
                times[verb].append((time.perf_counter() - t) / len(ids))
                waits[verb] = counting.waits // len(ids)
                bare.append(raw_batch())
                paired[verb].append(times[verb][-1] / ((bare[-2] + bare[-1]) / 2))
        print(f"{'one desk' if n_desks == 1 else 'two desks, in turn'}: each verb / the raw batches around it, "
              f"median of {args.rounds} rounds:")
        print("         " + ", ".join(f"{verb} {statistics.median(times[verb]) * 1e3:.3f} ms = "
                                      f"{statistics.median(paired[verb]):.2f}x" for verb, _, _ in PATH))
        print("         path mean " + f"{statistics.mean(statistics.median(r) for r in paired.values()):.2f}x; "
              "waits " + ", ".join(f"{verb} {waits[verb]}" for verb, _, _ in PATH))

    path(1)
    path(2)
    three = statistics.median(raw_batch(trips=3) for _ in range(10))
    print(f"raw single-row transaction {statistics.median(bare) * 1e3:.3f} ms (one round trip), median of "
          f"{len(bare)} batches of 50; as BEGIN, UPDATE, COMMIT {three * 1e3:.3f} ms (three round trips)")
    for r, counting in zip(repos, counters, strict=True):
        r.connection = r.pg_connection = counting.conn  # type: ignore[assignment]
        r.close()
    raw.close()


if __name__ == "__main__":
    main()
