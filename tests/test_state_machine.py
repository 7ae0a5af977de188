"""Random verbs by random actors against the desk; invariants hold after every step.

Invariants: the history is one unbroken chain ending in the status; a refused call changes nothing;
serials are unique and gap-free per office and year; every CLOSED complaint had a reached callback or
the allowed unreachable attempts; every deadline met late is breached and has an owner; after an
overdue sweep no running clock past due is unbreached.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from tests.conftest import CALLBACK, GM, MANAGER, MONDAY, OTHER_OFFICE, RECEPTION, SUPERVISOR, TECH

import complaint_engine as ce
from complaint_engine.audit import audit
from complaint_engine.lifecycle import COMPLAINT_TABLE
from complaint_engine.rules import ClockState
from complaint_engine.storage import Repository

ACTORS = [RECEPTION, MANAGER, TECH, GM, SUPERVISOR, CALLBACK, OTHER_OFFICE]
VERBS = ["refer", "register", "dispatch", "escalate", "decide", "start", "record_arrival", "pause", "resume",
         "defer", "resolve", "reply", "callback_ok", "callback_bad", "callback_unreached", "reopen", "close",
         "flag_capa", "flag_widespread", "open_capa", "announce", "inform", "transfer", "add_evidence", "merge",
         "investigate", "record_measure"]


VERB_EVENT = {v: v for v in VERBS} | {
    "callback_ok": "record_callback", "callback_bad": "record_callback", "callback_unreached": "record_callback",
    "flag_capa": "flag", "flag_widespread": "flag", "open_capa": "link_capa",
}
SIDE_VERBS = {"pause", "resume", "flag_capa", "flag_widespread", "open_capa", "announce", "escalate", "inform",
              "transfer", "add_evidence", "investigate", "record_measure"}
DEAD_ENDS = {"refer", "merge"}  # taken only now and then, so most complaints go the whole way
PROPER = {
    **dict.fromkeys(["refer", "register", "dispatch", "reply", "announce", "inform", "transfer", "add_evidence",
                     "merge"], RECEPTION),
    "investigate": MANAGER, "record_measure": SUPERVISOR,
    **dict.fromkeys(["escalate", "start", "defer", "flag_capa", "flag_widespread", "open_capa"], MANAGER),
    **dict.fromkeys(["record_arrival", "pause", "resume", "resolve"], TECH),
    **dict.fromkeys(["callback_ok", "callback_bad", "callback_unreached", "close", "reopen"], CALLBACK),
}


# every clock on, and service levels that major complaints, repairs and fees take (escalation tightens)
LEVELLED = ce.Policy.from_dict({
    "name": "levelled",
    "limits": {"acknowledge": "30 minutes", "start": "2 hours", "update": "1 working days"},
    "service_levels": [
        {"name": "major", "when": {"severity": "major"}, "reply": "24 hours", "start": "30 minutes"},
        {"name": "repairs", "when": {"category": "repair"}, "update": "4 hours"},
        {"name": "fees", "when": {"category": "fees"}, "reply": "5 working days", "acknowledge": "none"},
    ]})


class DeskMachine(RuleBasedStateMachine):
    @initialize(policy=st.sampled_from([ce.Policy.default(), ce.Policy.estate(), ce.Policy.procedure(), LEVELLED]))
    def start(self, policy: ce.Policy) -> None:
        self.clock = ce.FixedClock(MONDAY)
        self.desk = ce.ComplaintDesk(policy=policy, clock=self.clock, repository=self.new_repository())
        self.ids: list[str] = []

    def new_repository(self) -> Repository | None:
        """The store under test (``None``: the desk's in-memory default); storage tests override it."""
        return None

    @precondition(lambda self: len(self.ids) < 4)  # few complaints, so the steps drive them deep
    @rule(category=st.sampled_from(["noise", "repair", "fees"]), major=st.booleans(),
          urgency=st.sampled_from(["minor", "emergency"]), actor=st.sampled_from([RECEPTION, OTHER_OFFICE]))
    def receive(self, category: str, major: bool, urgency: str, actor: ce.Actor) -> None:
        c = self.desk.receive(by=actor, owner="o", unit="1-101", channel="phone", category=category, summary="s",
                              severity="major" if major else "normal",
                              urgency=urgency if category == "repair" else None)
        self.ids.append(c.id)

    @rule(minutes=st.one_of(st.integers(0, 30), st.integers(0, 3 * 24 * 60)))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    def proper_actor(self, verb: str) -> ce.Actor:
        if verb == "decide":
            return GM if self.desk.policy.escalation_role is ce.Role.GENERAL_MANAGER else SUPERVISOR
        return PROPER[verb]

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data(), any_verb=st.booleans(), wrong_actor=st.integers(0, 9), repeat=st.integers(1, 8))
    def act(self, data: st.DataObject, any_verb: bool, wrong_actor: int, repeat: int) -> None:
        cid = data.draw(st.sampled_from(self.ids))
        for _ in range(repeat):
            status = self.desk.get(cid).status
            # mostly a verb the state allows (referral, a dead end, rarely), by the role that should do it;
            # sometimes any verb by anyone, to probe refusals
            allowed = [v for v in VERBS if VERB_EVENT[v] in COMPLAINT_TABLE.events_from(status)
                       and (v not in DEAD_ENDS or any_verb)]
            progress = [v for v in allowed if v not in SIDE_VERBS]
            if any_verb and wrong_actor == 0:
                verbs = VERBS
            elif progress and data.draw(st.integers(0, 4)) != 0:
                verbs = progress
            else:
                verbs = allowed or VERBS
            verb = data.draw(st.sampled_from(verbs))
            actor = data.draw(st.sampled_from(ACTORS)) if wrong_actor == 0 else self.proper_actor(verb)
            self.apply(cid, verb, actor)

    def apply(self, cid: str, verb: str, actor: ce.Actor) -> None:
        before = self.desk.repository.find()
        later = self.clock.now() + dt.timedelta(days=3)
        d = self.desk
        calls = {
            "refer": lambda: d.refer(cid, by=actor, reason="not ours", referred_to="utility"),
            "register": lambda: d.register(cid, by=actor),
            "dispatch": lambda: d.dispatch(cid, by=actor, assignee=TECH.id),
            "escalate": lambda: d.escalate(cid, by=actor, reason="needs coordination"),
            "decide": lambda: d.decide(cid, by=actor, decision="go"),
            "start": lambda: d.start(cid, by=actor),
            "record_arrival": lambda: d.record_arrival(cid, by=actor),
            "pause": lambda: d.pause(cid, by=actor, reason="owner away"),
            "resume": lambda: d.resume(cid, by=actor),
            "defer": lambda: d.defer(cid, by=actor, plan="later", planned_for=later),
            "resolve": lambda: d.resolve(cid, by=actor, result="done"),
            "reply": lambda: d.reply(cid, by=actor),
            "callback_ok": lambda: d.record_callback(cid, by=actor, method="phone", satisfaction="satisfied"),
            "callback_bad": lambda: d.record_callback(cid, by=actor, method="phone", satisfaction="dissatisfied"),
            "callback_unreached": lambda: d.record_callback(cid, by=actor, method="phone", reached=False),
            "reopen": lambda: d.reopen(cid, by=actor, reason="again"),
            "close": lambda: d.close(cid, by=actor),
            "flag_capa": lambda: d.flag(cid, by=actor, needs_capa=True),
            "flag_widespread": lambda: d.flag(cid, by=actor, widespread=True),
            "open_capa": lambda: d.open_capa(by=actor, complaint_ids=[cid], problem="recurring"),
            "announce": lambda: d.announce(by=actor, complaint_ids=[cid], channel="bulletin_board", text="fixed"),
            "inform": lambda: d.inform(cid, by=actor, note="parts ordered"),
            "transfer": lambda: d.transfer(cid, by=actor, reason="misrouted", department=(
                "engineering" if (d.get(cid).notice or ce.HandlingNotice("", "", later)).department != "engineering"
                else "security")),
            "add_evidence": lambda: d.add_evidence(cid, by=actor, reference="file://p.jpg", kind="photo"),
            "merge": lambda: d.merge(cid, into=next((i for i in self.ids if i != cid), cid), by=actor, reason="twice"),
            "investigate": lambda: d.investigate(cid, by=actor, cause="a worn part"),
            "record_measure": lambda: d.record_measure(cid, by=actor, clock="reply", person="tech-zhao",
                                                       measure="warning"),
        }
        self.clock.advance(minutes=3)
        try:
            calls[verb]()
            event(f"accepted: {verb}")
        except ce.ComplaintEngineError:
            assert self.desk.repository.find() == before, f"refused {verb} changed the store"

    @precondition(lambda self: bool(self.ids))
    @rule(data=st.data())
    def capa_step(self, data: st.DataObject) -> None:
        """A step of a CAPA report opened on the way: plan (actions with owners), complete one action, implement,
        verify, close — by the role that does it; a refusal changes nothing."""
        d, later = self.desk, self.clock.now() + dt.timedelta(days=data.draw(st.integers(1, 20)))
        reports = d.repository.find_capas()
        if not reports:  # open one on a complaint of office A that has a notice, if there is one
            noticed = [c.id for c in d.repository.find(office="A") if c.notice is not None and not c.status.ended]
            if noticed:
                self.clock.advance(minutes=3)
                d.open_capa(by=MANAGER, complaint_ids=[data.draw(st.sampled_from(noticed))], problem="recurring")
            return
        r = data.draw(st.sampled_from(reports))
        undone = [i for i, a in enumerate(r.actions) if a.done_at is None]
        fitting = {ce.CAPAStatus.OPEN: "plan", ce.CAPAStatus.PLANNED: "complete" if undone else "implement",
                   ce.CAPAStatus.IMPLEMENTED: "verify", ce.CAPAStatus.VERIFIED: "close"}.get(r.status, "plan")
        # mostly the step the report is ready for; sometimes any, to probe the refusals
        step = data.draw(st.sampled_from([fitting] * 4 + ["plan", "complete", "implement", "verify", "close"]))
        calls = {
            "plan": lambda: d.plan_capa(r.number, by=MANAGER, cause="c", actions=[
                ("fix", later, "engineering"), ("check", later + dt.timedelta(days=3))]),
            "complete": lambda: d.complete_capa_action(r.number, by=MANAGER, action=data.draw(
                st.sampled_from(undone) if undone and data.draw(st.booleans()) else st.integers(0, 2))),
            "implement": lambda: d.implement_capa(r.number, by=MANAGER),
            "verify": lambda: d.verify_capa(r.number, by=MANAGER, effective=data.draw(st.booleans())),
            "close": lambda: d.close_capa(r.number, by=MANAGER),
        }
        self.clock.advance(minutes=3)
        try:
            calls[step]()
            event(f"accepted: capa {step}")
        except ce.ComplaintEngineError:
            assert d.get_capa(r.number) == r, f"refused capa {step} changed the report"

    @invariant()
    def implemented_capas_have_every_action_done_by_someone(self) -> None:
        for r in self.desk.repository.find_capas():
            for a in r.actions:
                assert (a.done_at is None) == (a.done_by is None)
                assert a.owner is not None
            if r.status in (ce.CAPAStatus.IMPLEMENTED, ce.CAPAStatus.VERIFIED, ce.CAPAStatus.CLOSED):
                assert all(a.done_at is not None for a in r.actions)

    @precondition(lambda self: bool(self.ids))
    @rule()
    def sweep(self) -> None:
        self.desk.sweep()
        now = self.clock.now()
        for c in self.desk.repository.find():
            for d in c.deadlines.values():
                if d.state is ClockState.RUNNING and d.due < now:
                    assert d.breached, f"{d.name} of {c.id} is past due and not breached"

    def teardown(self) -> None:
        for c in self.desk.repository.find() if hasattr(self, "desk") else ():
            event(f"reached: {c.status.value}")

    @invariant()
    def histories_are_unbroken_chains(self) -> None:
        for c in self.desk.repository.find():
            assert c.history[0].source is None
            for prev, nxt in zip(c.history, c.history[1:], strict=False):
                assert nxt.source is prev.target
                assert nxt.at >= prev.at
            assert c.history[-1].target is c.status

    @invariant()
    def serials_are_unique_and_gap_free(self) -> None:
        seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
        for c in self.desk.repository.find():
            if c.serial is not None:
                office, year, seq = c.serial.split("-")
                seqs[(office, year)].append(int(seq))
                assert c.notice is None or c.notice.serial == c.serial
        for numbers in seqs.values():
            assert sorted(numbers) == list(range(1, len(numbers) + 1))

    @invariant()
    def closed_complaints_had_a_callback_or_the_allowed_attempts(self) -> None:
        policy = self.desk.policy
        for c in self.desk.repository.find(status=ce.Status.CLOSED):
            if policy.callbacks.required:
                assert c.reached_callback is not None or c.unreached_attempts >= policy.callbacks.attempts

    @invariant()
    def late_deadlines_are_breached_and_owned(self) -> None:
        for c in self.desk.repository.find():
            for d in (*c.deadlines.values(), *c.past_deadlines):
                if d.met_at is not None and d.met_at > d.due:
                    assert d.breached
                if d.breached:
                    assert d.responsible.department is not None

    @invariant()
    def the_audit_finds_nothing(self) -> None:
        assert audit(self.desk.repository, self.desk.policy) == []  # no false alarm on any path a desk takes

    @invariant()
    def merges_point_both_ways_and_never_chain(self) -> None:
        stored = {c.id: c for c in self.desk.repository.find()}
        for c in stored.values():
            if c.status is ce.Status.MERGED:
                master = stored[c.merged_into or ""]
                assert c.id in master.merged
                assert master.merged_into is None  # no chain
                assert all(d.met_at is not None for d in c.deadlines.values())
            for dup in c.merged:
                assert stored[dup].merged_into == c.id

    @invariant()
    def referred_complaints_have_no_serial(self) -> None:
        for c in self.desk.repository.find(status=ce.Status.REFERRED):
            assert c.serial is None
            assert c.referral is not None


DeskMachine.TestCase.settings = settings(settings.default, max_examples=80, stateful_step_count=60)
test_desk_state_machine = DeskMachine.TestCase
