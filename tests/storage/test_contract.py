"""The repository contract, run unchanged against every backend. A backend is done when it passes."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import CALLBACK, MANAGER, MONDAY, OTHER_OFFICE, RECEPTION, at
from tests.storage.conftest import BACKENDS, make_repository
from tests.strategies import complaints

import complaint_engine as ce
from complaint_engine import commands as C
from complaint_engine.errors import StorageError
from complaint_engine.model import replace
from complaint_engine.storage import InMemoryRepository


def new_desk(repo: Any, start: dt.datetime = MONDAY) -> tuple[ce.ComplaintDesk, ce.FixedClock]:
    clock = ce.FixedClock(start)
    return ce.ComplaintDesk(repository=repo, clock=clock), clock


def received(desk: ce.ComplaintDesk, actor: ce.Actor = RECEPTION, **kw: Any) -> ce.Complaint:
    args = {"owner": "陳先生", "unit": "3-1201", "channel": "phone", "category": "noise", "summary": "s"}
    args.update(kw)
    return desk.receive(by=actor, **args)


@pytest.mark.parametrize("kind", BACKENDS)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(c=complaints())
def test_get_returns_exactly_what_was_added(kind: str, tmp_path: Path, c: ce.Complaint) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        assert repo.get(repo.add(c).id) == c
    finally:
        repo.close()


def test_save_bumps_the_version_and_a_stale_copy_is_refused(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = received(desk)
    stale = repo.get(c.id)
    first = repo.save(replace(stale, {"summary": "first"}))
    assert first.version == stale.version + 1
    with pytest.raises(ce.ConcurrencyError) as err:
        repo.save(replace(stale, {"summary": "second"}))
    assert (err.value.expected, err.value.actual) == (stale.version, stale.version + 1)
    assert repo.get(c.id).summary == "first"  # nothing lost


def test_saving_an_unknown_complaint_is_not_found(repo: Any) -> None:
    desk, _ = new_desk(InMemoryRepository())
    with pytest.raises(ce.NotFound):
        repo.save(received(desk))


def test_adding_an_existing_id_is_refused(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = received(desk)
    with pytest.raises(ce.ValidationError, match=c.id):
        repo.add(c)


def test_get_of_an_unknown_id_is_not_found(repo: Any) -> None:
    with pytest.raises(ce.NotFound, match="no complaint 'nope'"):
        repo.get("nope")


def test_find_filters_by_office_status_and_due_instant(repo: Any) -> None:
    desk, clock = new_desk(repo)
    a = desk.register(received(desk).id, by=RECEPTION)  # reply due Thu 6 June 00:00
    clock.advance(days=2)
    b = desk.register(received(desk).id, by=RECEPTION)  # due Sat 8 June → Mon 10 is a holiday → Wed 12 June
    other = received(desk, OTHER_OFFICE)
    assert [c.id for c in repo.find(office="A")] == [a.id, b.id]
    assert [c.id for c in repo.find(office="B")] == [other.id]
    assert repo.offices() == ["A", "B"]
    assert [c.id for c in repo.find(status=ce.Status.RECEIVED)] == [other.id]
    assert [c.id for c in repo.find(due_before=at(2024, 6, 7))] == [a.id]
    assert [c.id for c in repo.find(due_before=at(2024, 6, 13), office="A")] == [a.id, b.id]
    assert repo.find(due_before=at(2024, 6, 5)) == []


def test_find_filters_by_the_instant_of_receipt(repo: Any) -> None:
    desk, clock = new_desk(repo)
    first = received(desk)  # Monday 09:00
    clock.advance(days=1)
    second = received(desk)  # Tuesday 09:00
    clock.advance(minutes=1)
    other = received(desk, OTHER_OFFICE)
    clock.advance(days=1)
    third = desk.register(received(desk).id, by=RECEPTION)  # Wednesday 09:00
    tuesday, wednesday = at(2024, 6, 4), at(2024, 6, 5)
    assert [c.id for c in repo.find(received_from=tuesday)] == [second.id, other.id, third.id]
    assert [c.id for c in repo.find(received_before=tuesday)] == [first.id]
    assert [c.id for c in repo.find(received_from=tuesday, received_before=wednesday, office="A")] == [second.id]
    assert [c.id for c in repo.find(received_from=second.received_at, received_before=third.received_at)] == \
        [second.id, other.id]  # from included, before excluded
    assert [c.id for c in repo.find(received_from=tuesday, status=ce.Status.REGISTERED)] == [third.id]
    utc = dt.datetime(2024, 6, 4, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 in Shanghai, included
    assert [c.id for c in repo.find(received_from=utc)] == [second.id, other.id, third.id]


@pytest.mark.parametrize("name", ["due_before", "received_from", "received_before"])
def test_find_refuses_a_naive_instant_naming_it(repo: Any, name: str) -> None:
    with pytest.raises(ce.ValidationError, match=f"{name}.*timezone-aware"):
        repo.find(**{name: dt.datetime(2024, 6, 4)})


def test_find_ignores_met_and_paused_clocks(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    desk.start(c.id, by=MANAGER)
    desk.pause(c.id, by=MANAGER, reason="waiting for the owner")
    assert repo.find(due_before=at(2030, 1, 1)) == []


def test_an_office_sweeps_only_its_own_overdue_complaints(repo: Any) -> None:
    desk, clock = new_desk(repo)
    mine = desk.register(received(desk).id, by=RECEPTION)  # reply due Thu 6 June 00:00
    theirs = desk.register(received(desk, OTHER_OFFICE).id, by=OTHER_OFFICE)
    late = at(2024, 6, 7)
    assert repo.due_ids(late, office="B") == [theirs.id]
    assert sorted(repo.due_ids(late)) == sorted([mine.id, theirs.id])
    clock.set(late)
    assert [(i.complaint_id, i.clock) for i in desk.sweep(office="A")] == [(mine.id, "reply")]
    assert repo.get(mine.id).deadlines["reply"].breached
    assert not repo.get(theirs.id).deadlines["reply"].breached  # the other office's sweep records it
    assert [i.complaint_id for i in desk.sweep(office="B")] == [theirs.id]
    assert repo.get(theirs.id).history[-1].actor == ce.Actor("sla-monitor", ce.Role.SYSTEM, "B")


def test_serials_are_sequential_and_a_rolled_back_unit_returns_its_number(repo: Any) -> None:
    assert [repo.next_number("complaint:A:2024") for _ in range(3)] == [1, 2, 3]
    with repo.unit_of_work() as uow:
        assert uow.next_number("complaint:A:2024") == 4
        # no commit: rolled back
    assert repo.next_number("complaint:A:2024") == 4
    assert repo.next_number("complaint:B:2024") == 1


def test_a_unit_of_work_rolls_back_unless_committed(repo: Any) -> None:
    desk, _ = new_desk(InMemoryRepository())
    c = received(desk)
    with repo.unit_of_work() as uow:
        uow.add(c)
        assert uow.get(c.id) == c  # visible inside
    with pytest.raises(ce.NotFound):
        repo.get(c.id)
    with repo.unit_of_work() as uow:
        uow.add(c)
        uow.commit()
    assert repo.get(c.id) == c


def test_a_unit_of_work_rolls_back_on_an_exception(repo: Any) -> None:
    desk, _ = new_desk(InMemoryRepository())
    c = received(desk)
    def crash() -> None:
        with repo.unit_of_work() as uow:
            uow.add(c)
            uow.next_number("complaint:A:2024")
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash()
    with pytest.raises(ce.NotFound):
        repo.get(c.id)
    assert repo.next_number("complaint:A:2024") == 1


def test_the_whole_procedure_runs_on_the_backend(repo: Any) -> None:
    desk, clock = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    desk.start(c.id, by=MANAGER)
    desk.flag(c.id, by=MANAGER, needs_capa=True, widespread=True)
    capa = desk.open_capa(by=MANAGER, complaint_ids=[c.id], problem="recurring noise")
    ann = desk.announce(by=RECEPTION, complaint_ids=[c.id], channel="community_platform", text="quiet hours")
    desk.resolve(c.id, by=MANAGER, result="fixed")
    desk.reply(c.id, by=RECEPTION)
    clock.advance(days=1)
    desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied")
    closed = desk.close(c.id, by=CALLBACK)
    assert repo.get(c.id) == closed
    assert closed.notice is not None
    assert closed.notice.capa_numbers == (capa.number,)
    assert repo.get_capa(capa.number) == capa
    assert repo.find_capas(office="A") == [capa]
    assert repo.find_announcements(office="A") == [ann]
    assert repo.find_capas(office="B") == []


def test_a_refused_verb_leaves_the_backend_unchanged(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = received(desk)
    with pytest.raises(ce.PermissionDenied):
        desk.register(c.id, by=MANAGER)
    assert repo.get(c.id) == c
    assert desk.register(c.id, by=RECEPTION).serial == "A-2024-00001"


def test_capa_versions_are_checked(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    capa = desk.open_capa(by=MANAGER, complaint_ids=[c.id], problem="p")
    desk.plan_capa(capa.number, by=MANAGER, cause="c", actions=[("a", MONDAY + dt.timedelta(days=3))])
    with pytest.raises(ce.ConcurrencyError):
        repo.save_capa(capa)
    with pytest.raises(ce.NotFound):
        repo.get_capa("CAPA-X")


def test_a_capa_or_announcement_number_already_stored_is_refused_and_nothing_changes(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    desk.flag(c.id, by=MANAGER, widespread=True)
    capa = desk.open_capa(by=MANAGER, complaint_ids=[c.id], problem="recurring noise")
    ann = desk.announce(by=RECEPTION, complaint_ids=[c.id], channel="community_platform", text="quiet hours")
    with pytest.raises(ce.ValidationError, match=rf"CAPA number.*{capa.number}"):
        repo.add_capa(attrs.evolve(capa, problem="another problem"))
    with pytest.raises(ce.ValidationError, match=rf"announcement number.*{ann.number}"):
        repo.add_announcement(attrs.evolve(ann, text="another text"))
    second = attrs.evolve(capa, number="CAPA-A-2024-0002", problem="another problem")
    with repo.unit_of_work() as uow:  # inside a unit too; the refusal changes nothing, and the unit's other
        uow.add_capa(second)          # work still commits (a server must not quietly roll the unit back)
        with pytest.raises(ce.ValidationError, match="CAPA number"):
            uow.add_capa(attrs.evolve(capa, problem="another problem"))
        with pytest.raises(ce.ValidationError, match="announcement number"):
            uow.add_announcement(attrs.evolve(ann, text="another text"))
        with pytest.raises(ce.ValidationError, match=c.id):
            uow.add(c)
        with pytest.raises(ce.ValidationError):  # a batch with one stored id: none of it, the unit goes on
            uow.add_many([replace(c, {"id": "fresh", "serial": None}), c])
        uow.commit()
    assert repo.find_capas() == [capa, second]
    assert repo.find_announcements() == [ann]
    assert [x.id for x in repo.find()] == [c.id]
    assert repo.get(c.id) == desk.get(c.id)


def test_a_serial_another_complaint_holds_is_refused_and_the_unit_goes_on(repo: Any) -> None:
    """Serials are unique (P-6.1.3): a complaint added or saved with another's serial is refused naming it,
    and the refusal changes nothing — the unit of work it happened in still commits its other work."""
    desk, clock = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    clock.advance(minutes=1)
    other = received(desk)
    with pytest.raises(ce.ValidationError, match=r"complaint serial.*A-2024-00001"):
        repo.add(replace(c, {"id": "another"}))
    with pytest.raises(ce.ValidationError, match=r"complaint serial.*A-2024-00001"):
        repo.save(replace(other, {"serial": c.serial}))
    with pytest.raises(ce.ValidationError, match=r"complaint serial.*A-2024-00001"):
        repo.add_many([replace(c, {"id": "x1", "serial": "A-2024-00009"}), replace(c, {"id": "x2"})])
    with repo.unit_of_work() as uow:
        with pytest.raises(ce.ValidationError, match=r"complaint serial"):
            uow.save(replace(other, {"serial": c.serial}))
        uow.save(replace(other, {"summary": "the unit goes on"}))
        uow.commit()
    assert repo.get(other.id).summary == "the unit goes on"
    assert repo.get(other.id).serial is None
    assert [x.id for x in repo.find()] == [c.id, other.id]
    assert desk.register(other.id, by=RECEPTION).serial == "A-2024-00002"


def test_a_save_that_moves_a_complaint_to_another_office_is_refused_and_changes_nothing(repo: Any) -> None:
    """A complaint belongs to the office that received it: its serial and every office query depend on it, so a
    save naming another office is refused naming both, whether or not the unit already read the row."""
    desk, _ = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    moved = replace(c, {"office": OTHER_OFFICE.office})
    with pytest.raises(ce.ValidationError, match=rf"complaint office '{OTHER_OFFICE.office}'.*'A'.*{c.id}"):
        repo.save(moved)
    with repo.unit_of_work() as uow:
        uow.get(c.id)  # the unit holds the stored row: refused before any statement
        with pytest.raises(ce.ValidationError, match="complaint office"):
            uow.save(moved)
        uow.save(replace(c, {"summary": "the unit goes on"}))
        uow.commit()
    assert repo.get(c.id).office == "A"
    assert [x.id for x in repo.find(office="A")] == [c.id]
    assert repo.find(office=OTHER_OFFICE.office) == []


def test_frame_reads_the_fact_columns_of_a_period_and_office(repo: Any) -> None:
    desk, clock = new_desk(repo, start=at(2024, 6, 30, 23, 30))
    june = desk.register(received(desk).id, by=RECEPTION)
    clock.advance(hours=1)  # 00:30 on 1 July, Shanghai: the second half-year
    july = desk.register(received(desk, category="repair", urgency="emergency").id, by=RECEPTION)
    received(desk, OTHER_OFFICE)
    h1 = repo.frame(period="2024H1", office="A")
    assert list(h1["id"]) == [june.id]
    h2 = repo.frame(period="2024H2", office="A")
    assert list(h2["serial"]) == [july.serial]
    assert list(h2["category"]) == ["repair"]
    assert h2["received_us"][0] == np.datetime64("2024-06-30T16:30:00", "us")
    assert h2["repair_due_us"][0] == np.datetime64("2024-07-01T16:00:00", "us")  # local midnight, in UTC
    assert np.isnat(h2["closed_us"][0])
    assert len(repo.frame()["id"]) == 3
    assert len(repo.frame(office="B", period="2024")["id"]) == 1


def test_frame_is_the_same_on_every_backend(repo: Any) -> None:
    from complaint_engine.demo import run_scripted_day

    source = run_scripted_day()
    for c in source.find():
        repo.add(c)
    expected = source.repository.frame(period="2024", office="A")  # type: ignore[attr-defined]
    got = repo.frame(period="2024", office="A")
    assert set(got) == set(expected)
    for name, column in expected.items():
        np.testing.assert_array_equal(got[name], column, err_msg=name)  # NaT equals NaT here


def test_a_frame_read_a_few_rows_at_a_time_is_the_same(repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """frame() converts the rows in chunks and keeps each distinct code once: chunks of 2 rows give the same
    columns, and a code column holds one object per distinct value."""
    from complaint_engine import facts
    from complaint_engine.demo import run_scripted_day

    source = run_scripted_day()
    for c in source.find():
        repo.add(c)
    expected = source.repository.frame(period="2024")  # type: ignore[attr-defined]
    monkeypatch.setattr(facts, "CHUNK", 2)
    got = repo.frame(period="2024")
    for name, column in expected.items():
        np.testing.assert_array_equal(got[name], column, err_msg=name)
    if len(got["category"]) > 2:
        assert len({id(v) for v in got["category"]}) == len(set(got["category"]))


def test_a_rolled_back_save_is_not_seen_afterwards(repo: Any) -> None:
    desk, _ = new_desk(repo)
    c = received(desk)
    repo.get(c.id)  # read once (a store may keep it)
    with repo.unit_of_work() as uow:
        uow.save(replace(uow.get(c.id), {"summary": "never committed"}))
    assert repo.get(c.id) == c
    assert repo.save(replace(c, {"summary": "committed"})).summary == "committed"
    assert repo.get(c.id).summary == "committed"


def test_find_returns_every_history_whole_across_many_complaints(repo: Any) -> None:
    """Histories are read in chunks of ids (``IN (…)``); more complaints than a chunk must all come back whole."""
    desk, _ = new_desk(repo)
    first = desk.register(received(desk).id, by=RECEPTION)
    desk.dispatch(first.id, by=RECEPTION)
    base = desk.get(first.id)
    many = [replace(base, {"id": f"bulk-{i:05d}", "serial": f"A-2024-9{i:04d}", "document_number": None,
                           "received_at": base.received_at + dt.timedelta(seconds=i)}) for i in range(1, 1201)]
    repo.add_many(many)
    found = repo.find()
    assert len(found) == 1201
    assert found[1:] == many
    assert all(len(c.history) == len(base.history) for c in found)


def test_add_many_with_a_repeated_or_stored_id_adds_nothing(repo: Any) -> None:
    desk, _ = new_desk(repo)
    stored = received(desk)
    fresh = replace(stored, {"id": "fresh-1"})
    for batch in ([fresh, replace(stored, {"id": "fresh-2"}), stored], [fresh, fresh]):
        with pytest.raises(ce.ValidationError):
            repo.add_many(batch)
        assert [c.id for c in repo.find()] == [stored.id]
    assert repo.add_many([fresh]) == 1


def test_a_large_import_round_trips_and_one_repeated_id_refuses_all_of_it(repo: Any) -> None:
    """Batches large enough for a backend's bulk path (PostgreSQL streams them with COPY): a bad one is refused
    whole, naming the repeated id, and a good one reads back equal, its audit sound."""
    from complaint_engine.audit import audit

    desk, _ = new_desk(repo)
    stored = received(desk)
    many = [replace(stored, {"id": f"bulk-{i:03d}", "summary": f"漏水 {i}\tline\n\\ end"}) for i in range(150)]
    with pytest.raises(ce.ValidationError, match="bulk-007"):
        repo.add_many([*many, many[7]])
    assert [c.id for c in repo.find()] == [stored.id]
    assert repo.add_many(many) == 150
    assert {c.id: c for c in repo.find()} == {c.id: c for c in [stored, *many]}
    assert audit(repo) == []


def _another_connection(kind: str, repo: Any) -> Any:
    """A second connection to the same store (another desk, another process); memory has only the one."""
    if kind == "memory":
        return repo
    if kind == "sqlite":
        from complaint_engine.storage import SQLiteRepository

        return SQLiteRepository(repo.path)
    from tests.storage.conftest import PG_DSN

    from complaint_engine.storage.postgres import PostgresRepository

    return PostgresRepository(str(PG_DSN))


@contextlib.contextmanager
def _connections(kind: str, tmp_path: Path, n: int = 2) -> Iterator[list[Any]]:
    """A store of ``kind`` and ``n - 1`` more connections to it, all closed at the end."""
    repo: Any = make_repository(kind, tmp_path)
    repos = [repo, *(_another_connection(kind, repo) for _ in range(n - 1))]
    try:
        yield repos
    finally:
        for each in {id(r): r for r in repos}.values():  # memory hands back the one store
            each.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_step_saved_from_a_copy_another_desk_has_moved_on_is_refused_and_logs_nothing(kind: str,
                                                                                      tmp_path: Path) -> None:
    """The save of one step (its new state and its transition row; on a server, one statement) lands whole
    or not at all: refused from a stale copy, it adds no transition row."""
    from complaint_engine.audit import audit
    from complaint_engine.lifecycle import step

    with _connections(kind, tmp_path) as (repo, other):
        desk, clock = new_desk(repo)
        c = received(desk)  # this repository now holds c, version 1, as committed
        clock.advance(hours=1)
        registered = ce.ComplaintDesk(repository=other, clock=clock).register(c.id, by=RECEPTION)
        clock.advance(hours=1)
        referred, _ = step(c, C.Refer(complaint_id=c.id, reason="not ours", referred_to="utility"), RECEPTION,
                           desk.policy, desk.calendar, clock.now())  # one more transition, from the stale copy
        with pytest.raises(ce.ConcurrencyError) as err:
            repo.save(referred)
        assert (err.value.expected, err.value.actual) == (c.version, registered.version)
        assert repo.get(c.id) == registered
        assert audit(repo, desk.policy) == []
        again, _ = step(repo.get(c.id), C.Dispatch(complaint_id=c.id, department="engineering"), RECEPTION,
                        desk.policy, desk.calendar, clock.now())
        assert repo.save(again).status is ce.Status.DISPATCHED  # from the current copy it lands
        assert [t.event for t in repo.get(c.id).history] == ["receive", "register", "dispatch"]


@pytest.mark.parametrize("kind", BACKENDS)
def test_received_span_gives_the_first_and_last_receipt_in_utc(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        assert repo.received_span() is None
        desk, clock = new_desk(repo)
        first = received(desk)
        clock.advance(days=3)
        other = received(desk, OTHER_OFFICE)
        clock.advance(hours=5)
        last = received(desk)
        span = repo.received_span()
        assert span == (first.received_at, last.received_at)
        assert all(instant.utcoffset() == dt.timedelta(0) for instant in span)
        assert repo.received_span(office="B") == (other.received_at, other.received_at)
        assert repo.received_span(office="A") == (first.received_at, last.received_at)
        assert repo.received_span(office="Z") is None
        draft, _ = new_desk(InMemoryRepository(), clock.now() + dt.timedelta(days=1))
        staged = received(draft)
        with repo.unit_of_work() as uow:  # a unit of work sees what it staged; uncommitted, it is gone after
            uow.add(staged)
            assert uow.received_span(office="A") == (first.received_at, staged.received_at)
        assert repo.received_span(office="A") == (first.received_at, last.received_at)
    finally:
        repo.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_snapshot_sees_the_store_as_of_its_start_whatever_is_committed_meanwhile(kind: str,
                                                                                  tmp_path: Path) -> None:
    with _connections(kind, tmp_path) as (repo, other):
        desk, clock = new_desk(repo)
        elsewhere = ce.ComplaintDesk(repository=other, clock=clock)
        c = received(desk)
        with repo.snapshot() as view:
            clock.advance(hours=1)
            elsewhere.register(c.id, by=RECEPTION)  # committed by another desk while the snapshot is read
            later = elsewhere.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                      summary="s")
            assert [x.id for x in view.find()] == [c.id]
            assert view.get(c.id) == c  # the version before the registration
            assert view.received_span() == (c.received_at, c.received_at)
            assert view.find(status=ce.Status.REGISTERED) == []
        assert [x.id for x in repo.find()] == [c.id, later.id]  # after it, everything
        assert repo.get(c.id).status is ce.Status.REGISTERED


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_snapshot_refuses_every_write_and_changes_nothing(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, _ = new_desk(repo)
        c = received(desk)
        draft, _ = new_desk(InMemoryRepository())
        new = received(draft)
        with repo.snapshot() as view:
            capa = ce.CAPAReport(number="A-CAPA-2024-001", office="A", complaint_serials=(), problem="p",
                                 opened_at=c.received_at)
            notice = ce.Announcement(number="A-ANN-2024-001", office="A", channel=ce.AnnouncementChannel.BULLETIN_BOARD,
                                     text="t", complaint_serials=(), at=c.received_at, by="li")
            attempts = {  # each refusal names what it refused
                f"add of complaint {new.id!r}": lambda: view.add(new),
                "add_many": lambda: view.add_many([new]),
                f"save of complaint {c.id!r}": lambda: view.save(replace(c, {"summary": "changed"})),
                "next_number of sequence 'complaint:A:2024'": lambda: view.next_number("complaint:A:2024"),
                "add of CAPA report 'A-CAPA-2024-001'": lambda: view.add_capa(capa),
                "save of CAPA report 'A-CAPA-2024-001'": lambda: view.save_capa(capa),
                "add of announcement 'A-ANN-2024-001'": lambda: view.add_announcement(notice),
                "commit": view.commit,
            }
            for named, attempt in attempts.items():
                with pytest.raises(StorageError, match="read-only") as err:
                    attempt()
                assert named in str(err.value)
            assert [x.id for x in view.find()] == [c.id]  # still readable after the refusals
        assert [x.id for x in repo.find()] == [c.id]
        assert repo.get(c.id) == c
        assert repo.next_number("complaint:A:2024") == 1  # no number was taken
        assert repo.find_capas() == []
        assert repo.find_announcements() == []
    finally:
        repo.close()


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "memory"])
def test_a_direct_read_sees_documents_and_histories_of_one_moment(kind: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A complaint is read in two statements (its document, then its transition rows). A desk committing
    between them must not give the complaint a history one step ahead of its document."""
    from complaint_engine.storage.sql import SQLTransaction, SQLUnit

    with _connections(kind, tmp_path, 3) as (repo, other, third):
        desk, clock = new_desk(other)
        elsewhere = ce.ComplaintDesk(repository=third, clock=clock)
        c = received(desk)
        commits = iter([lambda: elsewhere.register(c.id, by=RECEPTION), lambda: elsewhere.dispatch(c.id, by=RECEPTION)])

        def commit_elsewhere(unit: SQLUnit) -> None:
            if unit._conn is repo.connection:  # only the reads under test; the other desks read undisturbed
                clock.advance(minutes=1)
                next(commits, lambda: None)()

        def read_commit_elsewhere_read(self: SQLUnit, statements: list[tuple[str, tuple[Any, ...]]]) -> Any:
            # get and find send their two reads together (on a server, in one pipeline): here one at a time,
            # with a commit between them, which only the snapshot keeps out
            first = self._execute(*statements[0]).fetchall()
            commit_elsewhere(self)
            return [first, *(self._execute(*statement).fetchall() for statement in statements[1:])]

        for cls in {SQLUnit, SQLTransaction, repo.unit_class, repo.transaction_class, repo.snapshot_class}:
            monkeypatch.setattr(cls, "_fetch_each", read_commit_elsewhere_read)
        [found] = repo.find()
        assert (found.status, found.version, len(found.history)) == (ce.Status.RECEIVED, 1, 1)
        got = repo.get(c.id)  # not cached (find does not cache): read from the store, with a commit mid-read
        assert (got.status, got.version, len(got.history)) == (ce.Status.REGISTERED, 2, 2)
        assert got.history[-1].target is got.status
        assert elsewhere.get(c.id).status is ce.Status.DISPATCHED  # the commit mid-read did happen


@pytest.mark.parametrize("kind", BACKENDS)
def test_direct_reads_never_see_another_threads_uncommitted_unit(kind: str, tmp_path: Path) -> None:
    """Threads share a repository (one connection for the SQL backends): a read made while another thread's
    unit of work is open waits for it, and never shows what that unit then rolls back."""
    import threading

    repo: Any = make_repository(kind, tmp_path)
    draft, _ = new_desk(InMemoryRepository())
    c = received(draft)
    opened, release = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def uncommitted_unit() -> None:
        with repo.unit_of_work() as uow:
            uow.add(c)
            opened.set()
            release.wait(10)  # rolls back: never committed

    def reads() -> None:
        seen["offices"] = repo.offices()
        seen["span"] = repo.received_span()
        seen["find"] = repo.find()
        seen["frame"] = len(repo.frame()["id"])
        seen["history"] = repo.history(c.id)
        seen["due"] = repo.due_ids(c.received_at + dt.timedelta(days=30))

    try:
        writer = threading.Thread(target=uncommitted_unit)
        writer.start()
        assert opened.wait(10)
        reader = threading.Thread(target=reads)
        reader.start()
        reader.join(0.3)  # time enough to read into the open unit, were it not waited for
        release.set()
        writer.join(10)
        reader.join(10)
        assert seen == {"offices": [], "span": None, "find": [], "frame": 0, "history": [], "due": []}
    finally:
        release.set()
        repo.close()


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "memory"])
@pytest.mark.parametrize("call", ["get", "find", "offices", "frame", "save", "unit_of_work", "snapshot",
                                  "next_number"])
def test_a_closed_repository_refuses_every_call_with_a_clear_error(kind: str, call: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    desk, _ = new_desk(repo)
    c = received(desk)
    repo.close()
    args = {"get": (c.id,), "save": (c,), "next_number": ("complaint:A:2024",)}.get(call, ())
    with pytest.raises(StorageError, match="is closed; open a new one"):
        getattr(repo, call)(*args)


_TEMPLATE = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY)).receive(
    by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
_OFFICES = ("A", "B", "東區", "O'Neil", "a b")
_MINUTES = 60 * 24 * 400  # received from 1 June 2024 over 400 days: several half-years, both years


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "memory"])
@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(placed=st.lists(st.tuples(st.sampled_from(_OFFICES), st.integers(0, _MINUTES)), max_size=30),
       window=st.tuples(st.none() | st.integers(0, _MINUTES), st.none() | st.integers(0, _MINUTES)),
       period=st.sampled_from(["2024H1", "2024H2", "2025H1", "2025", "2025Q3"]))
def test_reads_across_every_office_are_those_of_the_memory_store(kind: str, tmp_path: Path,
                                                                 placed: list[tuple[str, int]],
                                                                 window: tuple[int | None, int | None],
                                                                 period: str) -> None:
    """Reads by instant of receipt without an office go office by office through the office index (a skip
    scan); whatever offices there are, they read what the memory store reads."""
    start = at(2024, 6, 1)
    stored = [replace(_TEMPLATE, {"id": f"c{i:03d}", "office": office,
                                  "received_at": start + dt.timedelta(minutes=minutes)})
              for i, (office, minutes) in enumerate(placed)]
    received_from, received_before = (None if m is None else start + dt.timedelta(minutes=m) for m in window)
    memory = InMemoryRepository()
    repo: Any = make_repository(kind, tmp_path)
    try:
        for store in (memory, repo):
            store.add_many(stored)
        assert repo.offices() == memory.offices()
        assert repo.received_span() == memory.received_span()
        found = repo.find(received_from=received_from, received_before=received_before)
        assert [c.id for c in found] == [c.id for c in memory.find(received_from=received_from,
                                                                   received_before=received_before)]
        assert list(repo.frame(period=period)["id"]) == list(memory.frame(period=period)["id"])
    finally:
        repo.close()


def test_text_with_quotes_and_sql_is_stored_verbatim_on_every_backend(repo: Any) -> None:
    desk, _ = new_desk(repo)
    evil = "Robert'); DROP TABLE complaints; -- \"quoted\" \\ 陳 %s ? $1"  # and each driver's placeholders
    c = received(desk, owner=evil, unit=evil, summary=evil)
    stored = repo.get(c.id)
    assert (stored.owner, stored.unit, stored.summary) == (evil, evil, evil)
    assert [x.id for x in repo.find(office="A")] == [c.id]


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "memory"])
def test_a_corrupted_document_names_its_complaint_and_the_others_stay_readable(kind: str, tmp_path: Path) -> None:
    from complaint_engine.audit import audit

    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, clock = new_desk(repo)
        a = desk.register(received(desk).id, by=RECEPTION)
        clock.advance(minutes=1)
        b = desk.register(received(desk).id, by=RECEPTION)
        # what a disk error or a hand edit does to a stored document (the test writes behind the repository)
        repo.connection.execute(repo.dialect.sql("UPDATE complaints SET doc = substr(doc, 1, 40) WHERE id = ?"),
                                (a.id,))
        repo.cache._items.clear()
        with pytest.raises(ce.ValidationError, match=a.id):
            repo.get(a.id)  # a read of one names it
        assert repo.get(b.id) == b
        found = desk.find()  # a read of many skips it and says so
        assert list(found) == [b]
        assert [d.complaint_id for d in found.damaged] == [a.id]
        assert "unreadable stored document" in found.damaged[0].problem
        later = b.received_at + dt.timedelta(days=30)
        clock.set(later)
        for items in (desk.overdue(), desk.sweep()):  # one bad row never jams the overdue sweep
            assert {i.complaint_id for i in items} == {b.id}
            assert [d.complaint_id for d in items.damaged] == [a.id]
        findings = audit(repo, desk.policy)  # the audit fails on it (and on the gap its unread serial leaves)
        assert ("P-7", a.id) in [(f.rule, f.complaint_id) for f in findings]
        assert len(repo.frame()["id"]) == 2  # the analysis columns do not depend on the document
    finally:
        repo.close()


# --- the overdue sweep never jams (a repair closed before its arrival clock ran out) ---------------------------
def _repair_closed_without_arrival(desk: ce.ComplaintDesk, clock: ce.FixedClock) -> ce.Complaint:
    """A repair its manager starts, resolves and closes without a recorded arrival: the arrival clock (10 min
    from dispatch) has not run out at close."""
    c = desk.register(received(desk, category="repair").id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    desk.start(c.id, by=MANAGER)
    clock.advance(minutes=2)
    desk.resolve(c.id, by=MANAGER, result="fixed")
    desk.reply(c.id, by=RECEPTION)
    desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied")
    return desk.close(c.id, by=CALLBACK)


def test_closing_stops_every_clock_and_the_sweep_never_visits_it_again(repo: Any) -> None:
    desk, clock = new_desk(repo)
    closed = _repair_closed_without_arrival(desk, clock)
    open_one = desk.register(received(desk).id, by=RECEPTION)  # reply due Thu 6 June 00:00
    clock.set(at(2024, 6, 7))  # long after the arrival's due instant
    items = desk.sweep()  # used to raise InvalidTransition on the closed repair and roll back the whole sweep
    assert [(i.complaint_id, i.clock) for i in items] == [(open_one.id, "reply")]
    assert repo.get(open_one.id).deadlines["reply"].breached  # the breach of the open complaint is recorded
    arrival = closed.deadlines["arrival"]
    assert arrival.state is ce.ClockState.MET
    assert arrival.stopped_by == "close"
    assert not arrival.breached
    assert all(d.state is ce.ClockState.MET for d in closed.deadlines.values())
    assert items[0].problem is None
    assert repo.get(closed.id).history[-1].event == "close"
    assert repo.find(due_before=at(2030, 1, 1)) == [repo.get(open_one.id)]


def test_a_clock_still_running_at_close_is_stopped_breached(repo: Any) -> None:
    desk, clock = new_desk(repo)
    c = desk.register(received(desk, category="repair").id, by=RECEPTION)
    desk.dispatch(c.id, by=RECEPTION)
    desk.start(c.id, by=MANAGER)
    clock.advance(minutes=30)  # the arrival clock ran out, and no sweep ran
    desk.resolve(c.id, by=MANAGER, result="fixed")
    desk.reply(c.id, by=RECEPTION)
    desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied")
    closed = desk.close(c.id, by=CALLBACK)
    arrival = closed.deadlines["arrival"]
    assert arrival.stopped_by == "close"
    assert arrival.breached
    assert arrival.met_at == closed.history[-1].at
    clock.advance(days=30)
    assert desk.sweep() == []  # not listed as overdue for ever


def test_the_sweep_skips_a_closed_complaint_stored_with_a_running_clock(repo: Any) -> None:
    """Registers written before clocks stopped at close hold closed complaints whose arrival clock still runs."""
    desk, clock = new_desk(repo)
    closed = _repair_closed_without_arrival(desk, clock)
    running = attrs.evolve(closed.deadlines["arrival"], met_at=None, stopped_by=None)
    repo.save(replace(closed, {"deadlines": {**closed.deadlines, "arrival": running}}))
    assert repo.get(closed.id).deadlines["arrival"].state is ce.ClockState.RUNNING
    clock.advance(days=3)
    assert desk.sweep() == []
    assert repo.find(due_before=at(2030, 1, 1)) == []


def test_a_complaint_the_sweep_cannot_step_is_reported_and_the_others_are_swept(repo: Any) -> None:
    desk, clock = new_desk(repo)
    refusing = desk.register(received(desk).id, by=RECEPTION)
    fine = desk.register(received(desk).id, by=RECEPTION)
    clock.set(at(2024, 6, 7))
    # a policy on which the system role may not record a breach: the step refuses on every complaint
    strict = attrs.evolve(desk.policy, permissions={**desk.policy.permissions, "record_breach": frozenset()})
    sweeper = ce.ComplaintDesk(policy=strict, repository=repo, clock=clock)
    items = sweeper.sweep()
    assert sorted(i.complaint_id for i in items) == sorted([refusing.id, fine.id])
    assert all(i.problem is not None and "record_breach" in i.problem for i in items)
    assert desk.sweep()
    assert repo.get(fine.id).deadlines["reply"].breached


def test_every_backend_keeps_the_same_transition_rows(repo: Any) -> None:
    """history() gives the stored rows of a complaint's transitions in one shape on every backend (the audit
    compares them with the history the complaint carries)."""
    desk, clock = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    clock.advance(minutes=5)
    desk.dispatch(c.id, by=RECEPTION)
    rows = repo.history(c.id)
    assert [r[:4] for r in rows] == [(0, "receive", None, "received"), (1, "register", "received", "registered"),
                                     (2, "dispatch", "registered", "dispatched")]
    assert [(r[4], r[5], r[8]) for r in rows] == [(RECEPTION.id, "reception", "A")] * 3
    assert rows[2][6] == desk.get(c.id).history[2].at.isoformat()
    assert repo.history("nope") == []


def test_a_repository_has_units_and_is_not_one(repo: Any) -> None:
    """Direct calls come from one helper for every backend; a unit of work is a separate object."""
    from complaint_engine.storage.direct import DirectCalls

    assert isinstance(repo, DirectCalls)
    with repo.unit_of_work() as unit:
        assert unit is not repo
        assert not isinstance(unit, DirectCalls)


# --- the acknowledge, start and update clocks on every backend -------------------------------------------------
CLOCKED = {"limits": {"acknowledge": "30 minutes", "start": "1 hours", "update": "1 working days"},
           "service_levels": [{"name": "fees", "when": {"category": "fees"}, "start": "10 minutes"}]}


def test_the_new_clocks_start_meet_pause_breach_and_are_owned_on_every_backend(repo: Any) -> None:
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(policy=ce.Policy.from_dict(CLOCKED), repository=repo, clock=clock)
    c = received(desk, category="fees")
    assert repo.get(c.id).deadlines["acknowledge"].state is ce.ClockState.RUNNING
    clock.advance(minutes=40)
    c = desk.register(c.id, by=RECEPTION)
    assert repo.get(c.id).deadlines["acknowledge"].breached
    desk.dispatch(c.id, by=RECEPTION)
    start = repo.get(c.id).deadlines["start"]
    assert (start.service_level, start.responsible.department) == ("fees", "finance")
    clock.advance(minutes=5)
    desk.pause(c.id, by=MANAGER, reason="owner away")
    assert repo.get(c.id).deadlines["start"].state is ce.ClockState.PAUSED
    clock.advance(hours=2)
    desk.resume(c.id, by=MANAGER)
    assert repo.get(c.id).deadlines["start"].due == start.due + dt.timedelta(hours=2)  # clock minutes paused
    clock.advance(minutes=10)
    started = desk.start(c.id, by=MANAGER)
    assert started.deadlines["start"].breached
    deferred = desk.defer(c.id, by=MANAGER, plan="board decides", planned_for=at(2024, 7, 1))
    assert deferred.deadlines["update"].state is ce.ClockState.RUNNING
    clock.set(at(2024, 6, 7))
    items = desk.sweep()
    assert ("update", "finance") in {(i.clock, i.responsible.department) for i in items}
    informed = desk.inform(c.id, by=RECEPTION, note="the board meets on the 20th")
    assert repo.get(c.id) == informed
    assert informed.deadlines["update"].state is ce.ClockState.RUNNING
    assert informed.past_deadlines[-1].breached  # the interval missed stays on record


def test_overdue_is_a_pure_read_and_sweep_records_the_breaches(repo: Any) -> None:
    desk, clock = new_desk(repo)
    c = desk.register(received(desk).id, by=RECEPTION)
    clock.set(at(2024, 6, 7))
    before = repo.get(c.id)
    events = len(desk.events())
    assert [(i.complaint_id, i.clock) for i in desk.overdue()] == [(c.id, "reply")]
    assert repo.get(c.id) == before  # nothing written
    assert len(desk.events()) == events
    assert [(i.complaint_id, i.clock) for i in desk.sweep()] == [(c.id, "reply")]
    assert repo.get(c.id).deadlines["reply"].breached
    assert desk.events()[-1].kind == "deadline.breached"
    desk.sweep()
    assert [e.kind for e in desk.events()].count("deadline.breached") == 1  # once per clock


@pytest.mark.parametrize("kind", BACKENDS)
def test_each_transition_keeps_when_it_was_entered_beside_when_it_took_effect(kind: str, tmp_path: Path) -> None:
    """An action entered late keeps its real instant (``at``) and when it was entered (``recorded_at``, the desk's
    clock), on every backend (#20 item 5)."""
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, clock = new_desk(repo)
        clock.advance(hours=5)
        c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s",
                         at=MONDAY + dt.timedelta(hours=1))  # entered four hours after it came in
        c = desk.register(c.id, by=RECEPTION)
        fresh = repo if kind == "memory" else type(repo)(*_reopen_args(kind, repo))
        stored = fresh.get(c.id)
        if fresh is not repo:
            fresh.close()
        assert [(t.at, t.recorded_at) for t in stored.history] == [
            (MONDAY + dt.timedelta(hours=1), MONDAY + dt.timedelta(hours=5)),
            (MONDAY + dt.timedelta(hours=5), MONDAY + dt.timedelta(hours=5))]
        assert [row[9] for row in repo.history(c.id)] == [(MONDAY + dt.timedelta(hours=5)).isoformat()] * 2
    finally:
        repo.close()


def _reopen_args(kind: str, repo: Any) -> tuple[object, ...]:
    """A fresh connection to the same store: what it reads comes from the rows, not a cache."""
    from tests.storage.conftest import PG_DSN

    return (repo.path,) if kind == "sqlite" else (PG_DSN,)
