"""The transition tables: validated when built, rendered to docs, pure steps that change nothing on refusal."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from tests.conftest import CALLBACK, MONDAY, RECEPTION, Scenario

import complaint_engine as ce
from complaint_engine import commands as C
from complaint_engine.lifecycle import (
    CAPA_TABLE,
    COMPLAINT_TABLE,
    Edge,
    TransitionTable,
    render_markdown,
    step,
)

ROOT = Path(__file__).resolve().parents[1]


class Light(enum.Enum):
    OFF = "off"
    ON = "on"
    BROKEN = "broken"
    LIMBO = "limbo"
    DONE = "done"


def test_a_table_lists_every_offender() -> None:
    with pytest.raises(ValueError, match="invalid") as err:
        TransitionTable(name="bad", states=Light, initial=Light.OFF, finals=frozenset({Light.DONE}), edges=(
            Edge("switch", Light.OFF, Light.ON),
            Edge("switch", Light.ON, Light.OFF),
            Edge("revive", Light.DONE, Light.ON),
            Edge("fail", Light.ON, Light.BROKEN),
        ))
    message = str(err.value)
    assert "final state 'done' has exit 'revive'" in message
    assert "state 'limbo' is unreachable" in message
    assert "state 'broken' cannot reach a final state" in message
    assert "state 'limbo' cannot reach a final state" in message


def test_the_shipped_tables_are_valid() -> None:
    assert COMPLAINT_TABLE.problems() == []
    assert CAPA_TABLE.problems() == []
    assert COMPLAINT_TABLE.finals == {ce.Status.REFERRED, ce.Status.CLOSED, ce.Status.MERGED}


def test_nothing_leaves_a_final_state() -> None:
    # a closed record may be added to (evidence, the cause, the measure for a breach) or have a person's data
    # erased, never left
    annotations = {"add_evidence", "investigate", "record_measure", "erase"}
    for final in COMPLAINT_TABLE.finals:
        assert set(COMPLAINT_TABLE.events_from(final)) <= annotations
        assert all(e.target is final for e in COMPLAINT_TABLE.edges if e.source is final)
    assert COMPLAINT_TABLE.events_from(ce.Status.CLOSED) == ["add_evidence", "erase", "investigate",
                                                              "record_measure"]
    assert COMPLAINT_TABLE.events_from(ce.Status.REFERRED) == ["add_evidence", "erase"]
    assert CAPA_TABLE.events_from(ce.CAPAStatus.CLOSED) == []


def test_docs_lifecycle_md_is_generated_from_the_tables() -> None:
    committed = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "stale: run `python -m complaint_engine lifecycle > docs/lifecycle.md`"


def test_the_cli_prints_the_same_markdown() -> None:
    out = subprocess.run([sys.executable, "-m", "complaint_engine", "lifecycle"], capture_output=True, text=True,
                         check=True).stdout
    assert out == render_markdown()


def test_a_refused_step_returns_nothing_and_leaves_the_complaint_equal(s: Scenario) -> None:
    c = s.dispatched()
    before = attrs.evolve(c)
    with pytest.raises(ce.InvalidTransition):
        step(c, C.Close(complaint_id=c.id), CALLBACK, s.desk.policy, s.desk.calendar, s.clock.now())
    assert c == before


def test_a_step_returns_the_new_complaint_and_the_transition(s: Scenario) -> None:
    c = s.received()
    new, transition = step(c, C.Register(complaint_id=c.id), RECEPTION, s.desk.policy, s.desk.calendar, s.clock.now(),
                           serial="A-1")
    assert (transition.event, transition.source, transition.target) == ("register", ce.Status.RECEIVED,
                                                                       ce.Status.REGISTERED)
    assert new.history[-1] == transition
    assert c.status is ce.Status.RECEIVED  # the input is untouched


def test_a_recorded_transition_equals_a_constructed_one() -> None:
    actor = ce.Actor("li", ce.Role.RECEPTION, "A")
    at = MONDAY
    fast = ce.Transition.record("register", ce.Status.RECEIVED, ce.Status.REGISTERED, actor, at, None)
    slow = ce.Transition("register", ce.Status.RECEIVED, ce.Status.REGISTERED, actor, at, None)
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
