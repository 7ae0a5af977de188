"""PostgreSQL-specific behaviour against a real server (COMPLAINT_ENGINE_PG_DSN; .ci/postgres.sh starts one).

When the variable is set these tests run and fail if the server is unreachable; in CI it must be set.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import pytest
from tests.conftest import MONDAY, RECEPTION, at
from tests.storage.conftest import PG_DSN

import complaint_engine as ce
from complaint_engine.errors import StorageError

needs_server = pytest.mark.skipif(PG_DSN is None, reason="COMPLAINT_ENGINE_PG_DSN is not set (CI sets it)")


def test_ci_runs_the_postgres_tests() -> None:
    if os.environ.get("CI") == "true":
        assert PG_DSN, "CI must start PostgreSQL (.ci/postgres.sh) and export COMPLAINT_ENGINE_PG_DSN"


def test_a_dsn_that_does_not_connect_is_a_clear_error_without_the_password() -> None:
    from complaint_engine.storage import PostgresRepository

    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as err:
        PostgresRepository("host=127.0.0.1 port=1 dbname=x user=u password=s3cret connect_timeout=2")
    assert "s3cret" not in str(err.value)


def _pg_register_many(dsn: str, n: int, barrier: object) -> None:
    from complaint_engine.storage import PostgresRepository

    desk = ce.ComplaintDesk(repository=PostgresRepository(dsn), clock=ce.FixedClock(MONDAY))
    actor = ce.Actor(f"duty-{os.getpid()}", ce.Role.RECEPTION, "A")
    barrier.wait()  # type: ignore[attr-defined]
    for _ in range(n):
        c = desk.receive(by=actor, owner="o", unit="u", channel="phone", category="noise", summary="s")
        desk.register(c.id, by=actor)


@needs_server
def test_four_processes_registering_at_once_get_unique_gap_free_serials(repo_pg: object) -> None:
    assert PG_DSN is not None
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_pg_register_many, args=(PG_DSN, 40, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    serials = sorted(c.serial for c in repo_pg.find() if c.serial)  # type: ignore[attr-defined]
    assert serials == [f"A-2024-{n:05d}" for n in range(1, 161)]


@needs_server
def test_two_workers_claim_disjoint_overdue_complaints(repo_pg: object) -> None:
    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))  # type: ignore[arg-type]
    for _ in range(6):
        c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
        desk.register(c.id, by=RECEPTION)
    one, two = PostgresRepository(PG_DSN), PostgresRepository(PG_DSN)
    with one.unit_of_work() as a, two.unit_of_work() as b:
        first = a.claim_overdue(at(2024, 6, 30), limit=4)
        second = b.claim_overdue(at(2024, 6, 30), limit=4)
    assert len(first) == 4
    assert len(second) == 2
    assert not {c.id for c in first} & {c.id for c in second}


@needs_server
def test_the_transition_table_is_append_only(repo_pg: object) -> None:
    import psycopg

    assert PG_DSN is not None
    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))  # type: ignore[arg-type]
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE transitions SET note = 'x' WHERE complaint_id = %s", (c.id,))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM transitions WHERE complaint_id = %s", (c.id,))


@needs_server
def test_a_database_of_a_newer_schema_is_refused(repo_pg: object) -> None:
    import psycopg

    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        row = conn.execute("SELECT version FROM complaint_engine_schema").fetchone()
        assert row is not None
        conn.execute("UPDATE complaint_engine_schema SET version = 99")
        try:
            with pytest.raises(StorageError, match="schema version 99"):
                PostgresRepository(PG_DSN)
        finally:
            conn.execute("UPDATE complaint_engine_schema SET version = %s", (row[0],))


@needs_server
def test_desks_on_two_connections_see_each_others_commits(repo_pg: object, tmp_path: Path) -> None:
    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    one = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))  # type: ignore[arg-type]
    two = ce.ComplaintDesk(repository=PostgresRepository(PG_DSN), clock=ce.FixedClock(MONDAY))
    c = one.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    assert two.register(c.id, by=RECEPTION).serial == "A-2024-00001"
    assert one.get(c.id).serial == "A-2024-00001"
