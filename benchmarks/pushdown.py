"""The periodic analysis of a group's register on PostgreSQL: counted on the server (push-down) against the frame
path (every row of the period and the one before fetched into numpy, then analysed), same run, same server.

Run: COMPLAINT_ENGINE_PG_DSN="host=… dbname=… user=…" python benchmarks/pushdown.py [--n 5000000] [--rounds 3]
     [--reuse]

The database is emptied first (``drop_all_data_for_tests``): point it at a throwaway database.

The register: a year of the demo's service centre (``simulate_year``: every path, escalations, callbacks of every
answer, breaches, CAPA reports), copied on the server into estates (each its own office and its own units) over
``--years`` years, as many estates as make n complaints — a property group's ten years. The copies are made
by one INSERT … SELECT on the server (importing 5M complaints through the desk would take most of an hour).

  half-year    analyse(repository, "2029H1") of the whole group: push-down vs frame path (frame read included);
               both reports compared, and the rows each path fetched; the floor: the push-down's SQL statements
               alone, both periods, on a bare psycopg connection
  one estate   the same for one office
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

import complaint_engine as ce
from complaint_engine.period import Period
from complaint_engine.simulation import simulate_year
from complaint_engine.stats import AnalysisReport, ComplaintFrame, analyse
from complaint_engine.stats.pushdown import tally_request
from complaint_engine.storage import InMemoryRepository, PostgresRepository
from complaint_engine.storage.tallied import tally_statements

YEAR_US = 364 * 86_400_000_000  # 52 weeks: a copy keeps its weekdays


def populate(repo: PostgresRepository, dsn: str, n: int, years: int) -> tuple[int, list[Any]]:
    memory = InMemoryRepository()
    simulate_year(memory, year=2024, seed=7, policy=ce.Policy.default())
    base = list(memory.find())
    repo.add_many(base)
    # one copy per estate and year: copies of one estate a day apart would make every complaint a repeat
    estates = max(1, -(-n // (len(base) * years)))
    copies = estates * years
    with psycopg.connect(dsn, autocommit=True) as conn:
        columns = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'complaints' "
            "ORDER BY ordinal_position").fetchall()]

        def copied(name: str) -> str:
            if name in ("id", "serial"):
                return f"{name} || '.' || k"
            if name == "office":
                return "office || '-' || (k % e)"
            if name == "unit":  # each estate its own units (and buildings)
                return "(k % e) || '/' || unit"
            if name.endswith("_us"):  # the copy's year
                return f"{name} + (k / e % y) * {YEAR_US}"
            return name

        started = time.perf_counter()
        conn.execute(f"INSERT INTO complaints ({', '.join(columns)}) SELECT {', '.join(map(copied, columns))} "
                     f"FROM complaints, generate_series(1, {copies - 1}) AS k, (SELECT {estates} AS e, {years} AS y) "
                     "AS s WHERE id NOT LIKE '%.%' ORDER BY k, received_us")
        conn.execute("VACUUM ANALYZE complaints")
        stored = conn.execute("SELECT count(*) FROM complaints").fetchone()[0]  # type: ignore[index]
        print(f"populated: {stored:,} complaints ({len(base)} simulated, {copies - 1:,} copies on the server) "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
    return stored, list(memory.find_capas())


def timed_runs(fn: Any, rounds: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def compare(repo: PostgresRepository, dsn: str, period: str, office: str | None, capas: list[Any], rounds: int,
            label: str) -> None:
    policy = ce.Policy.default()
    fetched = {}

    def pushed() -> AnalysisReport:
        with repo.snapshot() as view:
            ask = view.tallies

            def counted(request: Any) -> Any:
                answer = ask(request)
                fetched["push"] = fetched.get("push", 0) + len(answer.candidates["id"])
                return answer

            view.tallies = counted  # type: ignore[method-assign]
            fetched["push"] = 0
            return analyse(view, period, policy=policy, office=office, capas=capas)

    def framed() -> AnalysisReport:
        frame = ComplaintFrame.for_analysis(repo, period, office=office, tz=policy.tz)
        fetched["frame"] = len(frame)
        return analyse(frame, period, policy=policy, office=office, capas=capas)

    def raw_sql() -> None:  # the floor: the push-down's statements alone, both periods, on a bare connection
        zone = ZoneInfo(policy.tz)
        with psycopg.connect(dsn) as conn:
            for q in (Period.parse(period), Period.parse(period).previous()):
                request = tally_request(q, policy, office, capas, q.bounds(zone)[1], {})
                for sql, args in tally_statements(request, repo.dialect):
                    conn.execute(sql.replace("?", "%s"), args).fetchall()

    push_s, a = timed_runs(pushed, rounds)
    frame_s, b = timed_runs(framed, rounds)
    raw_s, _ = timed_runs(raw_sql, rounds)
    equal = a.to_dict() == b.to_dict() and [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]
    print(f"{label:<12} {a.received:>9,} complaints  push-down {push_s:7.2f} s ({fetched['push']:,} rows fetched)  "
          f"frame path {frame_s:7.2f} s ({fetched['frame']:,} rows)  ratio {frame_s / push_s:5.1f}x  "
          f"reports equal: {'yes' if equal else 'NO'}\n{'':<12} the push-down's SQL alone (the floor) {raw_s:.2f} s: "
          f"push-down = {push_s / raw_s:.2f}x its SQL", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5_000_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a register this script populated before")
    args = parser.parse_args()
    dsn = os.environ.get("COMPLAINT_ENGINE_PG_DSN")
    if not dsn:
        sys.exit("set COMPLAINT_ENGINE_PG_DSN (bash .ci/postgres.sh starts a throwaway server and prints one)")
    print(f"# {dt.date.today()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · PostgreSQL on this machine")
    repo = PostgresRepository(dsn)
    if args.reuse:
        memory = InMemoryRepository()
        simulate_year(memory, year=2024, seed=7, policy=ce.Policy.default())
        capas = list(memory.find_capas())
    else:
        repo.drop_all_data_for_tests()
        _, capas = populate(repo, dsn, args.n, args.years)
    period = f"{2024 + args.years // 2}H1"
    compare(repo, dsn, period, None, capas, args.rounds, "half-year")
    compare(repo, dsn, period, "A-1", [], args.rounds, "one estate")
    repo.close()


if __name__ == "__main__":
    main()
