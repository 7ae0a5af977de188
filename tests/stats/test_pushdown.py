"""``analyse(repository, period)``: on every backend the report equals the frame path's — on PostgreSQL, where the
server counts it (SQL aggregates, rows fetched only for the findings), and on the others, read into a frame."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import CALLBACK, MANAGER, OTHER_OFFICE, RECEPTION, TECH, at
from tests.storage.conftest import BACKENDS, PG_DSN, make_repository

import complaint_engine as ce
from complaint_engine.simulation import simulate_year
from complaint_engine.stats import AnalysisReport, ComplaintFrame, Rate, analyse
from complaint_engine.storage.memory import InMemoryRepository
from complaint_engine.tallies import CANDIDATE_COLUMNS

B_MANAGER = ce.Actor("mgr-b", ce.Role.DEPARTMENT_MANAGER, "B")
B_TECH = ce.Actor("tech-b", ce.Role.TECHNICIAN, "B")
B_CALLBACK = ce.Actor("cs-b", ce.Role.CALLBACK_OFFICER, "B")
B_GM = ce.Actor("gm-b", ce.Role.GENERAL_MANAGER, "B")
GM = ce.Actor("gm-sun", ce.Role.GENERAL_MANAGER, "A")
STAFF = {"A": (RECEPTION, MANAGER, TECH, CALLBACK, GM), "B": (OTHER_OFFICE, B_MANAGER, B_TECH, B_CALLBACK, B_GM)}
# few units, buildings and facilities: repeats, recurring problems and widespread problems do occur
UNITS = ("1-101", "1-102", "1-103", "1-104", "1-105", "2-201", "2-202", "B7")
LOCATIONS = (None, None, None, "5座電梯")
CATEGORIES = ("noise", "repair", "fees", "cleaning")
START = at(2023, 12, 1)
NOW = at(2025, 6, 1)


def same(a: Any, b: Any, where: str = "$") -> None:
    """Equal, floats to the last few bits (a server's quantile interpolates in another order than numpy)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), f"{where}: {a} != {b}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def same_report(a: AnalysisReport, b: AnalysisReport) -> None:
    same(a.to_dict(), b.to_dict())
    assert (a.previous is None) == (b.previous is None)
    if a.previous is not None and b.previous is not None:
        same(a.previous.to_dict(), b.previous.to_dict(), "$.previous")
    assert [f.to_dict() for f in a.findings] == [f.to_dict() for f in b.findings]


def _walk(desk: ce.ComplaintDesk, draw: st.DrawFn, c: ce.Complaint, t: dt.datetime) -> None:
    """One complaint taken a random way along the procedure, each step at a random later instant."""
    reception, manager, tech, callback, gm = STAFF[c.office]

    def later() -> dt.datetime:
        nonlocal t
        t += dt.timedelta(minutes=draw(st.integers(0, 60 * 72)))
        return t

    choice = draw(st.integers(0, 11))
    if choice == 0:
        desk.refer(c.id, by=reception, reason="not ours", referred_to="city", at=later())
        return
    steps = draw(st.integers(0, 8))
    try:
        if steps > 0:
            desk.register(c.id, by=reception, at=later())
        if steps > 1 and c.severity is ce.Severity.MAJOR:
            desk.escalate(c.id, by=manager, reason="major", at=later())
            desk.decide(c.id, by=gm, decision="go", at=later())
        elif steps > 1:
            desk.dispatch(c.id, by=reception, assignee=tech.id, at=later())
        if steps > 2:
            if c.is_repair:
                desk.record_arrival(c.id, by=tech, at=later())
            else:
                desk.start(c.id, by=manager, at=later())
        if steps > 3:
            desk.resolve(c.id, by=manager, result="done", at=later())
        if steps > 4:
            desk.reply(c.id, by=reception, at=later())
        if steps > 5:
            answer = draw(st.sampled_from(list(ce.Satisfaction)))
            reached = desk.record_callback(c.id, by=callback, method="phone", satisfaction=answer, at=later())
            if reached.status is not ce.Status.CALLED_BACK:
                return
        if steps > 6:
            desk.close(c.id, by=callback, at=later())
    except (ce.InvalidTransition, ce.ValidationError, ce.PermissionDenied):
        return  # a step this complaint cannot take: it stays where it is


@st.composite
def registers(draw: st.DrawFn) -> list[ce.Complaint]:
    """A register of two offices, built through the real desk: referrals, merges, escalations, callbacks of every
    answer, clocks met, breached and still running, measures recorded."""
    default = ce.Policy.default()  # entries backdated to their instants
    lenient = attrs.evolve(default, limits=attrs.evolve(default.limits, max_backdate=dt.timedelta(days=800)))
    desk = ce.ComplaintDesk(policy=lenient, clock=ce.FixedClock(NOW))
    t = START
    ids: list[str] = []
    for _ in range(draw(st.integers(0, 28))):
        # whole days apart, often: complaints exactly a window apart test the windows' ends
        t += dt.timedelta(days=draw(st.integers(0, 25)), minutes=draw(st.sampled_from((0, 0, 1, 600))))
        office = draw(st.sampled_from(("A", "A", "B")))
        category = draw(st.sampled_from(CATEGORIES))
        c = desk.receive(by=STAFF[office][0], owner="陳先生", unit=draw(st.sampled_from(UNITS)),
                         channel=draw(st.sampled_from(list(ce.Channel))), category=category, summary="s",
                         severity=draw(st.sampled_from(("normal", "normal", "normal", "major"))),
                         urgency=draw(st.sampled_from(("minor", "emergency"))) if category == "repair" else None,
                         location=draw(st.sampled_from(LOCATIONS)), at=t)
        if ids and draw(st.integers(0, 9)) == 0:
            with_master = desk.get(draw(st.sampled_from(ids)))
            if with_master.unit == c.unit and with_master.office == office and not with_master.status.ended:
                desk.merge(c.id, into=with_master.id, by=STAFF[office][0], reason="same", at=t)
                continue
        ids.append(c.id)
        _walk(desk, draw, c, t)
    desk.sweep()
    for c in desk.find():  # a measure on some breached clocks (KPI 22)
        late = [d for d in c.deadlines.values() if d.breached]
        if late and draw(st.booleans()):
            desk.record_measure(c.id, by=STAFF[c.office][4], clock=late[0].name, person="staff-1",
                                measure="warning")
    return list(desk.find())


def _policies(draw: st.DrawFn) -> tuple[ce.Policy, dict[str, ce.Policy]]:
    policy = ce.Policy.default()
    if not draw(st.booleans()):
        return policy, {}
    a = policy.analysis
    own = attrs.evolve(policy, analysis=attrs.evolve(
        a, repeat_window_days=draw(st.integers(1, 60)), acknowledge_within_minutes=draw(st.integers(1, 600)),
        dispatch_within_minutes=draw(st.integers(1, 3000)), escalate_within_hours=draw(st.integers(1, 48)),
        recurrence_window_days=draw(st.integers(1, 30)),
        widespread_units=draw(st.integers(2, 5)), widespread_window_days=draw(st.integers(1, 30)),
        recurrence_min=draw(st.integers(2, 4))),
        callbacks=attrs.evolve(policy.callbacks, satisfied=frozenset({ce.Satisfaction.SATISFIED})))
    return policy, {"B": own}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One store per backend, emptied for each example."""
    out = {kind: make_repository(kind, tmp_path_factory.mktemp(kind)) for kind in BACKENDS
           if kind != "postgres-begin-alone"}
    yield out
    for repo in out.values():
        repo.close()


def _empty(kind: str, repo: Any, tmp: Path) -> Any:
    if kind == "postgres":
        repo.drop_all_data_for_tests()
        return repo
    repo.close()
    return make_repository(kind, tmp)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(register=registers(), data=st.data())
def test_a_store_analyses_a_period_as_its_frame_does(stores: dict[str, Any], tmp_path: Path,
                                                       register: list[ce.Complaint], data: st.DataObject) -> None:
    policy, office_policies = _policies(data.draw)
    period = data.draw(st.sampled_from(("2024H1", "2024H2", "2024", "2024Q3", "2024-07", "2025H1")))
    office = data.draw(st.sampled_from((None, None, "A", "B")))
    as_of = data.draw(st.sampled_from((None, at(2024, 8, 15), NOW)))
    months = {"H": 6, "Q": 3, "-": 1}
    n = next((m for key, m in months.items() if key in period), 12)
    households = data.draw(st.sampled_from((None, [300.0 + i for i in range(n)])))
    frame = ComplaintFrame.from_complaints(register, tz=policy.tz)
    expected = analyse(frame, period, policy=policy, office=office, households=households, as_of=as_of,
                       office_policies=office_policies)
    for kind in list(stores):
        stores[kind] = repo = _empty(kind, stores[kind], tmp_path)
        repo.add_many(register)
        got = analyse(repo, period, policy=policy, office=office, households=households, as_of=as_of,
                      office_policies=office_policies)
        same_report(got, expected)


def test_the_windows_ends_count_as_the_frame_counts_them(tmp_path: Path) -> None:
    """A repeat exactly the window after the one before counts; a complaint received exactly when a CAPA was
    implemented is not a recurrence, one exactly the window after is, one a minute later is not."""
    policy = ce.Policy.default()
    lenient = attrs.evolve(policy, limits=attrs.evolve(policy.limits, max_backdate=dt.timedelta(days=800)))
    desk = ce.ComplaintDesk(policy=lenient, clock=ce.FixedClock(NOW))
    window = dt.timedelta(days=policy.analysis.repeat_window_days)
    first = at(2024, 3, 1, 9)

    def received(instant: dt.datetime, unit: str = "1-101", category: str = "noise") -> ce.Complaint:
        c = desk.receive(by=RECEPTION, owner="陳先生", unit=unit, channel="phone", category=category, summary="s",
                         at=instant)
        return desk.register(c.id, by=RECEPTION, at=instant)

    received(first)
    received(first + window)  # a repeat: exactly the window after
    received(first + 2 * window + dt.timedelta(minutes=1))  # not one: a minute too late
    implemented = at(2024, 5, 1, 9)
    capas = []
    for unit in ("1-101", "1-102"):
        seed = received(first - window, unit, "cleaning")
        desk.dispatch(seed.id, by=RECEPTION, at=first)
        capa = desk.open_capa(by=MANAGER, complaint_ids=[seed.id], problem="noise", at=first)
        desk.plan_capa(capa.number, by=MANAGER, cause="c", actions=[("fix", implemented)], at=first)
        desk.complete_capa_action(capa.number, by=MANAGER, action=0, at=implemented)
        capas.append(desk.implement_capa(capa.number, by=MANAGER, at=implemented))
    recurrence = dt.timedelta(days=policy.analysis.recurrence_window_days)
    received(implemented, "1-101", "cleaning")  # at the instant of implementation, not after it
    received(implemented + recurrence + dt.timedelta(minutes=1), "1-101", "cleaning")  # a minute after the window
    received(implemented + recurrence, "1-102", "cleaning")  # the window's last instant: a recurrence
    register = list(desk.find())
    frame = ComplaintFrame.from_complaints(register, tz=policy.tz)
    expected = analyse(frame, "2024", policy=policy, capas=capas)
    assert expected.kpis["repeat_rate"].value.numerator == 1
    assert expected.kpis["recurrence_after_capa"].value == Rate(1, 2)
    for kind in (b for b in BACKENDS if b != "postgres-begin-alone"):
        repo = make_repository(kind, tmp_path)
        repo.add_many(register)  # type: ignore[attr-defined]
        same_report(analyse(repo, "2024", policy=policy, capas=capas), expected)
        repo.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def simulated() -> tuple[list[ce.Complaint], list[ce.CAPAReport], ce.Policy]:
    """A year of the demo's service centre: CAPA reports implemented, findings, every path."""
    policy = ce.Policy.default()
    memory = InMemoryRepository()
    simulate_year(memory, year=2024, seed=11, policy=policy)
    return list(memory.find()), list(memory.find_capas()), policy


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "postgres-begin-alone"])
def test_a_simulated_year_analyses_the_same_in_every_store(backend: str, tmp_path: Path, simulated: Any) -> None:
    register, capas, policy = simulated
    repo = make_repository(backend, tmp_path)
    repo.add_many(register)  # type: ignore[attr-defined]
    frame = ComplaintFrame.from_complaints(register, tz=policy.tz)
    assert any(c.implemented_at for c in capas)
    strict = attrs.evolve(policy, analysis=attrs.evolve(policy.analysis, repeat_window_days=3))
    asked_recurrence = 0
    for period, office_policies in (("2024H1", {}), ("2024H2", {}), ("2024", {"A": strict})):
        expected = analyse(frame, period, policy=policy, capas=capas, office_policies=office_policies,
                           households=[500.0] * (12 if period == "2024" else 6))
        assert expected.findings
        asked_recurrence += expected.kpis["recurrence_after_capa"].value.denominator
        got = analyse(repo, period, policy=policy, capas=capas, office_policies=office_policies,
                      households=[500.0] * (12 if period == "2024" else 6))
        same_report(got, expected)
    assert asked_recurrence  # the CAPA reports' recurrence was asked and answered
    repo.close()  # type: ignore[attr-defined]


@pytest.mark.skipif(PG_DSN is None, reason="needs COMPLAINT_ENGINE_PG_DSN")
def test_postgres_counts_on_the_server_and_fetches_only_what_compares_complaints(tmp_path: Path,
                                                                                simulated: Any) -> None:
    """The push-down is what runs: the store's ``tallies`` answers, in one snapshot for the period and the one
    before, and the only rows it sends back are 8 columns of the period's valid complaints (for the findings and
    the repeat rate)."""
    register, capas, policy = simulated
    repo = make_repository("postgres", tmp_path)
    repo.add_many(register)  # type: ignore[attr-defined]
    asked: list[Any] = []
    with repo.snapshot() as view:  # type: ignore[attr-defined]
        tallies = view.tallies

        def spy(request: Any) -> Any:
            answer = tallies(request)
            asked.append(answer)
            return answer

        view.tallies = spy
        report = analyse(view, "2024H1", policy=policy, capas=capas)
    assert len(asked) == 2  # the period and the one before
    assert tuple(asked[0].candidates) == CANDIDATE_COLUMNS
    assert len(asked[0].candidates["id"]) == report.valid < report.received
    repo.close()  # type: ignore[attr-defined]


def test_a_report_with_households_compares_with_a_previous_period_analysed_without_them(simulated: Any) -> None:
    """The period before is analysed without households: its report has no rate per 100 households, and the
    change of that rate is unknown (it raised KeyError)."""
    register, _capas, policy = simulated
    report = analyse(ComplaintFrame.from_complaints(register, tz=policy.tz), "2024H2", policy=policy,
                     households=[500.0] * 6)
    assert report.previous is not None
    assert "per_100_households" not in report.previous.kpis.kpis
    assert report.change()["per_100_households"] is None
    assert report.change()["valid"] == report.valid - report.previous.valid


def test_analysing_something_that_is_neither_a_frame_nor_a_store_is_refused_naming_it(simulated: Any) -> None:
    register, _capas, policy = simulated
    with pytest.raises(ce.ValidationError, match=r"invalid source 'list'.*a ComplaintFrame, or a repository"):
        analyse(register, "2024H1", policy=policy)
