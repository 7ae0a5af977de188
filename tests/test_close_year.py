"""Closing a year's register (#20 item 5): a reported year takes no later serial, no backdated entry."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import GM, RECEPTION, SHANGHAI
from tests.storage.conftest import BACKENDS, make_repository

import complaint_engine as ce
from complaint_engine.audit import audit


def _at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_closed_year_refuses_backdated_entries_and_keeps_its_last_serial(backend: str, tmp_path: Path) -> None:
    repo = make_repository(backend, tmp_path)
    try:
        clock = ce.FixedClock(_at(2024, 12, 30, 10))
        desk = ce.ComplaintDesk(repository=repo, clock=clock)  # type: ignore[arg-type]
        late = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="s")
        desk.register(late.id, by=RECEPTION)
        open_one = desk.receive(by=RECEPTION, owner="p", unit="3-1202", channel="phone", category="noise",
                                summary="s")
        with pytest.raises(ce.ValidationError, match="a year that is over"):
            desk.close_year(2024, by=GM)
        clock.set(_at(2025, 1, 1, 10))  # the year is over; the 31st is within the policy's 24 hours of backdating
        with pytest.raises(ce.PermissionDenied):
            desk.close_year(2024, by=RECEPTION)
        closed = desk.close_year(2024, by=GM)
        assert (closed.office, closed.year, closed.last_serial) == ("A", 2024, "A-2024-00001")
        with pytest.raises(ce.ValidationError, match="not closed yet"):
            desk.close_year(2024, by=GM)
        # backdated into the closed year: a receipt, a registration (which would take a 2024 serial)
        with pytest.raises(ce.ValidationError, match="after the register of A 2024 was closed"):
            desk.receive(by=RECEPTION, owner="q", unit="3-1203", channel="phone", category="noise", summary="s",
                         at=_at(2024, 12, 31, 18))
        with pytest.raises(ce.ValidationError, match="after the register of A 2024 was closed"):
            desk.register(open_one.id, by=RECEPTION, at=_at(2024, 12, 31, 18))
        registered = desk.register(open_one.id, by=RECEPTION)  # entered now: numbered in 2025
        assert registered.serial == "A-2025-00001"
        assert audit(repo) == []  # type: ignore[arg-type]
        assert [e.data["issued"] for e in desk.events(kinds=["register.year_closed"])] == [1]
    finally:
        repo.close()  # type: ignore[attr-defined]


def test_the_audit_finds_a_serial_issued_after_its_year_was_closed(tmp_path: Path) -> None:
    from complaint_engine.storage import SQLiteRepository

    path = tmp_path / "r.sqlite"
    clock = ce.FixedClock(_at(2024, 12, 30, 10))
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=clock)
    first = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="s")
    desk.register(first.id, by=RECEPTION)
    second = desk.receive(by=RECEPTION, owner="p", unit="3-1202", channel="phone", category="noise", summary="s")
    desk.register(second.id, by=RECEPTION)
    clock.set(_at(2025, 1, 6, 9))
    desk.close_year(2024, by=GM)
    conn = sqlite3.connect(path, isolation_level=None)  # the closure rewritten to hide the second serial
    conn.execute("UPDATE subscriptions SET position = 2 WHERE name = 'register-closed/A/2024'")
    conn.close()
    [finding] = audit(SQLiteRepository(path))
    assert finding.serial == "A-2024-00002"
    assert "after that register was closed with 1 serials" in finding.problem
