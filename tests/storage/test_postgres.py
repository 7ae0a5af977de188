"""PostgreSQL-specific behaviour against a real server (COMPLAINT_ENGINE_PG_DSN; .ci/postgres.sh starts one).

When the variable is set these tests run and fail if the server is unreachable; in CI it must be set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import MONDAY, RECEPTION, at
from tests.storage.conftest import PG_DSN

import complaint_engine as ce
from complaint_engine.errors import ConnectionLost, StorageError
from complaint_engine.model import replace
from complaint_engine.storage.lean import document_text

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


def _version_2_database(legacy: Any) -> None:
    """The database as version 2 of the schema left it, holding the legacy rows."""
    import psycopg

    from complaint_engine.facts import NAMES
    from complaint_engine.storage.postgres import MIGRATIONS

    assert PG_DSN is not None
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS complaints, transitions, sequences, capas, announcements, complaint_facts, "
                     "complaint_engine_schema, events, subscriptions, codes, document_formats, transitions_v7, names")
        conn.execute("DROP FUNCTION IF EXISTS complaint_engine_refuse_change()")
        for statement in (*MIGRATIONS[0], *MIGRATIONS[1]):
            conn.execute(statement)
        cur = conn.cursor()
        cur.executemany("INSERT INTO complaints VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", legacy.complaint_rows)
        cur.executemany("INSERT INTO transitions VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        legacy.transition_rows)
        cur.executemany("INSERT INTO capas VALUES (%s, %s, %s, %s)", legacy.capa_rows)
        cur.executemany(f"INSERT INTO complaint_facts VALUES ({', '.join('%s' for _ in NAMES)})", legacy.fact_rows)
        conn.execute("CREATE TABLE complaint_engine_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO complaint_engine_schema VALUES (2)")


@needs_server
def test_a_migration_that_fails_leaves_the_database_as_it_was(repo_pg: object) -> None:
    """Migrations run in one transaction (BEGIN goes with its first statement, the advisory lock): a document
    the data step cannot read stops it, and not one of its schema changes stays."""
    import psycopg
    from tests.storage.conftest import legacy_data

    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    repo_pg.close()  # type: ignore[attr-defined]
    legacy = legacy_data()
    broken = legacy.complaint_rows[-1]
    legacy.complaint_rows[-1] = (*broken[:-1], '{"schema_version": 1, "id": ')  # cut short
    _version_2_database(legacy)

    def shape() -> list[Any]:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            return [conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                 "WHERE table_schema = 'public' ORDER BY table_name, column_name").fetchall(),
                    conn.execute("SELECT version FROM complaint_engine_schema").fetchall(),
                    conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                                 "ORDER BY indexname").fetchall(),
                    conn.execute("SELECT id, doc FROM complaints ORDER BY id").fetchall()]

    before = shape()
    with pytest.raises(ce.ValidationError, match=broken[0]):
        PostgresRepository(PG_DSN)
    assert shape() == before
    _version_2_database(legacy_data())  # the sound rows: the next test's fixture starts from a working store
    PostgresRepository(PG_DSN).close()


@needs_server
def test_a_version_2_database_is_migrated_forward_whole(repo_pg: object) -> None:
    import psycopg
    from tests.storage.conftest import legacy_data

    from complaint_engine.serialization import SCHEMA_VERSION
    from complaint_engine.storage import PostgresRepository
    from complaint_engine.storage.postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION

    assert PG_DSN is not None
    repo_pg.close()  # type: ignore[attr-defined]
    legacy = legacy_data()
    _version_2_database(legacy)
    repo = PostgresRepository(PG_DSN)
    try:
        assert repo.schema_version == PG_SCHEMA_VERSION == 7
        expected = sorted(legacy.complaints, key=lambda c: (c.received_at, c.id))
        assert repo.find() == expected  # histories rebuilt exactly, the other office's actor included
        docs = [json.loads(document_text(doc)) for (doc,) in repo.pg_connection.execute("SELECT doc FROM complaints")]
        assert all("history" not in d and d["schema_version"] == SCHEMA_VERSION for d in docs)
        assert len(repo.find_capas()) == 1
        assert list(repo.frame()["serial"]) == [c.serial for c in expected]
        with psycopg.connect(PG_DSN, autocommit=True) as conn, \
                pytest.raises(psycopg.errors.RaiseException, match="append-only"):  # the trigger is back on
            conn.execute("UPDATE transitions SET note = 'x'")
    finally:
        repo.close()


@needs_server
def test_the_cli_reads_a_postgresql_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    from complaint_engine.demo import run_scripted_day
    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    repo = PostgresRepository(PG_DSN)
    repo.drop_all_data_for_tests()
    desk = run_scripted_day()
    repo.add_many(desk.find())
    serial = next(c.serial for c in desk.find() if c.serial)
    repo.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "complaint_engine", *args, "--dsn", PG_DSN],
                              capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120)

    audited = cli("audit", "--lang", "en")
    assert audited.returncode == 0, audited.stderr
    assert audited.stdout.startswith(f"sound: {len(desk.find())} complaints")
    exported = cli("export", "--period", "2024", "--what", "register", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    assert serial in exported.stdout
    reported = cli("report", "--period", "2024", "--lang", "en")
    assert reported.returncode == 0, reported.stderr
    assert "Complaint analysis — 2024" in reported.stdout
    both = subprocess.run([sys.executable, "-m", "complaint_engine", "audit", "--db", "x.sqlite", "--dsn", PG_DSN],
                          capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120)
    assert both.returncode == 2
    assert "不能与参数 --db 同时使用" in both.stderr  # argparse's message, in the run's language


@needs_server
def test_opening_without_create_refuses_a_database_that_holds_no_register() -> None:
    import psycopg

    from complaint_engine.storage import PostgresRepository

    assert PG_DSN is not None
    name = f"ce_empty_{os.getpid()}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    try:
        empty = psycopg.conninfo.make_conninfo(PG_DSN, dbname=name)
        with pytest.raises(StorageError, match="holds no complaint register"):
            PostgresRepository(empty, create=False)
        with psycopg.connect(empty) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables == (0,)  # nothing was created
        PostgresRepository(empty).close()  # create=True makes the register
        PostgresRepository(empty, create=False).close()  # and now it opens
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def _drop_connections_of(repo: Any) -> None:
    """What a server restart, a failover or an idle-connection timeout does to the repository's connection."""
    import psycopg

    pid = repo.pg_connection.info.backend_pid  # the test looks inside on purpose: which server process to stop
    with psycopg.connect(str(PG_DSN), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        # the signal is sent, not yet obeyed: wait until the process is gone, or the next call could begin on
        # the dying connection and lose it in the middle of its unit (a different case, tested on its own)
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, f"server process {pid} did not stop"
            time.sleep(0.01)


@needs_server
@pytest.mark.parametrize("pipelines", [True, False], ids=["BEGIN with the first statement", "BEGIN alone"])
def test_a_connection_the_server_closed_is_replaced_for_the_next_call(repo_pg: Any, pipelines: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # without pipelines (libpq before 14) a unit of work sends BEGIN alone, and replaces the connection there
    monkeypatch.setattr(repo_pg, "begins_with_first_statement", pipelines)
    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    _drop_connections_of(repo_pg)
    assert repo_pg.get(c.id) == c  # a direct read: read again on a new connection
    _drop_connections_of(repo_pg)
    assert repo_pg.offices() == ["A"]
    _drop_connections_of(repo_pg)
    assert [x.id for x in repo_pg.find()] == [c.id]
    _drop_connections_of(repo_pg)
    assert desk.register(c.id, by=RECEPTION).serial == "A-2024-00001"  # a verb: begun on a new connection
    assert repo_pg.get(c.id).version == 2


@needs_server
def test_a_connection_lost_inside_a_unit_of_work_is_a_clear_error_and_nothing_lands(repo_pg: Any) -> None:
    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    with repo_pg.unit_of_work() as uow:
        uow.next_number("complaint:A:2024")
        changed = replace(uow.get(c.id), {"summary": "changed"})
        _drop_connections_of(repo_pg)
        with pytest.raises(ConnectionLost, match="connection to the database was lost") as err:
            uow.save(changed)
    assert err.value.location == repo_pg.location
    assert repo_pg.get(c.id) == c  # the next call connects again; nothing of the unit landed
    assert repo_pg.next_number("complaint:A:2024") == 1


@needs_server
def test_a_server_that_cannot_be_reached_again_is_a_clear_error(repo_pg: Any) -> None:
    c = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY)).receive(
        by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    repo_pg._dsn = "host=127.0.0.1 port=1 dbname=x user=u password=s3cret connect_timeout=2"  # the server "moved"
    _drop_connections_of(repo_pg)
    with pytest.raises(StorageError, match=r"lost the connection to PostgreSQL .* cannot connect again") as err:
        repo_pg.get(c.id)
    assert "s3cret" not in str(err.value)


@needs_server
def test_a_closed_repository_does_not_connect_again(repo_pg: Any) -> None:
    repo_pg.close()
    with pytest.raises(StorageError):
        repo_pg.offices()


@needs_server
def test_a_statement_the_server_refuses_is_a_storage_error_and_nothing_lands(repo_pg: Any) -> None:
    import psycopg

    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    repo_pg.pg_connection.execute("SET lock_timeout = '100ms'")  # the test looks inside on purpose: a short wait
    with psycopg.connect(str(PG_DSN)) as other:  # another program holds the complaint's row
        other.execute("SELECT 1 FROM complaints WHERE id = %s FOR UPDATE", (c.id,))
        with pytest.raises(StorageError, match=r"failed a statement \(UPDATE complaints …\): .*lock") as err:
            desk.register(c.id, by=RECEPTION)
    assert not isinstance(err.value, ConnectionLost)
    assert isinstance(err.value.__cause__, psycopg.errors.LockNotAvailable)
    assert repo_pg.get(c.id) == c
    assert repo_pg.next_number("complaint:A:2024") == 1  # the serial the failed registration took is back


@needs_server
def test_a_unit_whose_statement_failed_refuses_to_commit_and_nothing_lands(repo_pg: Any) -> None:
    """After a failed statement PostgreSQL answers COMMIT by rolling back, without an error: the unit says so
    instead of reporting a commit that did not happen."""
    import psycopg

    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    repo_pg.pg_connection.execute("SET lock_timeout = '100ms'")
    with psycopg.connect(str(PG_DSN)) as other, repo_pg.unit_of_work() as uow:
        other.execute("SELECT 1 FROM complaints WHERE id = %s FOR UPDATE", (c.id,))
        number = uow.next_number("capa:A:2024")  # some work of the unit, before the statement that fails
        with pytest.raises(StorageError, match="lock"):
            uow.save(replace(c, {"summary": "changed"}))
        with pytest.raises(StorageError, match="rolled the whole unit back: nothing of it is committed"):
            uow.commit()
    assert number == 1
    assert repo_pg.next_number("capa:A:2024") == 1  # the unit's number was not taken
    assert repo_pg.get(c.id) == c


class _CountingWaits:
    """A connection that counts the waits for the server: each statement sent alone, each pipeline whole."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.waits, self._piped = conn, 0, False
        self.sent: list[tuple[str, Any]] = []

    def execute(self, statement: str, params: Any = None, **kwargs: Any) -> Any:
        self.waits += not self._piped
        self.sent.append((statement, params))
        return self.conn.execute(statement, params, **kwargs)

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[Any]:
        self.waits += 1
        self._piped = True
        try:
            with self.conn.pipeline() as pipeline:
                yield pipeline
        finally:
            self._piped = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@needs_server
def test_reads_and_verbs_wait_for_the_server_as_few_times_as_documented(repo_pg: Any) -> None:
    """docs/storage.md, "Round trips to a server": BEGIN goes with the first statement, a complaint's document
    and history are read together, a save and its transition row are one statement."""
    from complaint_engine.storage import PostgresRepository

    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))
    # the first registration of an office's year also checks that its number is free (an imported register has
    # no sequence rows): one wait more, once a year; the count below is of the registrations after it
    first = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    desk.register(first.id, by=RECEPTION)
    # a verb bringing a text the store never held (a department, a staff member) waits once more to enter it in
    # the names of the coded facts: the first dispatch to this department and person does
    desk.dispatch(first.id, by=RECEPTION)
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    reader = PostgresRepository(str(PG_DSN))  # a repository that has not read the complaint yet
    try:
        for repo in (repo_pg, reader):
            repo.connection = repo.pg_connection = _CountingWaits(repo.pg_connection)
        waits: dict[str, int] = {}
        for name, call in [("get, not cached", lambda: reader.get(c.id)),
                           ("find", lambda: reader.find(office="A", status=ce.Status.RECEIVED)),
                           ("register", lambda: desk.register(c.id, by=RECEPTION)),
                           ("dispatch", lambda: desk.dispatch(c.id, by=RECEPTION))]:
            reader.pg_connection.waits = repo_pg.pg_connection.waits = 0
            call()
            waits[name] = reader.pg_connection.waits + repo_pg.pg_connection.waits
        assert waits == {"get, not cached": 2, "find": 2, "register": 4, "dispatch": 3}
    finally:
        repo_pg.connection = repo_pg.pg_connection = repo_pg.pg_connection.conn
        reader.close()


@needs_server
@pytest.mark.parametrize("read", [
    lambda r: r.find(received_from=MONDAY, received_before=MONDAY + dt.timedelta(days=1)),
    lambda r: r.find(received_from=MONDAY, status=ce.Status.REGISTERED),
    lambda r: r.frame(period="2024H1"),
], ids=["find by receipt", "worklist since", "frame of a period"])
def test_reads_by_receipt_without_an_office_range_over_the_office_index(repo_pg: Any, read: Any) -> None:
    """The offices, found by a skip scan, go to the index as one array: one index scan over them (spelled
    ``IN (…)``, PostgreSQL joins them with a read of the whole index instead)."""
    repo_pg.connection = repo_pg.pg_connection = counting = _CountingWaits(repo_pg.pg_connection)
    try:
        read(repo_pg)
    finally:
        repo_pg.connection = repo_pg.pg_connection = counting.conn
    [(statement, params)] = [(s, p) for s, p in counting.sent  # (a frame reads the names of coded facts first)
                             if s.startswith("SELECT") and s != "SELECT code, name FROM names"][:1]
    with repo_pg.pg_connection.transaction():
        repo_pg.pg_connection.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole anyway
        plan = "\n".join(row[0] for row in repo_pg.pg_connection.execute("EXPLAIN " + statement, params))
    assert "Index Cond: ((office = ANY ($" in plan, plan
    assert "received_us >=" in plan, plan


@needs_server
def test_the_order_of_reads_does_not_depend_on_the_databases_collation() -> None:
    """A database made with a language's collation (ICU en-US: "x0" before "X1", "a b" before "B") reads in
    the same order as every other backend: by code point."""
    import psycopg

    from complaint_engine.storage import InMemoryRepository, PostgresRepository

    assert PG_DSN is not None
    name = f"ce_icu_{os.getpid()}"
    admin = psycopg.connect(PG_DSN, autocommit=True)
    if not admin.execute("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'").fetchone()[0]:
        admin.close()
        pytest.skip("this PostgreSQL server was built without ICU collations")
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name} LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' "
                  "TEMPLATE template0")
    repo = PostgresRepository(psycopg.conninfo.make_conninfo(PG_DSN, dbname=name))
    try:
        desk = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY))
        template = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
        stored = [replace(template, {"id": cid, "office": office})
                  for cid, office in [("x0", "a b"), ("X1", "B"), ("x-1", "A"), ("東", "a b"), ("Y", "B")]]
        memory = InMemoryRepository()
        for store in (memory, repo):
            store.add_many(stored)
        assert [c.id for c in repo.find()] == [c.id for c in memory.find()] == ["X1", "Y", "x-1", "x0", "東"]
        assert repo.offices() == memory.offices() == ["A", "B", "a b"]
        assert list(repo.frame(period="2024")["id"]) == ["X1", "Y", "x-1", "x0", "東"]
        for number in ("CAPA-b", "CAPA-B", "CAPA-a b"):
            repo.add_capa(ce.CAPAReport(number=number, office="A", complaint_serials=("A-2024-00001",),
                                        problem="p", opened_at=MONDAY))
        assert [r.number for r in repo.find_capas()] == ["CAPA-B", "CAPA-a b", "CAPA-b"]
    finally:
        repo.close()
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@needs_server
def test_a_frozen_client_blocks_an_offices_registrations_for_at_most_the_lock_timeout() -> None:
    from complaint_engine.storage.postgres import PostgresRepository

    assert PG_DSN is not None
    frozen, waiting = PostgresRepository(PG_DSN), PostgresRepository(PG_DSN, lock_timeout=0.3, statement_timeout=5)
    try:
        frozen.drop_all_data_for_tests()
        assert waiting.pg_connection.execute("SHOW lock_timeout").fetchone() == ("300ms",)
        assert waiting.pg_connection.execute("SHOW statement_timeout").fetchone() == ("5s",)
        clock = ce.FixedClock(MONDAY)
        desk = ce.ComplaintDesk(repository=waiting, clock=clock)
        c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
        with frozen.unit_of_work() as uow:
            uow.next_number("complaint:A:2024")  # holds the office's sequence row and never commits
            started = time.perf_counter()
            with pytest.raises(StorageError, match="lock timeout"):
                desk.register(c.id, by=RECEPTION)
            assert time.perf_counter() - started < 3
        assert desk.get(c.id).serial is None  # the refused verb changed nothing
        assert desk.register(c.id, by=RECEPTION).serial == "A-2024-00001"
    finally:
        frozen.close()
        waiting.close()


@needs_server
@pytest.mark.parametrize("value", [-1, float("inf"), "30", True])
def test_a_bad_timeout_is_refused_naming_it(value: object) -> None:
    from complaint_engine.storage.postgres import PostgresRepository

    assert PG_DSN is not None
    with pytest.raises(ce.ValidationError, match=r"lock_timeout.*seconds in 0\.\.86400"):
        PostgresRepository(PG_DSN, lock_timeout=value)  # type: ignore[arg-type]


@needs_server
def test_the_audit_finds_the_append_only_trigger_disabled(repo_pg: object) -> None:
    import psycopg

    from complaint_engine.audit import audit

    assert PG_DSN is not None
    desk = ce.ComplaintDesk(repository=repo_pg, clock=ce.FixedClock(MONDAY))  # type: ignore[arg-type]
    desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                               summary="s").id, by=RECEPTION)
    assert audit(repo_pg) == []  # type: ignore[arg-type]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("ALTER TABLE transitions DISABLE TRIGGER transitions_append_only")
    try:
        [finding] = audit(repo_pg)  # type: ignore[arg-type]
        assert "'transitions_append_only' of the transition log is missing or disabled" in finding.problem
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute("ALTER TABLE transitions ENABLE TRIGGER transitions_append_only")
    assert audit(repo_pg) == []  # type: ignore[arg-type]
