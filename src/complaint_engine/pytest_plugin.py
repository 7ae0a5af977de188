"""pytest plugin, opt-in: the ``ce_policy``, ``ce_clock``, ``ce_desk`` and ``ce_scenario`` fixtures.

Installing complaint_engine loads nothing into pytest. A test suite that wants the fixtures asks for them, in its
top-level ``conftest.py``::

    pytest_plugins = ["complaint_engine.pytest_plugin"]

or on the command line / in its ini options: ``-p complaint_engine.pytest_plugin``. Override ``ce_policy`` in
your conftest.py to test your company's own commitments.
"""

from __future__ import annotations

import pytest

from complaint_engine.clock import FixedClock
from complaint_engine.desk import ComplaintDesk
from complaint_engine.policy import Policy
from complaint_engine.storage.memory import InMemoryRepository
from complaint_engine.testing import DEFAULT_START, Scenario


@pytest.fixture
def ce_policy() -> Policy:
    """The policy under test (default: ``Policy.default()``); override it in your conftest.py."""
    return Policy.default()


@pytest.fixture
def ce_clock() -> FixedClock:
    """A clock standing at Monday 3 June 2024, 09:00 Asia/Shanghai; move it with ``set`` or ``advance``."""
    return FixedClock(DEFAULT_START)


@pytest.fixture
def ce_desk(ce_policy: Policy, ce_clock: FixedClock) -> ComplaintDesk:
    """A desk with the ``ce_policy``, the ``ce_clock`` and a fresh in-memory store."""
    return ComplaintDesk(policy=ce_policy, clock=ce_clock, repository=InMemoryRepository())


@pytest.fixture
def ce_scenario(ce_desk: ComplaintDesk) -> Scenario:
    """A :class:`complaint_engine.testing.Scenario` on the ``ce_desk``."""
    return Scenario(desk=ce_desk)
