"""audit: a sound register has no findings; each way of changing a store behind the desk's back is found."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import MONDAY, OTHER_OFFICE, RECEPTION

import complaint_engine as ce
from complaint_engine.audit import AuditFinding, audit, audit_report, findings_in
from complaint_engine.demo import run_scripted_day
from complaint_engine.instants import to_us
from complaint_engine.storage import InMemoryRepository, SQLiteRepository
from complaint_engine.storage.lean import code_of, document_text
from complaint_engine.storage.sql import SQLSnapshot


def _store(path: Path) -> tuple[SQLiteRepository, list[ce.Complaint]]:
    """The scripted day's register (escalations, deferrals, referrals, CAPA numbers) in a SQLite file."""
    desk = run_scripted_day()
    repo = SQLiteRepository(path)
    repo.add_many(desk.find())
    return repo, [c for c in repo.find() if c.serial is not None]


def _edit_document(path: Path, complaint_id: str, change: dict[str, object]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    doc = json.loads(document_text(conn.execute("SELECT doc FROM complaints WHERE id = ?",
                                                (complaint_id,)).fetchone()[0]))
    doc.update(change)
    conn.execute("UPDATE complaints SET doc = ? WHERE id = ?", (json.dumps(doc, ensure_ascii=False), complaint_id))
    conn.close()


def _problems(findings: list[AuditFinding]) -> list[tuple[str, str | None]]:
    return [(f.rule, f.complaint_id) for f in findings]


def test_a_register_the_desk_wrote_is_sound(tmp_path: Path) -> None:
    desk = run_scripted_day()
    assert audit(desk.repository, desk.policy) == []
    repo, _ = _store(tmp_path / "day.sqlite")
    assert audit(repo) == []
    assert audit(repo, office="A") == []


def test_p_7_a_status_changed_in_the_document_is_found(tmp_path: Path) -> None:
    _, registered = _store(tmp_path / "day.sqlite")
    victim = next(c for c in registered if c.status is not ce.Status.CLOSED)
    _edit_document(tmp_path / "day.sqlite", victim.id, {"status": "closed"})
    found = audit(SQLiteRepository(tmp_path / "day.sqlite"))
    assert _problems(found) == [("P-7", victim.id)] * 3
    assert "status 'closed', but the last recorded transition" in found[0].problem
    assert "its digest differs from the hash chain's" in found[1].problem  # the document's digest
    assert found[2].problem == "the analysis columns status differ from the stored document"  # edited around


def test_p_7_a_change_saved_without_its_transition_is_found(tmp_path: Path) -> None:
    repo, registered = _store(tmp_path / "day.sqlite")
    victim = registered[0]
    repo.save(ce.model.replace(victim, {"summary": "quietly rewritten"}))  # through the API, no transition
    found = audit(repo)
    assert _problems(found) == [("P-7", victim.id)] * 2
    assert f"version {victim.version + 1}, but {len(victim.history)} transitions" in found[0].problem
    assert "its digest differs from the hash chain's" in found[1].problem  # no save of the desk wrote it


def test_p_7_a_rewritten_transition_is_found(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = next(c for c in registered if len(c.history) > 3)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER transitions_no_update")  # only someone lifting the append-only guard can do this
    conn.execute("UPDATE transitions SET source = ? WHERE complaint_id = ? AND seq = 2",
                 (code_of("status", "closed"), victim.id))
    conn.close()
    found = audit(SQLiteRepository(path))
    # the lifecycle chain and the hash chain both break; the lifted trigger is a finding of its own
    assert set(_problems(found)) == {("P-7", None), ("P-7", victim.id)}
    assert any("transition 2" in f.problem and "the chain is broken" in f.problem for f in found)
    assert any("hash chain" in f.problem for f in found)


@pytest.mark.parametrize(("seq", "change", "problem"), [
    (2, f"event = {code_of('event', 'start')}", "('start' from 'registered' to 'dispatched') is not an edge of the "
                                                "lifecycle"),
    (2, f"at_us = {to_us(dt.datetime.fromisoformat('2000-01-01T00:00:00+08:00'))}", "is earlier than transition 1"),
    (0, f"event = {code_of('event', 'register')}", "the history starts with 'register' into 'received'"),
])
def test_p_7_a_transition_rewritten_in_place_is_found(tmp_path: Path, seq: int, change: str, problem: str) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = next(c for c in registered if [t.event for t in c.history[:3]] == ["receive", "register", "dispatch"])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER transitions_no_update")
    conn.execute(f"UPDATE transitions SET {change} WHERE complaint_id = ? AND seq = ?", (victim.id, seq))
    conn.close()
    found = audit(SQLiteRepository(path))
    # a backdated row also says when it was really entered; the lifted trigger is a finding of its own
    assert set(_problems(found)) == {("P-7", None), ("P-7", victim.id)}
    assert any(problem in f.problem for f in found)


def test_p_7_a_complaint_whose_log_was_deleted_is_found(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = registered[0]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER transitions_no_delete")
    conn.execute("DELETE FROM transitions WHERE complaint_id = ?", (victim.id,))
    conn.close()
    found = [(f.rule, f.complaint_id, f.problem) for f in audit(SQLiteRepository(path))]
    assert found[0] == ("P-7", None, "the append-only trigger 'transitions_no_delete' of the transition log is "
                                     "missing or disabled: its rows can be changed without a trace")
    assert found[1] == ("P-7", victim.id, "no transition is recorded")
    # and the instants the history gave the analysis columns are gone from the document's facts
    assert found[2:] == [("P-7", victim.id, "the analysis columns registered_us, dispatched_us, replied_us, "
                                           "closed_us differ from the stored document")]


def test_p_7_an_analysis_column_edited_behind_the_desk_is_found_naming_the_column(tmp_path: Path) -> None:
    """A breach cleared in the fact columns changes every report without touching a document or a transition."""
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = registered[0]
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute("UPDATE complaints SET reply_breached = 1 - coalesce(reply_breached, 0) WHERE id = ?",
                        (victim.id,)).rowcount == 1
    conn.close()
    found = audit(SQLiteRepository(path))
    assert [(f.rule, f.complaint_id, f.problem) for f in found] == [
        ("P-7", victim.id, "the analysis columns reply_breached differ from the stored document")]


@pytest.mark.parametrize(("change", "problem"), [
    ({"document_number": "LETTER-7"}, "document number 'LETTER-7' differs from the serial"),
    ({"serial": None}, "registered, but has no serial"),
])
def test_p_6_1_3_numbers_edited_in_the_document_are_found(tmp_path: Path, change: dict[str, object],
                                                          problem: str) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = registered[0]
    _edit_document(path, victim.id, change)
    found = audit(SQLiteRepository(path))
    assert any(f.rule == "P-6.1.3" and f.complaint_id == victim.id and problem in f.problem for f in found), found


def test_p_6_1_3_a_deleted_registration_leaves_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    first = min(registered, key=lambda c: c.serial or "")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DELETE FROM complaints WHERE id = ?", (first.id,))  # the log keeps its rows
    conn.close()
    found = audit(SQLiteRepository(path))
    missing = [f for f in found if f.complaint_id is None]
    assert [(f.rule, f.serial) for f in missing] == [("P-6.1.3", first.serial)]
    assert "a gap" in missing[0].problem
    # the last number of the sequence is now beyond its count
    assert [f.rule for f in found if f.complaint_id is not None] == ["P-6.1.3"]


def test_p_6_1_3_a_notice_number_that_differs_is_found(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    repo, registered = _store(path)
    victim = next(c for c in registered if c.notice is not None)
    notice = json.loads(document_text(repo._conn.execute("SELECT doc FROM complaints WHERE id = ?",
                                                         (victim.id,)).fetchone()[0]))
    notice = {**notice["notice"], "serial": "A-2024-99999"}
    _edit_document(path, victim.id, {"notice": notice})
    found = audit(SQLiteRepository(path))
    assert sorted(_problems(found)) == [("P-6.1.3", victim.id), ("P-7", victim.id)]
    assert any("handling notice number 'A-2024-99999' differs" in f.problem for f in found)


def test_p_6_1_3_a_serial_held_twice_is_found(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    a, b = sorted(registered, key=lambda c: c.serial or "")[:2]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP INDEX complaints_serial")  # the unique index would refuse it
    conn.execute("UPDATE complaints SET serial = ? WHERE id = ?", (a.serial, b.id))
    conn.close()
    _edit_document(path, b.id, {"serial": a.serial, "document_number": a.serial,
                                **({"notice": {**ce.serialization.to_dict(b.notice), "serial": a.serial}}
                                   if b.notice else {})})
    found = audit(SQLiteRepository(path))
    assert any(f.serial == a.serial and f.complaint_id is None and "held by 2 complaints" in f.problem
               for f in found)
    assert any(f.serial == b.serial and "a gap" in f.problem for f in found)  # and b's own number is now missing


def test_an_unregistered_complaint_with_a_serial_is_found() -> None:
    repo = InMemoryRepository()
    desk = ce.ComplaintDesk(repository=repo, clock=ce.FixedClock(MONDAY))
    c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    repo.save(ce.model.replace(c, {"serial": "A-2024-00001", "document_number": "A-2024-00001"}))
    rules = {(f.rule, f.problem.split(",")[0]) for f in audit(repo)}
    assert ("P-6.1.3", "serial 'A-2024-00001'") in rules
    assert any(rule == "P-7" for rule, _ in rules)  # saved without a transition, too


def test_the_cli_audits_a_database(tmp_path: Path) -> None:
    path = tmp_path / "day.sqlite"
    repo, registered = _store(path)
    repo.close()
    run = [sys.executable, "-m", "complaint_engine", "audit", "--db", str(path), "--lang", "en"]
    ok = subprocess.run(run, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "sound" in ok.stdout
    assert f"{len(registered)} registered" in ok.stdout
    victim = next(c for c in registered if c.status is not ce.Status.CLOSED)
    _edit_document(path, victim.id, {"status": "closed"})
    bad = subprocess.run(run, capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert f"P-7 {victim.serial}: status 'closed'" in bad.stdout
    missing = subprocess.run([*run[:-3], str(tmp_path / "nope.sqlite")], capture_output=True, text=True, check=False)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    other = tmp_path / "minutes.sqlite"  # another program's database is refused, not turned into a register
    sqlite3.connect(other).execute("CREATE TABLE minutes (said TEXT)").connection.close()
    foreign = subprocess.run([*run[:-3], str(other), "--lang", "en"], capture_output=True, text=True, check=False)
    assert foreign.returncode == 2
    assert "holds no complaint register" in foreign.stderr
    assert [name for (name,) in sqlite3.connect(other).execute("SELECT name FROM sqlite_schema")] == ["minutes"]


def test_the_cli_audit_goes_on_past_a_document_it_cannot_read(tmp_path: Path) -> None:
    """Exit status 0 sound, 1 findings, 2 an error: an unreadable document is a finding naming its complaint, and
    the audit still reads every other one."""
    path = tmp_path / "day.sqlite"
    repo, registered = _store(path)
    repo.close()
    victim = registered[0]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE complaints SET doc = substr(doc, 1, 30) WHERE id = ?", (victim.id,))
    conn.close()
    run = [sys.executable, "-m", "complaint_engine", "audit", "--db", str(path), "--lang", "en"]
    done = subprocess.run(run, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert f"P-7 {victim.id}: unreadable stored document" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("office", ["A", "Z"])
def test_the_audit_can_be_limited_to_one_office(tmp_path: Path, office: str) -> None:
    repo, _ = _store(tmp_path / "day.sqlite")
    assert audit(repo, office=office) == []


def test_sequences_follow_the_policys_format_and_the_year_of_registration() -> None:
    policy = ce.Policy.from_dict({"preset": "default", "serial_format": "{office}/{year}/{seq:03d}"})
    clock = ce.FixedClock(dt.datetime(2024, 12, 31, 23, 50, tzinfo=MONDAY.tzinfo))
    desk = ce.ComplaintDesk(policy=policy, clock=clock)
    serials = []
    for _ in range(3):  # the third is registered in 2025: a new sequence
        c = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
        serials.append(desk.register(c.id, by=RECEPTION).serial)
        clock.advance(minutes=5)
    assert serials == ["A/2024/001", "A/2024/002", "A/2025/001"]
    assert audit(desk.repository, policy) == []
    wrong = audit(desk.repository)  # the default format did not make these numbers
    assert any("in the format '{office}-{year}-{seq:05d}'" in f.problem for f in wrong)


@given(gaps=st.lists(st.integers(0, 3 * 48), min_size=1, max_size=25),
       registered=st.lists(st.booleans(), min_size=25, max_size=25),
       window_halfhours=st.integers(1, 20 * 48))
def test_an_audit_in_windows_reads_each_complaint_once_and_finds_what_one_read_finds(
        gaps: list[int], registered: list[bool], window_halfhours: int) -> None:
    """Windows of receipt start at the first receipt and step by ``window``: a complaint received exactly on
    a boundary belongs to the later window only, and the last receipt is in the last window. (Receipts and
    windows in half hours, so receipts fall on boundaries often.)"""
    policy = ce.Policy.from_dict({"preset": "default", "serial_format": "{office}/{year}/{seq:03d}"})
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(policy=policy, clock=clock)
    for gap, register in zip(gaps, registered, strict=False):
        clock.advance(minutes=30 * gap)
        by = RECEPTION if gap % 3 else OTHER_OFFICE
        c = desk.receive(by=by, owner="o", unit="u", channel="phone", category="noise", summary="s")
        if register:
            desk.register(c.id, by=by)
    everything = desk.repository.find()
    for fmt_policy in (policy, None):  # sound under its own format; findings under the default one
        report = audit_report(desk.repository, fmt_policy, window=dt.timedelta(minutes=30 * window_halfhours))
        assert report.complaints == len(everything)
        assert report.registered == sum(c.serial is not None for c in everything)
        assert sorted(report.findings, key=str) == sorted(findings_in(everything, fmt_policy), key=str)
    assert audit_report(desk.repository, policy).findings == ()


@pytest.mark.parametrize("window", [dt.timedelta(0), dt.timedelta(minutes=-5), "7 days", 7])
def test_an_audit_window_must_be_a_positive_timedelta(window: object) -> None:
    with pytest.raises(ce.ValidationError, match="window") as err:
        audit_report(InMemoryRepository(), window=window)  # type: ignore[arg-type]
    assert "a positive datetime.timedelta" in str(err.value)


def test_the_audit_reads_its_windows_in_one_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Desks committing between two windows of the audit show in none of them. Read without a snapshot, the
    early complaint's window would be read before its registration (serial 1) and the late one's after its
    registration (serial 2): a false gap."""
    path = tmp_path / "live.sqlite"
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=clock)
    early = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    clock.advance(days=10)
    late = desk.receive(by=RECEPTION, owner="o", unit="u", channel="phone", category="noise", summary="s")
    windows_read: list[int] = []
    find = SQLSnapshot.find

    def find_then_commit_elsewhere(self: SQLSnapshot, **kwargs: Any) -> list[ce.Complaint]:
        found = find(self, **kwargs)
        windows_read.append(len(found))
        if len(windows_read) == 1:  # after the first window, another desk registers both
            desk.register(early.id, by=RECEPTION)
            desk.register(late.id, by=RECEPTION)
        return found

    monkeypatch.setattr(SQLSnapshot, "find", find_then_commit_elsewhere)
    report = audit_report(SQLiteRepository(path, create=False), window=dt.timedelta(days=1))
    assert len(windows_read) == 11
    assert sum(windows_read) == 2
    assert report.findings == ()
    assert (report.complaints, report.registered) == (2, 0)  # as the register stood when the audit began
    monkeypatch.undo()
    after = audit_report(SQLiteRepository(path, create=False))
    assert (after.findings, after.registered) == ((), 2)  # and sound after it, with both registered


def test_the_audit_lists_entries_made_long_after_they_took_effect() -> None:
    """A desk refuses an ``at`` more than ``max_backdate`` before its clock; a transition that says otherwise was
    changed behind the desk, and the audit says so."""
    import attrs
    from tests.conftest import Scenario

    from complaint_engine.audit import findings_in
    from complaint_engine.model import replace

    s = Scenario()
    c = s.registered()
    assert findings_in([c]) == []
    moved = replace(c, {"history": (c.history[0], attrs.evolve(c.history[1], recorded_at=c.history[1].at
                                                                + dt.timedelta(days=9)))})
    [finding] = findings_in([moved])
    assert "transition 1 ('register')" in finding.problem
    assert "more than 1 day, 0:00:00 later" in finding.problem
    ahead = replace(c, {"history": (c.history[0], attrs.evolve(c.history[1], recorded_at=c.history[1].at
                                                                - dt.timedelta(hours=2)))})
    assert "after it was entered" in findings_in([ahead])[0].problem


@pytest.mark.parametrize("change", ["actor = 'someone-else'", "note = 'number: CAPA-A-2024-9999'",
                                    "at_us = at_us + 9000000"])
def test_p_7_an_edit_no_lifecycle_rule_sees_breaks_the_hash_chain(tmp_path: Path, change: str) -> None:
    """Who acted, a note, a second of the instant: changed behind the desk (the append-only trigger lifted), the
    lifecycle is still a valid one; the row's link in its complaint's hash chain is not."""
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = registered[0]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER transitions_no_update")
    conn.execute(f"UPDATE transitions SET {change} WHERE complaint_id = ? AND seq = 1", (victim.id,))
    conn.close()
    found = audit(SQLiteRepository(path))
    assert ("P-7", victim.id) in _problems(found)
    assert any("hash chain" in f.problem for f in found)  # at the save's last row, whose link covers row 1


@pytest.mark.parametrize(("change", "field"), [
    ({"owner": "Someone Else"}, "owner"),
    ({"summary": "quietly rewritten"}, "summary"),
    ({"unit": "9-0909"}, "unit"),
])
def test_p_7_a_document_edit_no_lifecycle_rule_sees_is_found_by_its_digest(tmp_path: Path, change: dict[str, object],
                                                                         field: str) -> None:
    """The owner, the summary, the unit: edited in the stored document behind the desk, same length or not, the
    lifecycle is still a valid one — the digest the last save's link carries is not the document's any more."""
    path = tmp_path / "day.sqlite"
    _, registered = _store(path)
    victim = registered[0]
    _edit_document(path, victim.id, change)
    found = audit(SQLiteRepository(path))
    assert ("P-7", victim.id) in _problems(found), field
    assert any("its digest differs from the hash chain's" in f.problem for f in found)


@pytest.mark.parametrize(("change", "effect"), [(-1, "would repeat a serial"), (+2, "would leave a gap")])
def test_p_6_1_3_a_sequence_row_changed_behind_the_desk_is_found(tmp_path: Path, change: int, effect: str) -> None:
    """A sequence row lowered by one blocks every later registration of its office (the next serial is taken);
    one raised leaves a gap: the audit reads the rows against the serials they issued."""
    path = tmp_path / "r.sqlite"
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=ce.FixedClock(MONDAY))
    for _ in range(3):
        c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="s")
        desk.register(c.id, by=RECEPTION)
    assert audit(SQLiteRepository(path)) == []
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE sequences SET value = value + ? WHERE name = 'complaint:A:2024'", (change,))
    conn.close()
    [finding] = audit(SQLiteRepository(path))
    assert finding.rule == "P-6.1.3"
    assert f"the sequence row of A 2024 says {3 + change}, but 3 serials were issued" in finding.problem
    assert effect in finding.problem
