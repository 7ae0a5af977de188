"""Daily heads of the hash chains (#20 item 4): exported, kept elsewhere, verified later."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import MANAGER, MONDAY, RECEPTION, SHANGHAI, TECH

import complaint_engine as ce
from complaint_engine.audit_heads import day_heads, read_heads, verify_heads, write_heads
from complaint_engine.instants import to_us
from complaint_engine.storage import SQLiteRepository


def _two_days(path: Path) -> None:
    clock = ce.FixedClock(MONDAY)
    desk = ce.ComplaintDesk(repository=SQLiteRepository(path), clock=clock)
    for day in range(2):
        clock.set(MONDAY + dt.timedelta(days=day))
        c = desk.receive(by=RECEPTION, owner="o", unit="3-1201", channel="phone", category="noise", summary="s")
        desk.register(c.id, by=RECEPTION)
        desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
        desk.start(c.id, by=MANAGER)


def test_a_day_s_head_changes_when_a_link_of_that_day_is_changed_and_no_other_does(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    _two_days(path)
    heads = day_heads(SQLiteRepository(path), SHANGHAI)
    assert sorted(day for _, day in heads) == [dt.date(2024, 6, 3), dt.date(2024, 6, 4)]
    assert read_heads(write_heads(heads)) == heads
    assert verify_heads(day_heads(SQLiteRepository(path), SHANGHAI), heads) == []
    conn = sqlite3.connect(path, isolation_level=None)  # the second day's last link rewritten, trigger lifted
    conn.execute("DROP TRIGGER transitions_no_update")
    day = dt.datetime(2024, 6, 4, tzinfo=SHANGHAI)
    conn.execute("UPDATE transitions SET hash = ? WHERE hash IS NOT NULL AND at_us >= ? AND at_us < ? "
                 "AND seq = (SELECT max(seq) FROM transitions)",
                 ("0" * 64, to_us(day), to_us(day + dt.timedelta(days=1))))
    conn.close()
    [problem] = verify_heads(day_heads(SQLiteRepository(path), SHANGHAI), heads)
    assert "office A on 2024-06-04" in problem


def test_the_cli_exports_and_verifies_heads(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    _two_days(path)
    heads = tmp_path / "heads.tsv"
    run = [sys.executable, "-m", "complaint_engine", "audit", "--db", str(path), "--lang", "en"]
    done = subprocess.run([*run, "--export-heads", str(heads)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(heads.read_text(encoding="utf-8").splitlines()) == 2
    again = subprocess.run([*run, "--verify-heads", str(heads)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout
    kept = heads.read_text(encoding="utf-8").replace("\t2024-06-03\t", "\t2024-06-03\tff", 1)
    heads.write_text(kept, encoding="utf-8")
    differs = subprocess.run([*run, "--verify-heads", str(heads)], capture_output=True, text=True, timeout=120)
    assert differs.returncode == 1
    assert "on 2024-06-03 differ from the exported head" in differs.stdout
