"""Complaint ids: RFC 9562 version-7 UUIDs in hex, ordered by creation time."""

from __future__ import annotations

import time
import uuid

from tests.conftest import RECEPTION

import complaint_engine as ce
from complaint_engine.ids import time_ordered_id


def test_an_id_is_a_version_7_rfc_uuid_carrying_the_creation_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = time_ordered_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(hex=value)
    assert value == parsed.hex
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_ids_of_later_milliseconds_sort_later_and_ids_do_not_repeat() -> None:
    first = time_ordered_id()
    time.sleep(0.002)
    second = time_ordered_id()
    assert first < second
    many = [time_ordered_id() for _ in range(20_000)]
    assert len(set(many)) == len(many)
    assert [v[:12] for v in many] == sorted(v[:12] for v in many)  # the time prefix never goes back


def test_the_desk_gives_new_complaints_time_ordered_ids() -> None:
    desk = ce.ComplaintDesk()
    made = [desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s").id
            for _ in range(3)]
    assert all(uuid.UUID(hex=i).version == 7 for i in made)
    assert [i[:12] for i in made] == sorted(i[:12] for i in made)
