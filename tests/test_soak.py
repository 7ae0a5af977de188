"""The soak test's short run (#20 item 9): processes killed mid-verb leave a sound register, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.storage.conftest import PG_DSN

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


@pytest.mark.parametrize("backend", ["sqlite", *(["postgres"] if PG_DSN else [])])
def test_a_short_soak_with_sigkills_ends_sound_with_nothing_acknowledged_lost(backend: str, tmp_path: Path) -> None:
    command = [sys.executable, str(SOAK), "--processes", "3", "--seconds", "4", "--kills", "2"]
    command += ["--dsn", PG_DSN] if backend == "postgres" and PG_DSN else ["--db", str(tmp_path / "soak.sqlite")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = json.loads(done.stdout.splitlines()[0])
    assert counts["kills"] == 2
    assert counts["lost"] == 0
    assert counts["findings"] == 0
    assert counts["complaints"] >= 50
    # every acknowledged receipt is stored (a worker killed between a commit and its log line adds one unlogged)
    assert counts["acknowledged_complaints"] <= counts["complaints"]
