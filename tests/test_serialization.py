"""serialization: strict cattrs conversion, round trips for every domain class, errors with paths."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import MONDAY, RECEPTION
from tests.strategies import complaints

import complaint_engine as ce
from complaint_engine.demo import run_scripted_day
from complaint_engine.rules import CalendarDays, Deadline, Earliest, Responsible, WorkingDays
from complaint_engine.serialization import (
    SCHEMA_VERSION,
    from_dict,
    from_document,
    from_json,
    make_converter,
    to_dict,
    to_document,
    to_json,
)

DESK = run_scripted_day()
COMPLAINTS = DESK.find()
CAPAS = DESK.repository.find_capas()
ANNOUNCEMENTS = DESK.repository.find_announcements()


@settings(max_examples=60)
@given(complaints())
def test_every_complaint_round_trips(c: ce.Complaint) -> None:
    assert from_dict(to_dict(c), ce.Complaint) == c
    assert from_json(to_json(c), ce.Complaint) == c
    assert from_document(to_document(c), ce.Complaint, history=c.history) == c


def test_every_domain_class_round_trips() -> None:
    c = next(x for x in COMPLAINTS if x.notice and x.callbacks)
    objects: list[object] = [*COMPLAINTS, *CAPAS, *ANNOUNCEMENTS, c.notice, c.callbacks[0], c.history[0],
                             c.history[0].actor, *c.deadlines.values(), Responsible("engineering", "t")]
    objects += [x.escalation for x in COMPLAINTS if x.escalation] + [x.referral for x in COMPLAINTS if x.referral]
    objects += [x.deferral for x in COMPLAINTS if x.deferral] + [a for r in CAPAS for a in r.actions]
    for obj in objects:
        assert from_dict(to_dict(obj), type(obj)) == obj, type(obj).__name__


def test_capa_transitions_keep_capa_states_apart_from_complaint_states() -> None:
    report = ce.CAPAReport(number="CAPA-1", office="A", complaint_serials=("A-2024-00001",), problem="p",
                           opened_at=MONDAY, status=ce.CAPAStatus.CLOSED,
                           history=(ce.Transition("close_capa", ce.CAPAStatus.VERIFIED, ce.CAPAStatus.CLOSED,
                                                  RECEPTION, MONDAY),))
    data = to_dict(report)
    assert data["history"][0]["target"] == "capa:closed"  # "closed" is also a complaint status
    assert from_dict(data, ce.CAPAReport) == report


def test_the_shape_of_a_document() -> None:
    data = json.loads(to_document(COMPLAINTS[1]))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["received_at"].endswith("+08:00")  # ISO 8601 with the offset
    assert data["channel"] == "phone"  # enums by value
    assert data["deadlines"]["reply"]["rule"] == "earliest(2 days, 3 working days)"  # rules as text
    assert "relayed_by" not in data  # defaults are omitted, and restored on reading
    assert "history" not in data  # stores keep the history once, as transition rows


def test_malformed_input_lists_every_problem_with_its_path() -> None:
    data = to_dict(next(c for c in COMPLAINTS if c.notice))
    data["notice"]["capa_numbers"] = [17]
    data["received_at"] = "2024-09-27T08:30:00"  # naive
    data["channel"] = "pigeon"
    data["colour"] = "red"
    with pytest.raises(ce.ValidationError) as err:
        from_dict(data, ce.Complaint)
    paths = {path for path, _ in err.value.problems}
    assert {"$.notice.capa_numbers[0]", "$.received_at", "$.channel", "$"} <= paths
    assert dict(err.value.problems)["$.notice.capa_numbers[0]"].endswith("17 is not str")
    assert any("colour" in message for _, message in err.value.problems)


@pytest.mark.parametrize(("field", "value"), [("version", "1"), ("version", True), ("summary", 5),
                                              ("attachments", "not-a-list-of-strings")])
def test_types_are_strict(field: str, value: object) -> None:
    data = to_dict(COMPLAINTS[1])
    data[field] = value
    with pytest.raises(ce.ValidationError, match=field):
        from_dict(data, ce.Complaint)


def test_values_of_the_wrong_json_type_are_named_by_their_path() -> None:
    data = to_dict(next(c for c in COMPLAINTS if c.history and c.deadlines))
    data["received_at"] = 1717376400  # a number, not ISO 8601 text
    data["channel"] = 3  # a number, not an enum's value
    data["history"][0]["target"] = 2  # a number, not a state
    rule = next(iter(data["deadlines"]))
    data["deadlines"][rule]["rule"] = 48  # a number, not a rule's text
    with pytest.raises(ce.ValidationError) as err:
        from_dict(data, ce.Complaint)
    problems = dict(err.value.problems)  # each names the value and what was wanted
    assert problems["$.received_at"] == ("invalid value for type, expected datetime: 1717376400 is not an ISO 8601 "
                                         "string")
    assert problems["$.channel"].endswith("3 is not one of ['letter', 'phone', 'fax', 'visit', 'online']")
    assert problems["$.history[0].target"].endswith("2 is not a state")
    assert problems[f"$.deadlines['{rule}'].rule"].endswith("48 is not a deadline rule's text")
    with pytest.raises(ce.ValidationError, match=r"Complaint JSON.*valid JSON"):
        from_json("{not json", ce.Complaint)


def test_bad_rule_text_in_a_document_is_refused() -> None:
    data = to_dict(COMPLAINTS[1])
    data["deadlines"]["reply"]["rule"] = "whenever"
    with pytest.raises(ce.ValidationError, match=r"deadlines"):
        from_dict(data, ce.Complaint)


def test_documents_of_another_schema_version_or_not_json_are_refused() -> None:
    doc = json.loads(to_document(COMPLAINTS[1]))
    doc["schema_version"] = 1  # a version-1 document repeated the history; only migrations read it
    with pytest.raises(ce.ValidationError, match=r"schema_version .* 1"):
        from_document(json.dumps(doc), ce.Complaint, key="c-17")
    with pytest.raises(ce.ValidationError, match="c-17"):
        from_document("{not json", ce.Complaint, key="c-17")
    with pytest.raises(ce.ValidationError, match="JSON object"):
        from_document("[1, 2]", ce.Complaint, key="c-17")


def test_each_converter_is_independent() -> None:
    a, b = make_converter(), make_converter()
    assert a is not b
    rule = Earliest(CalendarDays(2), WorkingDays(3))
    clock = Deadline(name="reply", rule=rule, started_at=MONDAY, due=MONDAY + dt.timedelta(days=2))
    assert a.structure(a.unstructure(clock, Deadline), Deadline) == clock


@given(st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and "\x00" not in t))
def test_any_text_survives_json(text: str) -> None:
    """Any text the desk takes (it refuses NUL, which PostgreSQL cannot store: tests/test_desk.py)."""
    c = ce.ComplaintDesk(clock=ce.FixedClock(MONDAY)).receive(by=RECEPTION, owner=text, unit=text, channel="phone",
                                                            category="noise", summary=text)
    assert from_json(to_json(c), ce.Complaint) == c
