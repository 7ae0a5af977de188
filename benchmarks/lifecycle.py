"""The complaint lifecycle against general state-machine libraries, in one process.

Run: python benchmarks/lifecycle.py [--n 100000]

N complaints go through six transitions (register, dispatch, start, resolve, reply, record_callback):
  pure step        complaint_engine.lifecycle.step: permissions, guards, clocks, history — no storage
  desk call        ComplaintDesk verbs with an InMemoryRepository: validation, unit of work, save
  transitions      transitions.Machine, model.trigger(event), no guards
  statemachine     python-statemachine, sm.send(event), no guards (timed on a tenth, it is slow)
Prints microseconds per transition and the ratios the lifecycle issue targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from zoneinfo import ZoneInfo

import complaint_engine as ce
from complaint_engine import commands as C
from complaint_engine.lifecycle import step

EVENTS = ["register", "dispatch", "start", "resolve", "reply", "record_callback"]
STATES = ["received", "registered", "dispatched", "in_progress", "resolved", "replied", "called_back"]
TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2024, 6, 3, 9, tzinfo=TZ)
REC = ce.Actor("li", ce.Role.RECEPTION, "A")
MGR = ce.Actor("wang", ce.Role.DEPARTMENT_MANAGER, "A")
CBO = ce.Actor("chen", ce.Role.CALLBACK_OFFICER, "A")


def bench_pure(n: int) -> float:
    policy = ce.Policy.default()
    cal = policy.calendar()
    base = ce.Complaint(id="x", office="A", owner="o", unit="u", channel=ce.Channel.PHONE, category="noise",
                        summary="s", received_at=T0, status=ce.Status.RECEIVED,
                        history=(ce.Transition("receive", None, ce.Status.RECEIVED, REC, T0),))
    plan = [(C.Register(complaint_id="x"), REC, "A-2024-00001"),
            (C.Dispatch(complaint_id="x", department="security"), REC, None),
            (C.Start(complaint_id="x"), MGR, None), (C.Resolve(complaint_id="x", result="done"), MGR, None),
            (C.Reply(complaint_id="x"), REC, None),
            (C.RecordCallback(complaint_id="x", method="phone", satisfaction="satisfied"), CBO, None)]
    t = time.perf_counter()
    for _ in range(n):
        c = base
        for command, actor, serial in plan:
            c = step(c, command, actor, policy, cal, T0, serial=serial)[0]
    return (time.perf_counter() - t) / (n * 6)


def bench_desk(n: int) -> float:
    clock = ce.FixedClock(T0)
    desk = ce.ComplaintDesk(clock=clock)
    ids = [desk.receive(by=REC, owner="o", unit="u", channel="phone", category="noise", summary="s").id
           for _ in range(n)]
    t = time.perf_counter()
    for cid in ids:
        desk.register(cid, by=REC)
        desk.dispatch(cid, by=REC)
        desk.start(cid, by=MGR)
        desk.resolve(cid, by=MGR, result="done")
        desk.reply(cid, by=REC)
        desk.record_callback(cid, by=CBO, method="phone", satisfaction="satisfied")
    return (time.perf_counter() - t) / (n * 6)


def bench_transitions(n: int) -> float | None:
    try:
        from transitions import Machine
    except ImportError:
        return None

    class Model:
        pass

    table = [{"trigger": e, "source": STATES[i], "dest": STATES[i + 1]} for i, e in enumerate(EVENTS)]
    models = [Model() for _ in range(n)]
    Machine(model=models, states=STATES, transitions=table, initial="received", auto_transitions=False)
    t = time.perf_counter()
    for m in models:
        for e in EVENTS:
            m.trigger(e)  # type: ignore[attr-defined]
    return (time.perf_counter() - t) / (n * 6)


def bench_statemachine(n: int) -> float | None:
    try:
        from statemachine import State, StateMachine
    except ImportError:
        return None

    class Complaint(StateMachine):  # type: ignore[misc]
        received = State(initial=True)
        registered = State()
        dispatched = State()
        in_progress = State()
        resolved = State()
        replied = State()
        called_back = State(final=True)
        register = received.to(registered)
        dispatch = registered.to(dispatched)
        start = dispatched.to(in_progress)
        resolve = in_progress.to(resolved)
        reply = resolved.to(replied)
        record_callback = replied.to(called_back)

    machines = [Complaint() for _ in range(n)]
    t = time.perf_counter()
    for sm in machines:
        for e in EVENTS:
            sm.send(e)
    return (time.perf_counter() - t) / (n * 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    n = args.n
    pure = bench_pure(n)
    desk = bench_desk(n)
    trans = bench_transitions(n)
    psm = bench_statemachine(max(1, n // 10))
    print(f"{n:,} complaints x 6 transitions; microseconds per transition")
    print(f"  complaint_engine pure step   {pure * 1e6:8.2f}")
    print(f"  complaint_engine desk call   {desk * 1e6:8.2f}  (in-memory repository)")
    print(f"  transitions trigger          {trans * 1e6:8.2f}" if trans else "  transitions: not installed")
    print(f"  python-statemachine send     {psm * 1e6:8.2f}" if psm else "  python-statemachine: not installed")
    if trans:
        print(f"pure step vs transitions: {pure / trans:.2f}x the time (target < 1)")
        print(f"desk call vs transitions: {desk / trans:.2f}x the time (target <= 3)")
    if psm:
        print(f"pure step vs python-statemachine: {psm / pure:.1f}x faster")


if __name__ == "__main__":
    main()
