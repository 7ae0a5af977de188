"""pytest plugin (entry point ``pytest11``): the ``policy``, ``fixed_clock``, ``desk`` and ``scenario`` fixtures.

Override ``policy`` in your conftest.py to test your company's own commitments.
"""

from __future__ import annotations

import pytest

from complaint_engine.clock import FixedClock
from complaint_engine.desk import ComplaintDesk
from complaint_engine.policy import Policy
from complaint_engine.storage.memory import InMemoryRepository
from complaint_engine.testing import DEFAULT_START, Scenario


@pytest.fixture
def policy() -> Policy:
    """The policy under test (default: ``Policy.default()``); override it in your conftest.py."""
    return Policy.default()


@pytest.fixture
def fixed_clock() -> FixedClock:
    """A clock standing at Monday 3 June 2024, 09:00 Asia/Shanghai; move it with ``set`` or ``advance``."""
    return FixedClock(DEFAULT_START)


@pytest.fixture
def desk(policy: Policy, fixed_clock: FixedClock) -> ComplaintDesk:
    """A desk with the ``policy``, the ``fixed_clock`` and a fresh in-memory store."""
    return ComplaintDesk(policy=policy, clock=fixed_clock, repository=InMemoryRepository())


@pytest.fixture
def scenario(desk: ComplaintDesk) -> Scenario:
    """A :class:`complaint_engine.testing.Scenario` on the ``desk``."""
    return Scenario(desk=desk)
