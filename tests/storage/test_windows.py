"""in_windows: a register read a window of receipt at a time gives what one find gives, in the same order."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import MONDAY, OTHER_OFFICE, RECEPTION
from tests.storage.conftest import BACKENDS, make_repository

import complaint_engine as ce
from complaint_engine.storage import InMemoryRepository
from complaint_engine.storage.windows import in_windows


def _desk_with_receipts(repo: Any, gaps: list[int]) -> ce.ComplaintDesk:
    """Complaints received ``gap`` half hours apart, now at one office and now at another (several receipts
    at one instant when a gap is 0)."""
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(repository=repo, clock=clock)
    for gap in gaps:
        clock.advance(minutes=30 * gap)
        desk.receive(by=RECEPTION if gap % 3 else OTHER_OFFICE, owner="o", unit="u", channel="phone",
                     category="noise", summary="s")
    return desk


@given(gaps=st.lists(st.integers(0, 3 * 48), min_size=0, max_size=25), window=st.integers(1, 20 * 48),
       office=st.sampled_from([None, "A", "B", "Z"]),
       since=st.one_of(st.none(), st.integers(-48, 40 * 48)), until=st.one_of(st.none(), st.integers(-48, 40 * 48)))
def test_the_windows_hold_what_one_find_holds_in_its_order(gaps: list[int], window: int, office: str | None,
                                                          since: int | None, until: int | None) -> None:
    desk = _desk_with_receipts(InMemoryRepository(), gaps)
    bounds = {"received_from": None if since is None else MONDAY + dt.timedelta(minutes=30 * since),
              "received_before": None if until is None else MONDAY + dt.timedelta(minutes=30 * until)}
    batches = list(in_windows(desk.repository, office=office, window=dt.timedelta(minutes=30 * window), **bounds))
    assert all(batches)  # empty windows are skipped
    assert [c.id for batch in batches for c in batch] == [c.id for c in desk.repository.find(office=office, **bounds)]
    for earlier, later in itertools.pairwise(batches):
        assert earlier[-1].received_at < later[0].received_at  # a receipt belongs to one window


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_windows_read_from_every_backend(kind: str, tmp_path: Path) -> None:
    repo: Any = make_repository(kind, tmp_path)
    try:
        desk = _desk_with_receipts(repo, [0, 0, 1, 47, 48, 3, 400, 2, 0])
        with repo.snapshot() as view:
            batches = list(in_windows(view, window=dt.timedelta(days=1)))
        assert [c.id for b in batches for c in b] == [c.id for c in desk.repository.find()]
        assert [len(b) for b in batches] == [3, 1, 2, 3]  # days 0, 1, 2 and 10 from the first receipt
    finally:
        getattr(repo, "close", lambda: None)()


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"window": dt.timedelta(0)}, "window"), ({"window": 7}, "window"),
    ({"received_from": dt.datetime(2024, 1, 1)}, "received_from"),
    ({"received_before": dt.datetime(2024, 1, 1)}, "received_before"),
])
def test_bad_bounds_or_windows_are_refused_by_name(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ce.ValidationError, match=named):
        next(in_windows(InMemoryRepository(), **kwargs))
