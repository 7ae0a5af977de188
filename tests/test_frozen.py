"""Deep-frozen aggregates: no mapping, sequence or array inside a returned domain object can be changed, so
nothing a caller does to it can reach a store or a cache."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from tests.conftest import MONDAY, RECEPTION

import complaint_engine as ce
from complaint_engine.frozen import FrozenDict, replace
from complaint_engine.rules import WorkingCalendar
from complaint_engine.stats import pareto
from complaint_engine.storage import SQLiteRepository

MUTATIONS = [
    lambda m: m.pop(next(iter(m))),
    lambda m: m.clear(),
    lambda m: m.update({"x": 1}),
    lambda m: m.setdefault("x", 1),
    lambda m: m.popitem(),
    lambda m: m.__setitem__("x", 1),
    lambda m: m.__delitem__(next(iter(m))),
]


@pytest.mark.parametrize("mutate", MUTATIONS)
def test_a_returned_complaints_deadlines_cannot_be_changed_on_any_store(mutate: Any, tmp_path: Path) -> None:
    """The embedder's experiment: popping a clock from a returned complaint used to empty the cached copy that
    the next get() returned, while a fresh repository on the same file still showed it."""
    repo = SQLiteRepository(tmp_path / "r.sqlite")
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    with pytest.raises(TypeError, match="immutable"):
        mutate(c.deadlines)
    assert "reply" in desk.get(c.id).deadlines
    assert desk.get(c.id) == c
    repo.close()
    assert "reply" in SQLiteRepository(tmp_path / "r.sqlite").get(c.id).deadlines


def test_the_memory_store_cannot_be_changed_through_a_returned_complaint() -> None:
    desk = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    with pytest.raises(TypeError):
        c.deadlines.pop("reply")  # type: ignore[attr-defined]
    assert "reply" in desk.get(c.id).deadlines


def test_policy_tables_and_labels_are_frozen() -> None:
    policy = ce.Policy.default()
    for mapping in (policy.permissions, policy.analysis.targets, policy.categories[0].labels,
                    policy.departments[0].labels):
        with pytest.raises(TypeError):
            mapping.pop(next(iter(mapping)))  # type: ignore[attr-defined]
    loaded = ce.Policy.from_dict({"analysis": {"targets": {"satisfaction": 0.9}},
                                  "permissions": {"close": ["reception"]}})
    assert isinstance(loaded.analysis.targets, FrozenDict)
    assert isinstance(loaded.permissions, FrozenDict)
    assert ce.Policy.default().permissions == policy.permissions  # the defaults are shared, and safe to share


def test_arrays_inside_frozen_results_are_read_only() -> None:
    table = pareto(np.array(["a", "b", "a"], dtype=object))
    with pytest.raises(ValueError, match="read-only"):
        table.counts[0] = 99
    cal = WorkingCalendar.for_region("CN")
    with pytest.raises(ValueError, match="read-only"):
        cal.days.is_work[0] = True
    caller = np.array([3, 1])
    pareto(["a", "b"], counts=caller)
    caller[0] = 4  # the caller's own array stays theirs


def test_a_frozen_dict_is_a_dict_for_readers() -> None:
    d = FrozenDict({"a": 1})
    assert d == {"a": 1}
    assert json.dumps(d) == '{"a": 1}'
    assert pickle.loads(pickle.dumps(d)) == d
    assert type(pickle.loads(pickle.dumps(d))) is FrozenDict
    assert copy.deepcopy(d) == d
    assert dict(d) | {"b": 2} == {"a": 1, "b": 2}
    with pytest.raises(TypeError):
        d |= {"b": 2}


@attrs.frozen(slots=False)
class Checked:
    x: int = attrs.field(validator=attrs.validators.instance_of(int))


def test_replace_is_only_used_on_classes_it_is_safe_for() -> None:
    """The lifecycle's fast copy skips __init__: it refuses a class with validators or slots, and applies the
    fields' converters, so its copy is exactly what __init__ would build."""
    with pytest.raises(TypeError, match="validators of Checked"):
        replace(Checked(1), {"x": "not an int"})
    for slotted in (RECEPTION, ce.Referral(reason="r", referred_to="t")):
        with pytest.raises(TypeError, match="not a dict-backed attrs class"):
            replace(slotted, {})
    desk = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY))
    c = desk.register(desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise",
                                   summary="s").id, by=RECEPTION)
    copied = replace(c, {"deadlines": dict(c.deadlines)})
    assert type(copied.deadlines) is FrozenDict
    assert copied == attrs.evolve(c, deadlines=dict(c.deadlines))
    with pytest.raises(AttributeError, match="no field 'nope'"):
        replace(c, {"nope": 1})
