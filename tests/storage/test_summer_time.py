"""Both summer-time changes: instants compare as instants on every backend, and the writing
desk and a fresh reader agree (a ZoneInfo compares by wall reading, so 01:15 EST would sort before 01:25 EDT)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.storage.conftest import PG_DSN

import complaint_engine as ce
from complaint_engine.storage import SQLiteRepository

NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")
# (region, zone, first action, second action, minutes between them): the hour repeated in autumn (01:15 of
# standard time comes 50 minutes after 01:25 of summer time) and the hour skipped in spring
CHANGES = [
    ("US", NY, dt.datetime(2024, 11, 3, 1, 25, tzinfo=NY), dt.datetime(2024, 11, 3, 1, 15, fold=1, tzinfo=NY), 50),
    ("GB", LONDON, dt.datetime(2024, 10, 27, 1, 25, tzinfo=LONDON),
     dt.datetime(2024, 10, 27, 1, 15, fold=1, tzinfo=LONDON), 50),
    ("US", NY, dt.datetime(2024, 3, 10, 1, 50, tzinfo=NY), dt.datetime(2024, 3, 10, 3, 10, tzinfo=NY), 20),
    ("GB", LONDON, dt.datetime(2024, 3, 31, 0, 50, tzinfo=LONDON), dt.datetime(2024, 3, 31, 2, 10, tzinfo=LONDON), 20),
]


def fresh_reader(repo: Any) -> Any:
    if isinstance(repo, SQLiteRepository):
        return SQLiteRepository(repo.path, create=False)
    if PG_DSN is not None and type(repo).__name__ == "PostgresRepository":
        from complaint_engine.storage.postgres import PostgresRepository

        return PostgresRepository(PG_DSN)
    return repo  # the in-memory store has no other reader


@pytest.mark.parametrize(("region", "tz", "first", "second", "minutes"), CHANGES)
def test_actions_across_a_summer_time_change_keep_their_order_for_writer_and_fresh_reader(
        repo: Any, region: str, tz: ZoneInfo, first: dt.datetime, second: dt.datetime, minutes: int) -> None:
    policy = ce.Policy.from_dict({"calendar": {"region": region, "tz": str(tz)}})
    assert second.astimezone(dt.UTC) - first.astimezone(dt.UTC) == dt.timedelta(minutes=minutes)
    clock = ce.FixedClock(first)
    desk = ce.ComplaintDesk(policy=policy, repository=repo, clock=clock)
    reception = ce.Actor("li", ce.Role.RECEPTION, "A")
    c = desk.receive(by=reception, owner="o", unit="u", channel="phone", category="noise", summary="s")
    clock.set(second)
    # refused as "earlier than the last transition" while instants shared a ZoneInfo
    registered = desk.register(c.id, by=reception, at=second)
    for reader in (desk.repository, fresh_reader(repo)):
        got = reader.get(c.id)
        instants = [t.at for t in got.history]
        # PEP 495: a datetime in a repeated hour never equals one of another tzinfo, so compare in UTC
        assert [i.astimezone(dt.UTC) for i in instants] == [first.astimezone(dt.UTC), second.astimezone(dt.UTC)]
        assert instants[0] < instants[1]
        assert [i.utcoffset() for i in instants] == [tz.utcoffset(first), tz.utcoffset(second)]
        assert got.deadlines == registered.deadlines
        if reader is not repo and reader is not desk.repository:
            reader.close()


def test_a_clock_without_an_offset_is_refused_not_read_as_local_time() -> None:
    class NaiveClock:
        def now(self) -> dt.datetime:
            return dt.datetime(2024, 6, 3, 9)

    desk = ce.ComplaintDesk(clock=NaiveClock())
    with pytest.raises(ce.ValidationError, match=r"desk clock reading.*timezone-aware"):
        desk.receive(by=ce.Actor("li", ce.Role.RECEPTION, "A"), owner="o", unit="u", channel="phone",
                     category="noise", summary="s")
    assert desk.find(office="A") == []
