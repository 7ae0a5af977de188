"""Lookups a service desk makes, on every backend: by serial, by unit, owner, category, department, assignee and
severity, a page at a time; and each lookup of one office uses an index on the SQL backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import MANAGER, MONDAY, RECEPTION
from tests.storage.conftest import BACKENDS, PG_DSN, make_repository

import complaint_engine as ce
from complaint_engine.errors import ValidationError
from complaint_engine.storage.query import Filters


def _desk(repo: Any) -> tuple[ce.ComplaintDesk, ce.FixedClock]:
    clock = ce.FixedClock(MONDAY)
    return ce.ComplaintDesk(repository=repo, clock=clock), clock


def _register(desk: ce.ComplaintDesk, clock: ce.FixedClock) -> list[ce.Complaint]:
    """Six complaints of two owners, two units, two categories; some dispatched, one transferred, one major."""
    made = []
    for i, (owner, unit, category) in enumerate([("陳先生", "3-1201", "noise"), ("陳先生", "3-1201", "repair"),
                                                  ("李女士", "5-0302", "noise"), ("李女士", "5-0302", "cleaning"),
                                                  ("陳先生", "3-1201", "noise"), ("李女士", "5-0302", "noise")]):
        clock.advance(minutes=7)
        c = desk.register(desk.receive(by=RECEPTION, owner=owner, unit=unit, channel="phone", category=category,
                                       summary="s", severity="major" if i == 5 else "normal").id, by=RECEPTION)
        if i % 2 == 0:
            desk.dispatch(c.id, by=RECEPTION, assignee="sec-wu")
        made.append(desk.get(c.id))
    desk.transfer(made[2].id, by=MANAGER, department="engineering", assignee="eng-liu", reason="misrouted")
    return made


@pytest.mark.parametrize("kind", BACKENDS)
def test_find_filters_by_what_a_desk_looks_up(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, clock = _desk(repo)
        c = _register(desk, clock)

        def ids(**kw: Any) -> list[str]:
            return [x.id for x in desk.find(office="A", **kw)]

        assert ids(unit="3-1201") == [c[0].id, c[1].id, c[4].id]
        assert ids(owner="李女士") == [c[2].id, c[3].id, c[5].id]
        assert ids(owner="李女士", category="noise") == [c[2].id, c[5].id]
        assert ids(department="security") == [c[0].id, c[4].id]
        assert ids(department="engineering") == [c[2].id]  # after its transfer
        assert ids(assignee="eng-liu") == [c[2].id]
        assert ids(assignee="sec-wu") == [c[0].id, c[4].id]
        assert ids(severity="major") == [c[5].id]
        assert ids(unit="9-9999") == []
        assert desk.get(c[3].serial or "") == c[3]  # by its serial
    finally:
        repo.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_pages_follow_each_other_without_a_gap_or_a_repeat(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, clock = _desk(repo)
        c = _register(desk, clock)
        first = desk.find(office="A", limit=4)
        assert [x.id for x in first] == [x.id for x in c[:4]]
        clock.advance(minutes=1)
        late = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
        second = desk.find(office="A", limit=4, after=first[-1].id)
        assert [x.id for x in second] == [c[4].id, c[5].id, late.id]  # arrivals meanwhile come last, once
        assert list(desk.find(office="A", limit=4, after=second[-1].id)) == []
        by_owner = desk.find(office="A", owner="陳先生", limit=2)
        assert [x.id for x in desk.find(office="A", owner="陳先生", limit=2, after=by_owner[-1].id)] == [c[4].id]
    finally:
        repo.close()


@pytest.mark.parametrize("kind", BACKENDS)
def test_bad_lookups_are_refused_naming_the_value(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk, clock = _desk(repo)
        c = _register(desk, clock)
        with pytest.raises(ValidationError, match=r"after.*from another query"):
            desk.find(office="A", owner="陳先生", after=c[2].id)  # the last of another owner's page
        with pytest.raises(ValidationError, match=r"after.*'nope'.*a stored complaint"):
            desk.find(office="A", after="nope")
        with pytest.raises(ValidationError, match=r"limit.*0.*1 to 100000"):
            desk.find(limit=0)
        with pytest.raises(ValidationError, match=r"severity.*'huge'"):
            desk.find(severity="huge")
        with pytest.raises(ValidationError, match=r"unit \(a str withheld.*non-empty"):
            desk.find(unit="")
    finally:
        repo.close()


@settings(max_examples=25)
@given(size=st.integers(1, 7))
def test_paging_through_a_query_returns_exactly_the_query(size: int) -> None:
    desk, clock = _desk(ce.storage.InMemoryRepository())
    _register(desk, clock)
    whole = [x.id for x in desk.find(office="A", category="noise")]
    pages: list[str] = []
    after = None
    while True:
        page = desk.find(office="A", category="noise", limit=size, after=after)
        if not page:
            break
        assert len(page) <= size
        pages += [x.id for x in page]
        after = page[-1].id
    assert pages == whole


def _plan_sqlite(repo: Any, sql: str, args: tuple[object, ...]) -> str:
    return " ".join(str(row[-1]) for row in repo.connection.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())


FILTERS = [("unit", "3-1201", "complaints_unit"), ("owner", "陳先生", "complaints_owner"),
           ("category", "noise", None), ("department", "security", None), ("assignee", "sec-wu", None),
           ("severity", "major", None)]


def _term(column: str, value: str) -> tuple[str, Any]:
    """The WHERE term the store's lookup by this filter writes, and its value."""
    args: list[Any] = []
    [term] = Filters(**{column: ce.Severity(value) if column == "severity" else value}).sql_terms(args)
    return term, args[0]


@pytest.mark.parametrize(("column", "value", "index"), FILTERS)
def test_each_lookup_of_one_office_uses_an_index_on_sqlite(tmp_path: Path, column: str, value: str,
                                                           index: str | None) -> None:
    repo: Any = make_repository("sqlite", tmp_path)
    try:
        desk, clock = _desk(repo)
        _register(desk, clock)
        term, arg = _term(column, value)
        plan = _plan_sqlite(repo, f"SELECT id, doc FROM complaints WHERE office = ? AND {term} "
                                  "ORDER BY received_us, id", ("A", arg))
        assert "SCAN complaints" not in plan  # never the whole table
        assert f"USING INDEX {index}" in plan if index else "USING INDEX" in plan
    finally:
        repo.close()


@pytest.mark.skipif(PG_DSN is None, reason="needs COMPLAINT_ENGINE_PG_DSN")
@pytest.mark.parametrize(("column", "value", "index"), FILTERS)
def test_each_lookup_of_one_office_uses_an_index_on_postgres(tmp_path: Path, column: str, value: str,
                                                             index: str | None) -> None:
    repo: Any = make_repository("postgres", tmp_path)
    try:
        desk, clock = _desk(repo)
        _register(desk, clock)
        conn = repo.pg_connection
        conn.execute("SET enable_seqscan = off")  # a six-row table: ask whether an index *can* serve the query
        try:
            term, arg = _term(column, value)
            plan = "\n".join(r[0] for r in conn.execute(
                f"EXPLAIN SELECT id, doc FROM complaints WHERE office = %s AND {term.replace('?', '%s')} "
                'ORDER BY received_us, id COLLATE "C"', ("A", arg)).fetchall())
        finally:
            conn.execute("RESET enable_seqscan")
        assert "Seq Scan" not in plan
        assert (index or "complaints_") in plan
    finally:
        repo.close()


def test_a_page_is_the_same_from_every_backend(tmp_path: Path) -> None:
    """One query, one page, the same ids whatever the store (and with the histories of exactly those)."""
    pages = []
    for kind in BACKENDS:
        repo: Any = make_repository(kind, tmp_path)
        try:
            desk, clock = _desk(repo)
            desk._new_id = iter(f"{i:032x}" for i in range(100)).__next__
            _register(desk, clock)
            page = desk.find(office="A", category="noise", limit=2)
            pages.append([(x.id, len(x.history)) for x in page])
        finally:
            repo.close()
    assert all(p == pages[0] for p in pages)
    assert pages[0][0][1] >= 2


