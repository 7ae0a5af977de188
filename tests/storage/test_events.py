"""The outbox on every backend: events recorded with their change, read in position order, subscriptions that
resume, hooks after commit."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CALLBACK, MANAGER, MONDAY, RECEPTION, TECH
from tests.storage.conftest import BACKENDS, PG_DSN, make_repository

import complaint_engine as ce
from complaint_engine.events import KINDS


def desk_on(repo: Any) -> tuple[ce.ComplaintDesk, ce.FixedClock]:
    clock = ce.FixedClock(MONDAY)
    return ce.ComplaintDesk(repository=repo, clock=clock), clock


def received(desk: ce.ComplaintDesk, **kw: Any) -> ce.Complaint:
    args = {"owner": "陳大文", "unit": "7-0909", "channel": "phone", "category": "noise", "summary": "13800000000"}
    return desk.receive(by=RECEPTION, **{**args, **kw})


def test_each_verb_records_its_kind_with_what_changed_and_no_personal_data(repo: Any) -> None:
    desk, clock = desk_on(repo)
    c = received(desk, category="repair")
    desk.register(c.id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
    clock.advance(minutes=20)  # the arrival clock (10 minutes) runs out before the technician arrives
    desk.record_arrival(c.id, by=TECH)
    desk.resolve(c.id, by=MANAGER, result="replaced the washer at 7-0909")
    desk.reply(c.id, by=RECEPTION)
    desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied", opinion="陳大文 is happy")
    desk.close(c.id, by=CALLBACK)
    events = desk.events()
    assert [e.kind for e in events] == [
        "complaint.received", "complaint.registered", "complaint.dispatched", "complaint.arrival_recorded",
        "deadline.breached", "complaint.resolved", "complaint.replied", "complaint.callback_recorded",
        "complaint.closed"]
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    registered, dispatched, breached = events[1], events[2], events[4]
    assert registered.serial == registered.data["serial"] == "A-2024-00001"
    assert (dispatched.data["department"], dispatched.data["assignee"]) == ("engineering", TECH.id)
    assert (breached.data["clock"], breached.data["department"], breached.data["person"]) == ("arrival",
                                                                                             "engineering", TECH.id)
    assert events[7].data == {"source": "replied", "target": "called_back", "method": "phone", "reached": True,
                              "satisfaction": "satisfied"}
    assert all(e.office == "A" and e.complaint_id == c.id for e in events)
    text = repr(events)
    for secret in ("陳大文", "7-0909", "13800000000", "washer"):
        assert secret not in text


def test_a_refused_verb_records_nothing(repo: Any) -> None:
    desk, _ = desk_on(repo)
    c = received(desk)
    with pytest.raises(ce.InvalidTransition):
        desk.close(c.id, by=CALLBACK)
    with pytest.raises(ce.PermissionDenied):
        desk.register(c.id, by=MANAGER)
    assert [e.kind for e in desk.events()] == ["complaint.received"]


def test_reading_filters_by_position_office_and_kind(repo: Any) -> None:
    desk, _ = desk_on(repo)
    a = received(desk)
    other = ce.Actor("duty-ma", ce.Role.RECEPTION, "B")
    desk.receive(by=other, owner="o", unit="u", channel="phone", category="noise", summary="s")
    desk.register(a.id, by=RECEPTION)
    assert [e.position for e in desk.events(after=1)] == [2, 3]
    assert [e.office for e in desk.events(office="B")] == ["B"]
    assert [e.kind for e in desk.events(kinds=["complaint.registered"])] == ["complaint.registered"]
    assert [e.position for e in desk.events(limit=2)] == [1, 2]


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda d: d.events(after=-1), "after -1"),
    (lambda d: d.events(after="3"), "after '3'"),
    (lambda d: d.events(kinds=["complaint.exploded"]), "event kind 'complaint.exploded'"),
    (lambda d: d.events(limit=0), "limit 0"),
    (lambda d: d.subscribe(""), "subscription name ''"),
    (lambda d: d.subscribe("x" * 201), "subscription name"),
    (lambda d: d.on("complaint.exploded", print), "event kind"),
])
def test_bad_reads_are_refused_naming_the_value(call: Any, fragment: str) -> None:
    desk, _ = desk_on(None)
    with pytest.raises(ce.ValidationError, match=fragment):
        call(desk)


def test_every_kind_is_documented() -> None:
    table = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind}`" in table, kind


def test_a_subscription_starts_at_the_beginning_and_resumes_from_its_acknowledged_position(kind: str,
                                                                                           tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    desk, _ = desk_on(repo)
    c = received(desk)
    desk.register(c.id, by=RECEPTION)
    sub = desk.subscribe("sms")
    first = sub.poll()
    assert [e.kind for e in first] == ["complaint.received", "complaint.registered"]
    sub.ack(first[0].position)
    assert desk.subscribe("audit-feed").poll()[0].position == 1  # subscribers are independent
    if kind != "memory":  # a restart: a new repository on the same store
        repo.close()
        repo = type(repo)(str(PG_DSN)) if kind.startswith("postgres") else type(repo)(repo.path)
        desk, _ = desk_on(repo)
    sub = desk.subscribe("sms")
    assert [e.position for e in sub.poll()] == [2]
    sub.ack(2)
    sub.ack(1)  # an older acknowledgement never moves the cursor back
    assert sub.poll() == []
    assert sub.position == 2
    repo.close()


test_a_subscription_starts_at_the_beginning_and_resumes_from_its_acknowledged_position = pytest.mark.parametrize(
    "kind", [k for k in BACKENDS if k != "postgres-begin-alone"])(
    test_a_subscription_starts_at_the_beginning_and_resumes_from_its_acknowledged_position)


def test_hooks_run_after_commit_and_a_failing_one_does_not_undo_the_verb() -> None:
    desk, _ = desk_on(None)
    seen: list[str] = []
    desk.on("complaint.registered", lambda e: seen.append(e.serial or ""))
    desk.on("*", lambda e: seen.append(e.kind))

    def broken(_: Any) -> None:
        raise RuntimeError("SMS gateway down")

    desk.on("complaint.received", broken)
    with pytest.warns(ce.outbox.HookFailed, match="SMS gateway down"):
        c = received(desk)
    assert desk.get(c.id).status is ce.Status.RECEIVED  # the verb stands
    desk.register(c.id, by=RECEPTION)
    assert seen == ["complaint.received", "A-2024-00001", "complaint.registered"]
    assert [str(exc) for _, exc in desk.hooks.failures] == ["SMS gateway down"]
    with pytest.raises(ce.InvalidTransition):
        desk.register(c.id, by=RECEPTION)
    assert seen[-1] == "complaint.registered"  # a refused verb calls no hook


@pytest.mark.skipif(PG_DSN is None, reason="needs a PostgreSQL server (COMPLAINT_ENGINE_PG_DSN)")
def test_a_late_commit_never_lets_a_reader_skip_an_event(tmp_path: Path) -> None:
    """Another writer takes a position and commits late (here: a second held open); a desk's verb meanwhile must
    wait for it, so that a reader who has seen the verb's event never sees an earlier position appear later.
    Without the outbox's lock the verb commits position 2 first and the reader, having seen 2, misses 1."""
    import psycopg

    from complaint_engine.storage.postgres import outbox_statements
    from complaint_engine.storage.schema import event_row

    repo: Any = make_repository("postgres", tmp_path)
    desk, _ = desk_on(repo)
    c = received(desk)  # position 1
    slow_event = desk.events()[0]
    held = threading.Event()

    def late_writer() -> None:
        with psycopg.connect(str(PG_DSN), autocommit=False) as conn:
            # another writer of the engine in progress: its statement took the outbox's lock, then position 2;
            # the verb's statement waits for that lock (an insert that did not take it would not be waited for)
            [(statement, args)] = outbox_statements([event_row(slow_event)])
            conn.execute(statement.replace("?", "%s"), args)
            held.set()
            time.sleep(1.0)
            conn.commit()

    writer = threading.Thread(target=late_writer)
    writer.start()
    assert held.wait(5)
    seen: list[int] = []
    reader_done = threading.Event()

    def reader() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(seen) < 3:
            for e in desk.events(after=max(seen, default=0)):
                seen.append(e.position)
            time.sleep(0.02)
        reader_done.set()

    watching = threading.Thread(target=reader)
    watching.start()
    other = type(repo)(str(PG_DSN))
    try:
        ce.ComplaintDesk(repository=other, clock=ce.FixedClock(MONDAY)).register(c.id, by=RECEPTION)  # position 3
    finally:
        other.close()
    writer.join(5)
    watching.join(6)
    assert seen == [1, 2, 3]  # in order, none skipped
    repo.close()


# --- warnings before a breach -----------------------------------------------------------------------------------
WARNED = {"warn_at": ["80%"], "warn_at_by_clock": {"reply": ["1 hours"]},
          "service_levels": [{"name": "fees", "when": {"category": "fees"}, "warn_at": ["50%"]}]}


def test_the_sweep_warns_once_per_threshold_before_a_breach_on_every_backend(repo: Any) -> None:
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(policy=ce.Policy.from_dict(WARNED), repository=repo, clock=clock)
    c = desk.register(received(desk, category="repair").id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)  # arrival: 10 minutes, warned at 8
    clock.advance(minutes=7)
    desk.sweep()
    assert not desk.events(kinds=["deadline.warning"])
    clock.advance(minutes=2)
    desk.sweep()
    desk.sweep()  # a second sweep tells nothing new
    [warning] = desk.events(kinds=["deadline.warning"])
    assert (warning.data["clock"], warning.data["threshold"], warning.data["person"]) == ("arrival", "80%", TECH.id)
    assert repo.get(c.id).deadlines["arrival"].warned == ("80%",)
    clock.advance(minutes=2)
    desk.sweep()
    assert [e.data["clock"] for e in desk.events(kinds=["deadline.breached"])] == ["arrival"]
    assert len(desk.events(kinds=["deadline.warning"])) == 1  # a clock past due is breached, not warned


def test_thresholds_come_from_the_level_then_the_clock_then_the_policy() -> None:
    policy = ce.Policy.from_dict(WARNED)
    subject = ce.levels.Subject("A", "noise", ce.Severity.NORMAL, None, ce.Channel.PHONE)
    fees = ce.levels.Subject("A", "fees", ce.Severity.NORMAL, None, ce.Channel.PHONE)
    assert [t.text for t in policy.thresholds_for("arrival", subject)] == ["80%"]
    assert [t.text for t in policy.thresholds_for("reply", subject)] == ["1 hours"]
    assert [t.text for t in policy.thresholds_for("reply", fees)] == ["50%"]
    assert ce.Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(("setting", "path"), [
    ({"warn_at": ["100%"]}, "$.warn_at[0]"),
    ({"warn_at": ["0%"]}, "$.warn_at[0]"),
    ({"warn_at": ["soon"]}, "$.warn_at[0]"),
    ({"warn_at_by_clock": {"arrival": ["5 parsecs"]}}, "$.warn_at_by_clock.arrival[0]"),
    ({"warn_at_by_clock": {"lunch": ["5 minutes"]}}, "$.warn_at_by_clock.lunch"),
    ({"service_levels": [{"name": "x", "warn_at": ["150%"]}]}, "$.service_levels[0].warn_at[0]"),
])
def test_a_warning_threshold_that_does_not_parse_is_refused_by_path(setting: dict[str, Any], path: str) -> None:
    with pytest.raises(ce.PolicyError) as err:
        ce.Policy.from_dict(setting)
    assert path in dict(err.value.problems), err.value.problems


@pytest.mark.skipif(PG_DSN is None, reason="needs a PostgreSQL server (COMPLAINT_ENGINE_PG_DSN)")
def test_two_concurrent_sweeps_tell_each_warning_and_breach_exactly_once(tmp_path: Path) -> None:
    repo: Any = make_repository("postgres", tmp_path)
    clock = ce.FixedClock(MONDAY)
    policy = ce.Policy.from_dict({"warn_at_by_clock": {"reply": ["50%"]}})
    desk = ce.ComplaintDesk(policy=policy, repository=repo, clock=clock)
    ids = [desk.register(received(desk).id, by=RECEPTION).id for _ in range(30)]
    clock.set(MONDAY + dt.timedelta(hours=40))  # past half of every reply clock (63 hours: due Thursday 00:00)
    workers = [ce.ComplaintDesk(policy=policy, repository=type(repo)(str(PG_DSN)), clock=clock) for _ in range(2)]
    start = threading.Barrier(2)

    def sweep(worker: ce.ComplaintDesk) -> None:
        start.wait()
        worker.sweep()

    threads = [threading.Thread(target=sweep, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    warnings = desk.events(kinds=["deadline.warning"])
    assert sorted(e.complaint_id or "" for e in warnings) == sorted(ids)  # each once
    clock.set(dt.datetime(2024, 6, 7, 9, tzinfo=MONDAY.tzinfo))
    threads = [threading.Thread(target=sweep, args=(w,)) for w in workers]
    start.reset()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(e.complaint_id or "" for e in desk.events(kinds=["deadline.breached"])) == sorted(ids)
    for w in workers:
        w.repository.close()
    repo.close()


@pytest.mark.parametrize("kind", BACKENDS[:3] if len(BACKENDS) > 2 else BACKENDS)
def test_a_subscription_waits_for_the_next_event(kind: str, tmp_path: Path) -> None:
    """On PostgreSQL the wait is woken by the commit's notification; elsewhere it polls."""
    repo: Any = make_repository(kind, tmp_path)
    desk, _ = desk_on(repo)
    c = received(desk)
    sub = desk.subscribe("waiter")
    sub.ack(sub.poll()[-1].position)
    assert sub.wait(0.2) == []  # nothing new: it waits the time given, no more
    writer = threading.Timer(0.3, lambda: desk.register(c.id, by=RECEPTION))
    started = time.monotonic()
    writer.start()
    found = sub.wait(10)
    writer.join()
    assert [e.kind for e in found] == ["complaint.registered"]
    assert time.monotonic() - started < 5
    repo.close()


def test_a_sweep_in_small_batches_records_every_breach_once(repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch is its own short unit of work (a desk's verb waits for one batch at most)."""
    import complaint_engine.sweep as sweeping

    monkeypatch.setattr(sweeping, "BATCH", 2)
    units = 0
    opened = repo.unit_of_work

    def counted() -> Any:
        nonlocal units
        units += 1
        return opened()

    desk, clock = desk_on(repo)
    ids = [desk.register(received(desk).id, by=RECEPTION).id for _ in range(5)]
    clock.set(dt.datetime(2024, 6, 7, 9, tzinfo=MONDAY.tzinfo))
    monkeypatch.setattr(repo, "unit_of_work", counted)
    assert sorted(i.complaint_id for i in desk.sweep()) == sorted(ids)
    assert units == 3
    assert sorted(e.complaint_id or "" for e in desk.events(kinds=["deadline.breached"])) == sorted(ids)


def test_the_sweep_tells_once_that_a_capa_action_passed_its_due(repo: Any) -> None:
    desk, clock = desk_on(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    capa = desk.open_capa(by=MANAGER, complaint_ids=[c.id], problem="recurring noise")
    desk.plan_capa(capa.number, by=MANAGER, cause="no quiet-hours rule",
                   actions=[("post the rule", MONDAY + dt.timedelta(days=2)),
                            ("fit door closers", MONDAY + dt.timedelta(days=20))])
    clock.set(MONDAY + dt.timedelta(days=3))
    desk.sweep()
    desk.sweep()
    [late] = desk.events(kinds=["capa.action_overdue"])
    assert (late.number, late.data["action"]) == (capa.number, 0)
    assert [a.overdue_told for a in repo.get_capa(capa.number).actions] == [True, False]


PG_WRITER = """
import sys, datetime as dt
from zoneinfo import ZoneInfo
import complaint_engine as ce
from complaint_engine.storage.postgres import PostgresRepository
repo = PostgresRepository(sys.argv[1])
start = dt.datetime(2024, 6, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(start))
actor = ce.Actor("duty", ce.Role.RECEPTION, "A")
n = 0
while True:
    c = desk.receive(by=actor, owner="o", unit="u", channel="phone", category="noise", summary="s")
    desk.register(c.id, by=actor)
    n += 1
    if n == 20:
        print("ready", flush=True)
"""


@pytest.mark.skipif(PG_DSN is None, reason="needs a PostgreSQL server (COMPLAINT_ENGINE_PG_DSN)")
def test_a_writer_killed_mid_stream_leaves_no_event_without_its_change_on_postgres(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    repo: Any = make_repository("postgres", tmp_path)  # an empty database
    repo.close()
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", PG_WRITER, str(PG_DSN)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(root / "src")})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # the server notices the closed connection and rolls its open transaction back
    repo = type(repo)(str(PG_DSN))
    stored = repo.find()
    events = repo.events(0, limit=1_000_000)
    assert len(stored) >= 20
    positions = [e.position for e in events]
    assert positions == sorted(set(positions))  # strictly increasing (a sequence may skip a rolled-back value)
    by_complaint: dict[str, list[str]] = {}
    for e in events:
        by_complaint.setdefault(e.complaint_id or "", []).append(e.kind)
    names = {"receive": "complaint.received", "register": "complaint.registered"}
    assert by_complaint == {c.id: [names[t.event] for t in c.history] for c in stored}
    repo.close()
