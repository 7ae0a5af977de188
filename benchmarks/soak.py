"""Soak test: N processes × T seconds of random desk verbs on one register, with SIGKILLs, then the audit.

Run: python benchmarks/soak.py [--processes 6] [--seconds 30] [--kills 10] [--dsn DSN | --db FILE]

Each worker runs random verbs (receive, register, dispatch, start or arrival, resolve, reply, callback, close,
pauses, sweeps) on its own complaints and on others' (conflicts are refused and change nothing), and writes a
line for every verb the store acknowledged. The parent kills a random worker with SIGKILL every T/kills
seconds and starts another. At the end it checks that every acknowledged write is in the store (no write
lost), runs the audit (serials unique and gap-free, histories unbroken, hash chains, analysis columns) and
prints the counts. Exit status 0 when the register is sound and nothing acknowledged was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import complaint_engine as ce
from complaint_engine.audit import audit_report

ACTORS = {
    "reception": ce.Actor("duty-li", ce.Role.RECEPTION, "A"),
    "manager": ce.Actor("mgr-wang", ce.Role.DEPARTMENT_MANAGER, "A"),
    "tech": ce.Actor("tech-zhao", ce.Role.TECHNICIAN, "A"),
    "callback": ce.Actor("cs-chen", ce.Role.CALLBACK_OFFICER, "A"),
}


def _repository(db: str | None, dsn: str | None) -> object:
    if dsn:
        from complaint_engine.storage.postgres import PostgresRepository

        return PostgresRepository(dsn)
    from complaint_engine.storage import SQLiteRepository

    return SQLiteRepository(db)  # type: ignore[arg-type]


def _next_step(desk: ce.ComplaintDesk, c: ce.Complaint, rng: random.Random) -> object:
    """The verb that takes a complaint one step along the procedure (None at its end)."""
    a, cid = ACTORS, c.id
    if c.paused_since is not None:
        return desk.resume(cid, by=a["tech"])
    status = c.status
    if status is ce.Status.RECEIVED:
        return desk.register(cid, by=a["reception"])
    if status is ce.Status.REGISTERED:
        return desk.dispatch(cid, by=a["reception"], assignee="tech-zhao")
    if status is ce.Status.DISPATCHED:
        return desk.record_arrival(cid, by=a["tech"]) if c.is_repair else desk.start(cid, by=a["manager"])
    if status is ce.Status.IN_PROGRESS:
        if rng.random() < 0.1:
            return desk.pause(cid, by=a["tech"], reason="waiting")
        return desk.resolve(cid, by=a["manager"], result="done")
    if status is ce.Status.RESOLVED:
        return desk.reply(cid, by=a["reception"])
    if status is ce.Status.REPLIED:
        return desk.record_callback(cid, by=a["callback"], method="phone",
                                    satisfaction=rng.choice(["satisfied", "satisfied", "dissatisfied"]))
    if status is ce.Status.CALLED_BACK:
        return desk.close(cid, by=a["callback"])
    return None


def worker(db: str | None, dsn: str | None, seconds: float, log: Path, seed: int) -> None:
    """Random verbs until the deadline; a line ``id version`` for each acknowledged one (after its commit)."""
    rng = random.Random(seed)
    desk = ce.ComplaintDesk(repository=_repository(db, dsn))  # type: ignore[arg-type]
    mine: list[str] = []
    deadline = time.monotonic() + seconds
    with log.open("a", encoding="utf-8", buffering=1) as out:
        while time.monotonic() < deadline:
            try:
                if not mine or rng.random() < 0.25:
                    category = rng.choice(["noise", "repair", "fees", "cleaning"])
                    c = desk.receive(by=ACTORS["reception"], owner=f"owner-{rng.randrange(10**6)}",
                                     unit=f"{rng.randrange(1, 9)}-{rng.randrange(101, 999)}", channel="phone",
                                     category=category, summary="soak")
                    mine.append(c.id)
                    out.write(f"{c.id} {c.version}\n")
                    continue
                if rng.random() < 0.03:
                    desk.sweep()
                    continue
                cid = rng.choice(mine) if rng.random() < 0.8 else rng.choice(
                    [c.id for c in desk.find(limit=50)] or mine)
                c = desk.get(cid)
                result = _next_step(desk, c, rng)
                if result is None:
                    continue
                saved = result if isinstance(result, ce.Complaint) else desk.get(cid)
                out.write(f"{saved.id} {saved.version}\n")
            except ce.ComplaintEngineError:
                pass  # refused (a conflict with another worker, a rule): the store is unchanged


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--db", help="SQLite file (default: a new one in a temporary folder)")
    parser.add_argument("--dsn", help="a PostgreSQL database instead (its data is dropped first)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.db, args.dsn, args.seconds, Path(args.log), args.seed)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    db = args.db or str(folder / "soak.sqlite")
    repo = _repository(None if args.dsn else db, args.dsn)
    if args.dsn:
        repo.drop_all_data_for_tests()  # type: ignore[attr-defined]
    repo.close()  # type: ignore[attr-defined]
    rng = random.Random(args.seed)
    started = time.monotonic()
    logs = []

    def spawn(k: int) -> subprocess.Popen[bytes]:
        log = folder / f"acks-{k}.txt"
        logs.append(log)
        left = max(0.5, args.seconds - (time.monotonic() - started))
        command = [sys.executable, __file__, "--worker", "--seconds", str(left), "--log", str(log),
                   "--seed", str(args.seed * 1000 + k)]
        command += ["--dsn", args.dsn] if args.dsn else ["--db", db]
        return subprocess.Popen(command, env={**os.environ, "PYTHONWARNINGS": "ignore"})

    workers = [spawn(k) for k in range(args.processes)]
    spawned, kills = len(workers), 0
    interval = args.seconds / (args.kills + 1)
    while time.monotonic() - started < args.seconds and kills < args.kills:
        time.sleep(interval)
        victim = rng.randrange(len(workers))
        if workers[victim].poll() is None:
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = spawn(spawned)
            spawned += 1
    for w in workers:
        w.wait()

    repo = _repository(None if args.dsn else db, args.dsn)
    acked: dict[str, int] = {}
    for log in logs:
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) == 2:
                    acked[parts[0]] = max(acked.get(parts[0], 0), int(parts[1]))
    stored = {c.id: c.version for c in repo.find()}  # type: ignore[attr-defined]
    lost = [cid for cid, version in acked.items() if stored.get(cid, 0) < version]
    report = audit_report(repo)  # type: ignore[arg-type]
    repo.close()  # type: ignore[attr-defined]
    counts = {"backend": "postgres" if args.dsn else "sqlite", "processes": args.processes, "seconds": args.seconds,
              "kills": kills, "complaints": report.complaints, "registered": report.registered,
              "acknowledged_complaints": len(acked), "lost": len(lost), "findings": len(report.findings)}
    print(json.dumps(counts))
    for finding in report.findings[:20]:
        print(finding)
    return 0 if not lost and not report.findings else 1


if __name__ == "__main__":
    sys.exit(main())
