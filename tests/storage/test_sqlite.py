"""SQLite-specific reliability: processes sharing a file, crashes, corruption, schema versions, bad paths."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.conftest import MONDAY, RECEPTION
from tests.storage.conftest import as_version_6, legacy_data

import complaint_engine as ce
from complaint_engine.audit import audit
from complaint_engine.errors import StorageError
from complaint_engine.facts import NAMES
from complaint_engine.serialization import SCHEMA_VERSION
from complaint_engine.stats import ComplaintFrame
from complaint_engine.storage import SQLiteRepository
from complaint_engine.storage.lean import document_text, pack_document
from complaint_engine.storage.schema import facts_ddl
from complaint_engine.storage.sqlite import MIGRATIONS
from complaint_engine.storage.sqlite import SCHEMA_VERSION as SCHEMA_VERSION_SQLITE

ROOT = Path(__file__).resolve().parents[2]


def _register_many(path: str, office: str, n: int, barrier: object) -> None:
    repo = SQLiteRepository(path)
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(repository=repo, clock=clock)
    actor = ce.Actor(f"duty-{os.getpid()}", ce.Role.RECEPTION, office)
    barrier.wait()  # type: ignore[attr-defined]
    for _ in range(n):
        c = desk.receive(by=actor, owner="o", unit="u", channel="phone", category="noise", summary="s")
        desk.register(c.id, by=actor)
    repo.close()


def test_four_processes_registering_at_once_get_unique_gap_free_serials(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SQLiteRepository(path).close()
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_register_many, args=(path, "A", 40, barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    serials = sorted(c.serial for c in SQLiteRepository(path).find() if c.serial)
    assert serials == [f"A-2024-{n:05d}" for n in range(1, 161)]


def test_two_desks_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    one = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    two = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = one.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    assert two.register(c.id, by=RECEPTION).serial == "A-2024-00001"
    assert one.get(c.id).serial == "A-2024-00001"


WRITER = textwrap.dedent("""
    import sys, datetime as dt
    from zoneinfo import ZoneInfo
    import complaint_engine as ce
    from complaint_engine.storage import SQLiteRepository
    repo = SQLiteRepository(sys.argv[1])
    start = dt.datetime(2024, 6, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(start))
    actor = ce.Actor("duty", ce.Role.RECEPTION, "A")
    n = 0
    while True:
        c = desk.receive(by=actor, owner="o", unit="u", channel="phone", category="noise", summary="s" * 200)
        desk.register(c.id, by=actor)
        n += 1
        if n == 20:
            print("ready", flush=True)
""")


def test_a_writer_killed_mid_stream_leaves_a_sound_file(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    repo = SQLiteRepository(path)
    stored = repo.find()
    assert len(stored) >= 20
    registered = [c for c in stored if c.status is ce.Status.REGISTERED]
    assert sorted(c.serial or "" for c in registered) == [f"A-2024-{n:05d}" for n in range(1, len(registered) + 1)]
    for c in stored:  # every committed complaint is whole: its document agrees with its append-only history
        assert c.history[-1].target is c.status
        assert all(t.source is prev.target for prev, t in zip(c.history, c.history[1:], strict=False))
    # the outbox landed with each change: one event per transition, no event without its change, no gap
    events = repo.events(0, limit=1_000_000)
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    by_complaint: dict[str, list[str]] = {}
    for e in events:
        by_complaint.setdefault(e.complaint_id or "", []).append(e.kind)
    assert by_complaint == {c.id: [f"complaint.{ {'receive': 'received', 'register': 'registered'}[t.event]}"
                                   for t in c.history] for c in stored}


def test_a_document_of_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    a = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    conn = sqlite3.connect(path)
    doc = document_text(conn.execute("SELECT doc FROM complaints").fetchone()[0])
    conn.execute("UPDATE complaints SET doc = ?",
                 (pack_document(doc.replace(f'"schema_version":{SCHEMA_VERSION}', '"schema_version":99')),))
    conn.commit()
    conn.close()
    with pytest.raises(ce.ValidationError, match=r"schema_version.*99"):
        SQLiteRepository(path).get(a.id)


def test_the_transition_table_is_append_only(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    conn = sqlite3.connect(path, isolation_level=None)  # autocommit: a refused statement holds no lock
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE transitions SET note = 'rewritten' WHERE complaint_id = ?", (c.id,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM transitions WHERE complaint_id = ?", (c.id,))
    assert [row[1] for row in SQLiteRepository(path).history(c.id)] == ["receive", "register"]


def test_a_database_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    SQLiteRepository(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StorageError, match="schema version 99"):
        SQLiteRepository(path)


def _legacy_file(path: Path, version: int) -> list[ce.Complaint]:
    """A file as version 1 or 2 of the schema wrote it (see ``legacy_data``)."""
    legacy = legacy_data()
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.executemany("INSERT INTO complaints VALUES (?, ?, ?, ?, ?, ?, ?, ?)", legacy.complaint_rows)
    conn.executemany("INSERT INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", legacy.transition_rows)
    conn.executemany("INSERT INTO capas VALUES (?, ?, ?, ?)", legacy.capa_rows)
    if version == 2:
        for statement in facts_ddl("INTEGER", " WITHOUT ROWID"):
            conn.execute(statement)
        conn.executemany(f"INSERT INTO complaint_facts VALUES ({', '.join('?' for _ in NAMES)})", legacy.fact_rows)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()
    return legacy.complaints


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_file_is_migrated_forward_whole(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.sqlite"
    stored = _legacy_file(path, version)
    repo = SQLiteRepository(path)
    assert repo.schema_version == SCHEMA_VERSION_SQLITE
    assert repo.find() == sorted(stored, key=lambda c: (c.received_at, c.id))  # histories rebuilt exactly
    assert [row[8] for row in repo.history(stored[1].id)] == ["HQ"]  # the actor's office
    docs = [json.loads(document_text(doc)) for (doc,) in repo._conn.execute("SELECT doc FROM complaints")]
    assert all("history" not in d and d["schema_version"] == SCHEMA_VERSION for d in docs)
    assert len(repo.find_capas()) == 1
    cols = repo.frame()
    assert list(cols["serial"]) == [c.serial for c in sorted(stored, key=lambda c: (c.received_at, c.id))]
    assert "complaint_facts" not in {name for (name,) in repo._conn.execute("SELECT name FROM sqlite_schema")}
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):  # the trigger is back on
        repo._conn.execute("UPDATE transitions SET note = 'x'")
    assert audit(repo) == []  # a first-series file, migrated through every version, audits sound


def test_a_failed_migration_leaves_the_older_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    _legacy_file(path, 2)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE complaints SET doc = '{broken' WHERE status = 'received'")
    conn.close()
    with pytest.raises(ce.ValidationError, match="stored Complaint"):
        SQLiteRepository(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM complaint_facts").fetchone()[0] == 2
    assert "office" not in {row[1] for row in conn.execute("PRAGMA table_info(transitions)")}
    conn.close()


def test_opening_a_file_another_process_is_migrating_says_so(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    _legacy_file(path, 2)
    migrating = sqlite3.connect(path, isolation_level=None)
    migrating.execute("PRAGMA journal_mode = WAL")
    migrating.execute("BEGIN IMMEDIATE")  # as a migration holds the write lock
    with pytest.raises(StorageError, match=r"schema version 2 .* most likely migrating it to version 7"):
        SQLiteRepository(path, busy_timeout_ms=100)
    migrating.execute("ROLLBACK")
    migrating.close()
    assert SQLiteRepository(path).schema_version == SCHEMA_VERSION_SQLITE  # and once it is free, it opens


def test_a_current_file_whose_lock_stays_taken_says_so(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite"
    SQLiteRepository(path).close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorageError, match="held its write lock past the busy timeout"):
        SQLiteRepository(path, busy_timeout_ms=100)
    writer.execute("ROLLBACK")
    writer.close()


def test_a_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    repo = SQLiteRepository(tmp_path / "fresh.sqlite")
    assert repo.schema_version == SCHEMA_VERSION_SQLITE == 7
    mode = repo._conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = repo._conn.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, sync) == ("wal", 2)  # 2 = FULL


@pytest.mark.parametrize("bad", ["dir", "missing"])
def test_bad_paths_are_refused_and_create_nothing(tmp_path: Path, bad: str) -> None:
    path = tmp_path if bad == "dir" else tmp_path / "no" / "such" / "x.sqlite"
    with pytest.raises(StorageError, match=r"directory|does not exist"):
        SQLiteRepository(path)
    assert not (tmp_path / "no").exists()


def test_a_folder_nobody_may_write_in_is_a_clear_error() -> None:
    path = Path("/proc/self/complaints.sqlite")  # no file can be made here, not even by root (as CI runs)
    with pytest.raises(StorageError, match=r"cannot open database '/proc/self/complaints\.sqlite'"):
        SQLiteRepository(path)
    assert not path.exists()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("minutes of the owners' meeting\n" * 100, encoding="utf-8")
    with pytest.raises(StorageError, match=r"notes\.txt"):
        SQLiteRepository(path)
    assert path.read_text(encoding="utf-8").startswith("minutes")  # untouched


def test_opening_without_create_refuses_a_file_that_holds_no_register_and_changes_nothing(tmp_path: Path) -> None:
    other = tmp_path / "minutes.sqlite"  # another program's database
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE minutes (said TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StorageError, match="holds no complaint register"):
        SQLiteRepository(other, create=False)
    assert other.read_bytes() == before  # not even its journal mode
    with pytest.raises(StorageError, match="does not exist"):
        SQLiteRepository(tmp_path / "typo.sqlite", create=False)
    assert not (tmp_path / "typo.sqlite").exists()
    SQLiteRepository(tmp_path / "ours.sqlite").close()
    assert SQLiteRepository(tmp_path / "ours.sqlite", create=False).schema_version == SCHEMA_VERSION_SQLITE


def test_add_many_imports_in_batches(tmp_path: Path) -> None:
    src = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY))
    made = [src.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary=f"s{i}",
                        at=MONDAY - dt.timedelta(minutes=i)) for i in range(25)]
    repo = SQLiteRepository(tmp_path / "bulk.sqlite")
    assert repo.add_many(made, batch=10) == 25
    assert {c.id for c in repo.find()} == {c.id for c in made}
    with pytest.raises(ce.ValidationError):
        repo.add_many(made[:3])
    assert len(repo.find()) == 25


def test_a_complaint_read_before_another_process_changed_it_is_read_fresh(tmp_path: Path) -> None:
    path = tmp_path / "two.sqlite"
    one = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    two = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = one.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    assert one.get(c.id).status is ce.Status.RECEIVED  # now known to one's repository
    two.register(c.id, by=RECEPTION)
    assert one.get(c.id).status is ce.Status.REGISTERED
    assert one.dispatch(c.id, by=RECEPTION).serial == "A-2024-00001"


_RANGE = {"received_from": MONDAY, "received_before": MONDAY + dt.timedelta(days=30)}
_OFFICE_RANGE = ("SEARCH complaints USING INDEX complaints_office_received "
                 "(office=? AND received_us>? AND received_us<?)")


@pytest.mark.parametrize(("read", "index"), [
    (lambda r: r.find(office="A", status=ce.Status.REGISTERED), "SEARCH complaints USING INDEX complaints_live"),
    (lambda r: r.find(status=ce.Status.REGISTERED), "SCAN complaints USING INDEX complaints_live"),
    (lambda r: r.find(due_before=MONDAY), "SCAN complaints USING INDEX complaints_live"),
    (lambda r: r.due_ids(MONDAY), "SCAN complaints USING INDEX complaints_live"),
    (lambda r: r.find(office="A", status=ce.Status.CLOSED), "SEARCH complaints USING INDEX complaints_office_received"),
    (lambda r: r.find(office="A", **_RANGE), _OFFICE_RANGE),
    # without an office, the register's offices are found by a skip scan and each one's range read
    (lambda r: r.find(**_RANGE), _OFFICE_RANGE),
    (lambda r: r.find(received_from=MONDAY), "SEARCH complaints USING INDEX complaints_office_received (office=? AND "
                                              "received_us>?)"),
    (lambda r: r.frame(period="2024H1"), _OFFICE_RANGE),
    (lambda r: r.offices(), "SEARCH complaints USING COVERING INDEX complaints_office_received (office>?)"),
    (lambda r: r.received_span(), "SEARCH complaints USING COVERING INDEX complaints_office_received (office=?)"),
], ids=["worklist of an office", "worklist", "overdue complaints", "overdue ids", "closed of an office",
        "received by an office", "received", "received since", "frame of a period", "offices", "received span"])
def test_queries_use_an_index(tmp_path: Path, read: Callable[[SQLiteRepository], object], index: str) -> None:
    """Live complaints (open, or with a running clock) are few: their small index serves worklists and the
    overdue sweep; the others are found through the office index, never by reading the whole table."""
    repo = SQLiteRepository(tmp_path / "plan.sqlite")
    statements: list[str] = []
    repo._conn.set_trace_callback(statements.append)
    read(repo)
    repo._conn.set_trace_callback(None)
    # (a frame reads the small table of the coded facts' names whole first)
    queries = [s for s in statements if s.startswith(("SELECT", "WITH")) and s != "SELECT code, name FROM names"]
    assert queries
    for sql in queries:
        plan = " ".join(row[3] for row in repo._conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert index in plan, (sql, plan)
        assert not re.search(r"SCAN complaints(?! USING)", plan), (sql, plan)  # never the whole table


def test_a_full_disk_is_a_storage_error_naming_the_file_and_nothing_is_half_written(tmp_path: Path) -> None:
    from complaint_engine.audit import audit

    path = tmp_path / "small.sqlite"
    repo = SQLiteRepository(path)
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(repository=repo, clock=clock)
    pages = repo._conn.execute("PRAGMA page_count").fetchone()[0]
    repo._conn.execute(f"PRAGMA max_page_count = {pages + 4}")  # the file may grow by 4 pages: then the disk is "full"
    landed: list[str] = []

    def receive_and_register_until_full() -> None:
        for _ in range(1000):
            clock.advance(minutes=1)
            c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
            landed.append(desk.register(c.id, by=RECEPTION).id)

    with pytest.raises(StorageError, match="database or disk is full") as err:
        receive_and_register_until_full()
    assert str(path) in str(err.value)
    assert err.value.location == str(path)
    assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    registered = [c for c in repo.find() if c.serial is not None]
    assert [c.id for c in registered] == landed  # the verb that failed left nothing behind
    assert audit(repo) == []  # no half-written registration, no gap in the serials


def _as_before_recorded_at(c: ce.Complaint) -> ce.Complaint:
    """The complaint as a file written before version 6 gives it back: its transitions without recorded_at."""
    import attrs

    from complaint_engine.model import replace

    return replace(c, {"history": tuple(attrs.evolve(t, recorded_at=None) for t in c.history)})


def test_a_version_3_file_gains_the_facts_of_the_new_clocks_and_its_clocks_run_under_default(tmp_path: Path) -> None:
    """Version 4 adds the acknowledge, start and update clocks' fact columns; complaints stored before keep their
    documents, and their clocks read back under the "default" service level."""
    import sqlite3

    from complaint_engine.storage.schema import FACT_EXTRA_V4

    path = tmp_path / "v3.sqlite"
    repo = SQLiteRepository(path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    repo.close()
    as_version_6(path)
    with sqlite3.connect(path) as conn:  # back to version 3, as the first series wrote it
        conn.execute("DROP INDEX complaints_unit")  # version 6's
        conn.execute("DROP INDEX complaints_owner")
        for column in (*FACT_EXTRA_V4, "location", "measures", "owner", "assignee"):  # version 4's and 6's
            conn.execute(f"ALTER TABLE complaints DROP COLUMN {column}")
        conn.execute("ALTER TABLE transitions DROP COLUMN recorded_at")
        conn.execute("ALTER TABLE transitions DROP COLUMN hash")
        conn.execute("DROP TABLE events")  # version 5's
        conn.execute("DROP TABLE subscriptions")
        conn.execute("PRAGMA user_version = 3")
    repo = SQLiteRepository(path)
    assert repo.schema_version == SCHEMA_VERSION_SQLITE == 7
    assert repo.get(c.id) == _as_before_recorded_at(c)
    assert repo.get(c.id).deadlines["reply"].service_level == "default"
    assert np.isnat(repo.frame()["start_due_us"]).all()


def test_a_version_5_file_gains_the_location_and_measure_facts(tmp_path: Path) -> None:
    """Version 6 adds the location and measure-count facts; a complaint stored before has neither, and the
    analysis reads its location as its unit's building and its measures as none. Its owner and assignee lookup
    columns are filled from its document."""
    import sqlite3

    path = tmp_path / "v5.sqlite"
    repo = SQLiteRepository(path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="7-0301", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    repo.close()
    as_version_6(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX complaints_unit")
        conn.execute("DROP INDEX complaints_owner")
        for column in ("location", "measures", "owner", "assignee"):
            conn.execute(f"ALTER TABLE complaints DROP COLUMN {column}")
        conn.execute("ALTER TABLE transitions DROP COLUMN recorded_at")
        conn.execute("ALTER TABLE transitions DROP COLUMN hash")
        conn.execute("PRAGMA user_version = 5")
    repo = SQLiteRepository(path)
    try:
        assert repo.schema_version == 7
        assert repo.get(c.id) == _as_before_recorded_at(c)
        desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
        assert [x.id for x in desk.find(owner="o", unit="7-0301")] == [c.id]  # filled from the document
        frame = ComplaintFrame.from_repository(repo)
        assert frame["location"][0] is None
        assert frame.labels["location"][frame.codes["location"][0]] == "7"
        assert frame["measures"][0] == 0
    finally:
        repo.close()


def test_a_register_carries_the_application_id_and_other_files_keep_every_byte(tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    from complaint_engine.storage.sqlite import APPLICATION_ID

    register = tmp_path / "register.sqlite"
    SQLiteRepository(register).close()
    with sqlite3.connect(register) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    # another program's database, which even has a schema version and a table named like ours
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE complaints (x)")
        conn.execute("PRAGMA user_version = 3")
    foreign = tmp_path / "foreign.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("PRAGMA application_id = 1234")
    for path, create, fragment in ((other, False, "holds no complaint register"),
                                   (foreign, False, "another application's database"),
                                   (foreign, True, "another application's database")):
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(StorageError, match=fragment):
            SQLiteRepository(path, create=create)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before  # not a byte changed
        assert not Path(f"{path}-wal").exists()  # nor switched to WAL


def test_a_read_only_open_takes_no_lock_and_writes_nothing(tmp_path: Path) -> None:
    import sqlite3

    from complaint_engine.audit import audit

    path = tmp_path / "register.sqlite"
    repo = SQLiteRepository(path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    busy = sqlite3.connect(path, isolation_level=None)
    busy.execute("BEGIN IMMEDIATE")  # a desk in the middle of a verb holds the write lock
    try:
        reader = SQLiteRepository(path, read_only=True, busy_timeout_ms=200)  # would wait and fail if it locked
        try:
            assert reader.get(c.id) == c
            assert audit(reader) == []
            with pytest.raises(StorageError):
                reader.add(c)  # every write is refused
        finally:
            reader.close()
    finally:
        busy.execute("ROLLBACK")
        busy.close()
        repo.close()


def test_a_correction_made_out_of_band_is_read_afresh_never_served_stale_and_overwritten(tmp_path: Path) -> None:
    """The desk's cache is keyed on the stored row's content, not its version alone (#20 item 4)."""
    import json
    import sqlite3

    from tests.conftest import MANAGER, MONDAY, RECEPTION, TECH

    import complaint_engine as ce
    from complaint_engine.storage import SQLiteRepository

    path = tmp_path / "r.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="typo")
    desk.register(c.id, by=RECEPTION)
    assert desk.get(c.id).summary == "typo"  # cached now
    conn = sqlite3.connect(path, isolation_level=None)  # another program corrects the summary, same version
    doc = json.loads(document_text(conn.execute("SELECT doc FROM complaints WHERE id = ?", (c.id,)).fetchone()[0]))
    doc["summary"] = "corrected"
    conn.execute("UPDATE complaints SET doc = ? WHERE id = ?", (json.dumps(doc, ensure_ascii=False), c.id))
    conn.close()
    assert desk.get(c.id).summary == "corrected"
    desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
    desk.start(c.id, by=MANAGER)
    assert desk.get(c.id).summary == "corrected"  # the next verbs saved on top of the correction
    assert SQLiteRepository(path).get(c.id).summary == "corrected"


def test_desks_on_one_file_take_turns_and_a_wait_ends_at_the_busy_timeout(tmp_path: Path) -> None:
    """A unit of work waiting for another desk's unit (another repository on the file) starts as soon as that one
    ends — it waits in the kernel on the file's turn lock, not in SQLite's growing sleeps — and a wait longer
    than the busy timeout is refused."""
    import threading
    import time

    path = tmp_path / "turns.sqlite"
    repo = SQLiteRepository(path, busy_timeout_ms=2_000)
    other = SQLiteRepository(path, busy_timeout_ms=2_000)
    inside, released = threading.Event(), []

    def other_desk(hold: float) -> None:
        with other.unit_of_work() as unit:
            unit.next_number("other")  # a unit holds the write lock from its first write on
            inside.set()
            time.sleep(hold)  # SQLite's own busy handler sleeps 100 ms at a time by then
            released.append(time.monotonic())

    worker = threading.Thread(target=other_desk, args=(0.35,))
    worker.start()
    inside.wait()
    with repo.unit_of_work() as unit:
        unit.next_number("mine")
        got = time.monotonic()
    worker.join()
    assert got - released[0] < 0.03  # started right after the other unit ended, not after a 100 ms sleep
    inside.clear()
    impatient = SQLiteRepository(path, busy_timeout_ms=150)
    worker = threading.Thread(target=other_desk, args=(1.0,))
    worker.start()
    inside.wait()
    t = time.monotonic()
    with pytest.raises(StorageError, match="locked"), impatient.unit_of_work() as unit:
        unit.next_number("mine")
    assert 0.14 < time.monotonic() - t < 0.9
    worker.join()
    with impatient.unit_of_work() as unit:  # its turn given back: the next unit goes through
        unit.next_number("mine")
    for r in (repo, other, impatient):
        r.close()


def test_a_read_only_store_makes_no_turn_lock_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite"
    SQLiteRepository(path).close()
    for extra in tmp_path.glob("*-turns"):
        extra.unlink()
    reader = SQLiteRepository(path, read_only=True)
    with reader.unit_of_work():
        pass
    reader.find()
    reader.close()
    assert not list(tmp_path.glob("*-turns"))


def _multiplied(path: Path, times: int) -> None:
    """Each complaint row and transition row of a version-6 file copied ``times`` times under new ids, in SQL:
    a register large enough that migrating it takes a while."""
    conn = sqlite3.connect(path, isolation_level=None)
    renamed = {"id": "id || '.' || n.i", "serial": "serial || '.' || n.i", "complaint_id": "complaint_id || '.' || n.i"}
    numbers = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {times}) "
    for table in ("complaints", "transitions"):
        cols = [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")]
        conn.execute(f"{numbers}INSERT INTO {table} ({', '.join(cols)}) "
                     f"SELECT {', '.join(renamed.get(c, c) for c in cols)} FROM {table}, n")
    conn.close()


def test_a_migration_killed_midway_leaves_version_6_whole_and_the_next_open_completes_it(tmp_path: Path) -> None:
    """Version 7 rewrites every document and transition row in one transaction: a SIGKILL in the middle of it
    leaves the file at version 6, every row as it was, and the next open migrates it whole."""
    from tests.conftest import MANAGER, TECH

    path = tmp_path / "v6.sqlite"
    repo = SQLiteRepository(path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    for i in range(4):
        c = desk.receive(by=RECEPTION, owner=f"o{i}", unit="3-1201", channel="phone", category="noise", summary="s")
        desk.dispatch(desk.register(c.id, by=RECEPTION).id, by=RECEPTION, assignee=TECH.id)
        desk.start(c.id, by=MANAGER)
    originals = repo.find()
    repo.close()
    as_version_6(path)
    _multiplied(path, 6_000)

    def snapshot() -> tuple[object, ...]:
        conn = sqlite3.connect(path)
        try:
            return (conn.execute("PRAGMA user_version").fetchone()[0],
                    conn.execute("SELECT count(*), sum(length(doc)) FROM complaints").fetchone(),
                    conn.execute("SELECT count(*), sum(length(at)) FROM transitions").fetchone(),
                    conn.execute("PRAGMA integrity_check").fetchone()[0])
        finally:
            conn.close()

    before = snapshot()
    assert before[0] == 6
    assert before[1][0] == 4 * 6_001
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from complaint_engine.storage import "
                             "SQLiteRepository; SQLiteRepository(sys.argv[1])", str(path)],
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    wal = Path(f"{path}-wal")
    deadline = time.monotonic() + 60
    while (not wal.exists() or wal.stat().st_size < 1_000_000) and proc.poll() is None \
            and time.monotonic() < deadline:  # the migration has written a megabyte of its transaction
        time.sleep(0.005)
    assert proc.poll() is None, "the migration ended before it could be interrupted: make the file larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert snapshot() == before  # version 6, every row as it was
    repo = SQLiteRepository(path)
    try:
        assert repo.schema_version == 7
        assert [repo.get(c.id) for c in originals] == originals  # read back exactly, through the compact rows
        assert repo._conn.execute("SELECT count(*) FROM complaints").fetchone()[0] == before[1][0]
        assert repo._conn.execute("SELECT count(*) FROM transitions").fetchone()[0] == before[2][0]
    finally:
        repo.close()


def test_a_version_6_file_keeps_its_hash_chains_and_digests_through_version_7(tmp_path: Path) -> None:
    """Version 7 stores the same transitions and documents in another form: every link of every hash chain and
    every document digest still holds, so the migrated file audits sound, and it reads back as it was."""
    from tests.conftest import MANAGER, TECH

    path = tmp_path / "v6.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    for i in range(3):
        c = desk.receive(by=RECEPTION, owner=f"o{i}", unit="3-1201", channel="phone", category="noise", summary="s")
        desk.dispatch(desk.register(c.id, by=RECEPTION).id, by=RECEPTION, assignee=TECH.id)
        desk.start(c.id, by=MANAGER)
    before = desk.repository.find()
    desk.repository.close()
    as_version_6(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM transitions WHERE hash LIKE '%:%'").fetchone()[0] == 12  # hex links
    conn.close()
    repo = SQLiteRepository(path)
    try:
        assert repo.schema_version == 7
        assert repo.find() == before
        assert [t.hash for c in repo.find() for t in c.history] == [t.hash for c in before for t in c.history]
        assert audit(repo) == []
        assert repo._conn.execute("SELECT count(*) FROM transitions WHERE length(hash) = 64").fetchone()[0] == 12
    finally:
        repo.close()


def test_a_verb_whose_complaint_another_desk_saved_meanwhile_runs_again_from_a_fresh_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SQLite unit reads before it takes the write lock: another desk may save the complaint between this
    desk's read and its save. The save is refused (its version moved on), nothing of the unit lands, and the desk
    runs the verb again on what the other desk saved — both steps are in the history, in order."""
    import complaint_engine.usecases as usecases

    path = tmp_path / "race.sqlite"
    one = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    other = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    c = one.register(one.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise",
                                 summary="s").id, by=RECEPTION)
    decided = usecases.step
    races = []

    def step_while_another_desk_saves(complaint: ce.Complaint, *args: object, **kwargs: object) -> object:
        if not races:  # between this desk's read and its save, once
            races.append(complaint.id)
            other.add_evidence(c.id, by=RECEPTION, reference="file://photo-1", kind="photo")
        return decided(complaint, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(usecases, "step", step_while_another_desk_saves)
    dispatched = one.dispatch(c.id, by=RECEPTION)
    assert dispatched is not None
    stored = SQLiteRepository(path).get(c.id)
    assert [t.event for t in stored.history] == ["receive", "register", "add_evidence", "dispatch"]
    assert stored.version == 4
    assert audit(SQLiteRepository(path)) == []


@pytest.mark.parametrize("read", [
    lambda u: u.cursor("closed-year/A/2024"),
    lambda u: u.current_number("complaint/A/2024"),
    lambda u: u.claim_overdue(MONDAY),
], ids=["a closed year's mark", "a sequence's number", "the sweep's claim"])
def test_a_read_that_decides_another_rows_fate_holds_the_write_lock(tmp_path: Path,
                                                                    read: Callable[[Any], object]) -> None:
    """A unit reads outside the lock until its first write — except the reads that guard the register across rows:
    closing a year and an entry dated in it, two sweeps, must never pass each other."""
    path = tmp_path / "lock.sqlite"
    repo = SQLiteRepository(path)
    other = sqlite3.connect(path, isolation_level=None, timeout=0.05)
    with repo.unit_of_work() as unit:
        other.execute("BEGIN IMMEDIATE")  # nothing read yet: the lock is free
        other.execute("ROLLBACK")
        read(unit)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.close()
    repo.close()


def test_a_frame_read_while_another_desk_enters_a_new_name_gives_its_text(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A direct frame() reads outside a snapshot: another desk may enter a text the store never held (a category,
    an urgency) just before the rows are read. The names are read after the rows, so every code read has its
    text."""
    from complaint_engine.storage.sql.unit import SQLUnit

    path = tmp_path / "names.sqlite"
    repo = SQLiteRepository(path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    other = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="s")
    streamed = SQLUnit._streamed

    def rows_after_another_desk(self: SQLUnit, statement: str, args: Any = ()) -> Any:
        other.receive(by=RECEPTION, owner="p", unit="3-1202", channel="visit", category="repair", summary="s")
        return streamed(self, statement, args)

    monkeypatch.setattr(SQLUnit, "_streamed", rows_after_another_desk)
    frame = repo.frame()
    assert sorted(frame["category"]) == ["noise", "repair"]
    assert sorted(frame["channel"]) == ["phone", "visit"]
    assert sorted(map(str, frame["urgency"])) == ["None", "minor"]
