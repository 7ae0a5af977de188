"""Commands: one frozen class per verb, validated when made, run by ``execute``/``execute_all``, and round-tripped
through plain data and JSON with a ``type`` tag."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import MANAGER, MONDAY, RECEPTION, Scenario
from tests.strategies import nasty_text

import complaint_engine as ce
from complaint_engine import commands as C
from complaint_engine.lifecycle import CAPA_TABLE, COMPLAINT_TABLE, Effect, TransitionTable
from complaint_engine.policy import DEFAULT_PERMISSIONS

ID = "0190a1b2c3d4e5f60718293a4b5c6d7e"


# --- the vocabulary ---------------------------------------------------------------------------------------------
def test_event_values_are_the_stored_event_strings() -> None:
    assert [e.value for e in C.Event] == list(ce.policy.COMPLAINT_EVENTS)
    assert set(DEFAULT_PERMISSIONS) == {e.value for e in C.Event} - {"link_capa"} | {"link_capa"}
    assert C.Event.CLOSE == "close"
    assert DEFAULT_PERMISSIONS[C.Event.CLOSE] == DEFAULT_PERMISSIONS["close"]  # permission tables stay keyed by text


def test_every_command_names_its_event_and_every_table_event_has_one_effect() -> None:
    for cls in C.COMMANDS:
        assert isinstance(cls.event, C.Event), cls
    bound = {e.event for e in COMPLAINT_TABLE.effects} | {e.event for e in CAPA_TABLE.effects}
    stepped = {e.event for e in COMPLAINT_TABLE.edges} | {e.event for e in CAPA_TABLE.edges}
    assert bound == stepped
    # the desk-level commands whose event no table takes: intake, opening a CAPA, publishing an announcement
    assert {c.event for c in C.COMMANDS} - bound == {C.Event.RECEIVE, C.Event.OPEN_CAPA}


def test_a_table_refuses_an_event_without_exactly_one_effect_or_a_mismatched_command() -> None:
    def nothing(c: ce.Complaint, cmd: Any, ctx: Any) -> dict[str, object]:
        return {}

    with pytest.raises(ValueError, match="invalid") as err:
        TransitionTable(
            name="bad", states=ce.Status, initial=ce.Status.RECEIVED,
            finals=frozenset({ce.Status.REFERRED, ce.Status.CLOSED}),
            edges=(*COMPLAINT_TABLE.edges,),
            effects=(*(e for e in COMPLAINT_TABLE.effects if e.event not in ("close", "flag")),
                     Effect.of(C.Start, nothing),  # start twice
                     Effect("flag", C.Close, lambda c, ctx: {}),  # the effect of flag bound to Close
                     Effect.of(C.OpenCAPA, nothing)))  # an event no edge takes
    message = str(err.value)
    assert "event 'close' has 0 effects, not one" in message
    assert "event 'start' has 2 effects, not one" in message
    assert "effect of 'flag' takes Close, a command of 'close'" in message
    assert "effect of 'open_capa', an event no edge takes" in message


def test_an_effect_refuses_a_command_of_another_class() -> None:
    effect = COMPLAINT_TABLE.effect(C.Start(complaint_id=ID))
    s = Scenario()
    c = s.dispatched()
    ctx = attrs.make_class("Ctx", ["command"])(C.Close(complaint_id=c.id))
    with pytest.raises(TypeError, match="takes Start, not Close"):
        effect.apply(c, ctx)


# --- made validated -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "fragment"), [
    (lambda: C.Register(complaint_id=7), r"complaint id 7.*a non-empty string"),
    (lambda: C.Register(complaint_id=""), r"complaint id ''"),
    (lambda: C.Refer(complaint_id=ID, reason=" ", referred_to="x"), r"reason \(a str withheld.*non-empty"),
    (lambda: C.Dispatch(complaint_id=ID, agreed_reply_by=dt.datetime(2024, 6, 5)), r"agreed_reply_by.*timezone"),
    (lambda: C.Dispatch(complaint_id=ID, assignee=7), r"assignee 7.*None or an actor id"),
    (lambda: C.Defer(complaint_id=ID, plan="p", planned_for="tomorrow"), r"planned_for 'tomorrow'"),
    (lambda: C.RecordCallback(complaint_id=ID, method="email", satisfaction="satisfied"), r"method 'email'"),
    (lambda: C.RecordCallback(complaint_id=ID, method="phone", satisfaction="happy"), r"satisfaction 'happy'"),
    (lambda: C.RecordCallback(complaint_id=ID, method="phone"), r"satisfaction None"),
    (lambda: C.RecordCallback(complaint_id=ID, method="phone", reached=False, satisfaction="satisfied"),
     r"None when the owner was not reached"),
    (lambda: C.RecordCallback(complaint_id=ID, method="phone", reached=1, satisfaction="satisfied"),
     r"reached 1.*True or False"),
    (lambda: C.Flag(complaint_id=ID), r"needs_capa and/or widespread"),
    (lambda: C.Flag(complaint_id=ID, widespread="yes"), r"widespread 'yes'.*True, False or None"),
    (lambda: C.Receive(owner="o", unit="u", channel="pigeon", category="noise", summary="s"), r"channel 'pigeon'"),
    (lambda: C.Receive(owner="o", unit="u", channel="phone", category="noise", summary="s", severity=1),
     r"severity 1"),
    (lambda: C.Receive(owner="o", unit="u\x00", channel="phone", category="noise", summary="s"),
     r"unit.*text without NUL"),
    (lambda: C.Receive(owner="o", unit="u", channel="phone", category="noise", summary="s", attachments=[""]),
     r"attachments\[0\]"),
    (lambda: C.OpenCAPA(complaint_ids="abc", problem="p"), r"complaint_ids 'abc'.*one or more complaint ids"),
    (lambda: C.OpenCAPA(complaint_ids=[ID], problem=None), r"problem \(a NoneType withheld"),
    (lambda: C.OpenCAPA(complaint_ids=[ID, "b", ID], problem="p"), rf"complaint_ids.*distinct.*\['{ID}'\] repeated"),
    (lambda: C.Announce(complaint_ids=["b", "b"], channel="bulletin_board", text="t"), r"distinct.*\['b'\] repeated"),
    (lambda: C.PlanCAPA(number="CAPA-1", cause="c", actions=[("a", dt.datetime(2024, 6, 9))]), r"actions\[0\]"),
    (lambda: C.VerifyCAPA(number="CAPA-1", effective="yes"), r"effective 'yes'.*True or False"),
    (lambda: C.Announce(complaint_ids=[ID], channel="radio", text="t"), r"announcement channel 'radio'"),
])
def test_a_command_made_with_bad_input_is_refused_naming_the_field(make: Any, fragment: str) -> None:
    with pytest.raises(ce.ValidationError, match=fragment):
        make()


def test_enum_fields_take_their_string_values_and_commands_are_frozen() -> None:
    cmd = C.RecordCallback(complaint_id=ID, method="visit", satisfaction="basically_satisfied")
    assert (cmd.method, cmd.satisfaction) == (ce.CallbackMethod.VISIT, ce.Satisfaction.BASICALLY_SATISFIED)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cmd.reached = False  # type: ignore[misc]
    receive = C.Receive(owner="陳大文", unit="7-0909", channel="phone", category="noise", summary="13800000000")
    assert not any(secret in repr(receive) for secret in ("陳大文", "7-0909", "13800000000"))


# --- run by the desk -----------------------------------------------------------------------------------------
def test_execute_runs_a_command_and_returns_what_its_verb_returns(s: Scenario) -> None:
    c = s.desk.execute(C.Receive(owner="o", unit="1-101", channel="phone", category="noise", summary="s"),
                       by=RECEPTION)
    assert isinstance(c, ce.Complaint)
    registered = s.desk.execute(C.Register(complaint_id=c.id), by=RECEPTION)
    assert registered.serial == "A-2024-00001"
    notice = s.desk.execute(C.Dispatch(complaint_id=c.id), by=RECEPTION)
    assert isinstance(notice, ce.HandlingNotice)
    assert notice.department == "security"  # the category's
    capa = s.desk.execute(C.OpenCAPA(complaint_ids=[c.id], problem="noise at night"), by=MANAGER)
    assert capa.number == "CAPA-A-2024-0001"
    assert s.desk.get(c.id).notice.capa_numbers == (capa.number,)  # type: ignore[union-attr]


def test_execute_refuses_what_is_not_a_command(s: Scenario) -> None:
    with pytest.raises(ce.ValidationError, match="command"):
        s.desk.execute("register", by=RECEPTION)  # type: ignore[arg-type]


def test_execute_all_lands_every_command_in_one_unit_of_work(s: Scenario) -> None:
    a, b = s.received(), s.received()
    done = s.desk.execute_all([C.Register(complaint_id=a.id), C.Register(complaint_id=b.id),
                               C.Dispatch(complaint_id=a.id)], by=RECEPTION)
    assert [type(x) for x in done] == [ce.Complaint, ce.Complaint, ce.HandlingNotice]
    assert [s.desk.get(i).serial for i in (a.id, b.id)] == ["A-2024-00001", "A-2024-00002"]


def test_execute_all_is_all_or_nothing_and_raises_the_refused_commands_own_error(s: Scenario) -> None:
    a, b = s.received(), s.received()
    with pytest.raises(ce.InvalidTransition) as err:
        s.desk.execute_all([C.Register(complaint_id=a.id), C.Dispatch(complaint_id=b.id)], by=RECEPTION)
    assert (err.value.event, err.value.state) == ("dispatch", "received")  # the refused command's own error
    assert s.desk.get(a.id) == a  # the first registration was rolled back
    assert s.desk.register(b.id, by=RECEPTION).serial == "A-2024-00001"  # and its serial returned


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_execute_all_rolls_back_on_every_backend(kind: str, tmp_path: Any) -> None:
    from tests.storage.conftest import make_repository

    repo: Any = make_repository(kind, tmp_path)
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    a = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    with pytest.raises(ce.NotFound):
        desk.execute_all([C.Register(complaint_id=a.id), C.Register(complaint_id="nope")], by=RECEPTION)
    assert repo.get(a.id).status is ce.Status.RECEIVED
    assert desk.register(a.id, by=RECEPTION).serial == "A-2024-00001"


def test_verbs_are_thin_wrappers_of_their_commands() -> None:
    one, two = Scenario(), Scenario()
    ids = iter([ID, ID])
    for x in (one, two):
        x.desk._new_id = lambda: next(ids)  # the same id on both desks
    one.received()
    two.desk.execute(C.Receive(owner="陳先生", unit="3-1201", channel="phone", category="noise",
                               summary="loud music at night"), by=RECEPTION)
    one.desk.register(ID, by=RECEPTION)
    two.desk.execute(C.Register(complaint_id=ID), by=RECEPTION)
    assert one.desk.get(ID) == two.desk.get(ID)


# --- plain data and JSON --------------------------------------------------------------------------------------
instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1),
                        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))]))
ids = st.text(alphabet="0123456789abcdef", min_size=1, max_size=32)
maybe_text = st.one_of(st.none(), nasty_text)
COMMAND_STRATEGIES = [
    st.builds(C.Receive, owner=nasty_text, unit=nasty_text, channel=st.sampled_from(list(ce.Channel)),
              category=st.sampled_from(["noise", "repair"]), summary=nasty_text,
              severity=st.sampled_from(list(ce.Severity)),
              urgency=st.one_of(st.none(), st.sampled_from(list(ce.Urgency))),
              relayed_by=maybe_text, document_number=maybe_text, attachments=st.lists(nasty_text, max_size=3)),
    st.builds(C.Refer, complaint_id=ids, reason=nasty_text, referred_to=nasty_text),
    st.builds(C.Register, complaint_id=ids),
    st.builds(C.Dispatch, complaint_id=ids, department=st.one_of(st.none(), st.sampled_from(["security"])),
              assignee=st.one_of(st.none(), ids), agreed_reply_by=st.one_of(st.none(), instants)),
    st.builds(C.Escalate, complaint_id=ids, reason=nasty_text),
    st.builds(C.Decide, complaint_id=ids, decision=nasty_text),
    st.builds(C.Start, complaint_id=ids),
    st.builds(C.RecordArrival, complaint_id=ids),
    st.builds(C.Pause, complaint_id=ids, reason=nasty_text),
    st.builds(C.Resume, complaint_id=ids),
    st.builds(C.Defer, complaint_id=ids, plan=nasty_text, planned_for=instants),
    st.builds(C.Resolve, complaint_id=ids, result=nasty_text),
    st.builds(C.Reply, complaint_id=ids, note=maybe_text),
    st.builds(C.RecordCallback, complaint_id=ids, method=st.sampled_from(list(ce.CallbackMethod)),
              satisfaction=st.sampled_from(list(ce.Satisfaction)), opinion=maybe_text),
    st.builds(C.RecordCallback, complaint_id=ids, method=st.sampled_from(list(ce.CallbackMethod)),
              reached=st.just(False)),
    st.builds(C.Reopen, complaint_id=ids, reason=nasty_text),
    st.builds(C.Close, complaint_id=ids),
    st.builds(C.Flag, complaint_id=ids, needs_capa=st.booleans(), widespread=st.one_of(st.none(), st.booleans())),
    st.builds(C.Inform, complaint_id=ids, note=nasty_text, method=st.sampled_from(list(ce.ContactMethod))),
    st.builds(C.Transfer, complaint_id=ids, department=nasty_text, reason=nasty_text,
              assignee=st.one_of(st.none(), nasty_text)),
    st.builds(C.AddEvidence, complaint_id=ids, reference=nasty_text, kind=st.sampled_from(list(ce.EvidenceKind)),
              note=maybe_text),
    st.builds(C.Investigate, complaint_id=ids, cause=nasty_text),
    st.builds(C.RecordMeasure, complaint_id=ids, clock=st.sampled_from(["reply", "arrival"]), person=nasty_text,
              measure=nasty_text),
    st.builds(C.Merge, complaint_id=st.just("dup"), into=st.just("master"), reason=nasty_text),
    st.builds(C.LinkDuplicate, complaint_id=ids, duplicate=ids),
    st.builds(C.LinkCAPA, complaint_id=ids, number=nasty_text),
    st.builds(C.CoverByAnnouncement, complaint_id=ids, number=nasty_text),
    st.builds(C.RecordBreach, complaint_id=ids, clocks=st.lists(st.sampled_from(["reply", "arrival"]), max_size=2)),
    st.builds(C.OpenCAPA, complaint_ids=st.lists(ids, min_size=1, max_size=3, unique=True), problem=nasty_text),
    st.builds(C.PlanCAPA, number=nasty_text, cause=nasty_text,
              actions=st.lists(st.one_of(st.tuples(nasty_text, instants),
                                         st.tuples(nasty_text, instants, st.one_of(st.none(), nasty_text))),
                               min_size=1, max_size=3)),
    st.builds(C.CompleteCAPAAction, number=nasty_text, action=st.one_of(st.integers(0, 9), nasty_text)),
    st.builds(C.ImplementCAPA, number=nasty_text),
    st.builds(C.VerifyCAPA, number=nasty_text, effective=st.booleans(), note=maybe_text),
    st.builds(C.CloseCAPA, number=nasty_text),
    st.builds(C.RecordActionOverdue, number=nasty_text, actions=st.lists(st.integers(0, 9), max_size=3)),
    st.builds(C.Announce, complaint_ids=st.lists(ids, min_size=1, max_size=3, unique=True),
              channel=st.sampled_from(list(ce.AnnouncementChannel)), text=nasty_text),
]


@given(data=st.data())
def test_every_command_class_has_a_strategy(data: st.DataObject) -> None:
    drawn = {type(data.draw(strategy)) for strategy in COMMAND_STRATEGIES}
    assert drawn == set(C.COMMANDS)


@given(command=st.one_of(COMMAND_STRATEGIES))
def test_commands_round_trip_through_plain_data_and_json(command: C.Command[object]) -> None:
    data = C.to_dict(command)
    assert data["type"] == type(command).__name__
    assert C.from_dict(data) == command
    assert C.from_json(C.to_json(command)) == command
    assert C.from_dict(json.loads(C.to_json(command))) == command


def test_a_json_body_becomes_a_command_in_one_call() -> None:
    body = '{"type": "Dispatch", "complaint_id": "c1", "department": "security", ' \
           '"agreed_reply_by": "2024-06-05T12:00:00+08:00"}'
    assert C.from_json(body) == C.Dispatch(complaint_id="c1", department="security",
                                           agreed_reply_by=dt.datetime(2024, 6, 5, 4, tzinfo=dt.UTC))


def test_an_unknown_type_is_refused_naming_it_and_listing_the_known_ones() -> None:
    with pytest.raises(ce.ValidationError, match=r"command type 'Explode'.*'Dispatch'.*'Register'"):
        C.from_dict({"type": "Explode", "complaint_id": "c1"})
    with pytest.raises(ce.ValidationError, match=r"command type None"):
        C.from_dict({"complaint_id": "c1"})


@pytest.mark.parametrize(("data", "path"), [
    ({"type": "Register", "complaint_id": 5}, "$.complaint_id"),
    ({"type": "Register"}, "$.complaint_id"),
    ({"type": "Register", "complaint_id": "c", "extra": 1}, "extra"),
    ({"type": "Dispatch", "complaint_id": "c", "agreed_reply_by": 1717376400}, "$.agreed_reply_by"),
    ({"type": "RecordCallback", "complaint_id": "c", "method": "pigeon", "satisfaction": "satisfied"}, "$.method"),
    ({"type": "PlanCAPA", "number": "n", "cause": "c", "actions": [["a", "not a date"]]}, "$.actions"),
])
def test_bad_plain_data_is_refused_with_the_converters_paths(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ce.ValidationError) as err:
        C.from_dict(data)
    assert any(path in f"{p} {m}" for p, m in err.value.problems), err.value.problems


def test_a_commands_own_check_is_raised_from_plain_data_too() -> None:
    with pytest.raises(ce.ValidationError, match="satisfaction None"):
        C.from_dict({"type": "RecordCallback", "complaint_id": "c", "method": "phone"})
    with pytest.raises(ce.ValidationError, match="valid JSON"):
        C.from_json("{not json")
