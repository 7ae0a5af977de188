"""``python -m complaint_engine demo`` runs the scripted day through the real desk."""

from __future__ import annotations

import subprocess
import sys

import complaint_engine as ce
from complaint_engine.demo import format_register, run_scripted_day


def test_the_scripted_day_exercises_every_path() -> None:
    desk = run_scripted_day()
    complaints = desk.find()
    statuses = {c.status for c in complaints}
    assert {ce.Status.REFERRED, ce.Status.CLOSED, ce.Status.DEFERRED, ce.Status.IN_PROGRESS} <= statuses
    assert any(c.deadlines.get("arrival") and c.deadlines["arrival"].breached for c in complaints)
    assert any(c.escalation and c.escalation.decision for c in complaints)
    assert len(desk.repository.find_capas()) == 1
    assert len(desk.repository.find_announcements()) == 1
    serials = [c.serial for c in complaints if c.serial]
    assert serials == [f"A-2024-{n:05d}" for n in range(1, len(serials) + 1)]


def test_the_register_masks_owners_unless_asked() -> None:
    complaints = run_scripted_day().find()
    assert "陳先生" not in format_register(complaints)
    assert "陳先生" in format_register(complaints, show_personal_data=True)


def test_the_demo_command_prints_the_register() -> None:
    out = subprocess.run([sys.executable, "-m", "complaint_engine", "demo"], capture_output=True, text=True,
                         check=True).stdout
    assert "投訴登記表" in out
    assert "A-2024-00006" in out
    assert "CAPA-A-2024-0001" in out
