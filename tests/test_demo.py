"""The main job: ``python -m complaint_engine demo | report | export`` on a fresh database."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import complaint_engine as ce
from complaint_engine.cli import main
from complaint_engine.demo import format_register, run_scripted_day


def run(*args: str, cwd: Path, messages: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own; ``messages``: the language of its messages ($COMPLAINT_ENGINE_LANG)."""
    env = {k: v for k, v in os.environ.items() if k != "COMPLAINT_ENGINE_LANG"}
    if messages:
        env["COMPLAINT_ENGINE_LANG"] = messages
    return subprocess.run([sys.executable, "-m", "complaint_engine", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env=env)


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


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    done = run("demo", "--seed", "3", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "complaints.sqlite", done.stdout


def test_demo_simulates_a_year_and_prints_both_analyses(demo_db: tuple[Path, str]) -> None:
    db, out = demo_db
    assert db.exists()
    assert "业主投诉分析报告 — 2024H1" in out  # the default calendar is the mainland's: Simplified Chinese
    assert "业主投诉分析报告 — 2024" in out
    for heading in ("排列图", "曲线图", "回访率", "急修不过夜率", "曼-肯德尔检验"):
        assert heading in out
    pytest.importorskip("matplotlib")
    assert (db.parent / "2024H1-pareto-category.png").exists()


def test_demo_is_deterministic_for_a_seed(demo_db: tuple[Path, str], tmp_path: Path) -> None:
    _, first = demo_db
    again = run("demo", "--seed", "3", "--db", str(tmp_path / "again.sqlite"), cwd=tmp_path)
    assert again.returncode == 0
    def same(line: str) -> bool:  # what differs from run to run: file names and the wall time
        return not any(text in line for text in ("已存入", "图表:", "python -m complaint_engine export", "演示用时"))

    assert [line for line in first.splitlines() if same(line)] == [
        line for line in again.stdout.splitlines() if same(line)]


def test_the_demo_year_has_every_kind_of_event(demo_db: tuple[Path, str]) -> None:
    from complaint_engine.storage import SQLiteRepository

    repo = SQLiteRepository(demo_db[0])
    complaints = repo.find()
    assert len(complaints) > 300
    statuses = {c.status for c in complaints}
    assert {ce.Status.REFERRED, ce.Status.CLOSED} <= statuses
    assert any(c.escalation and c.escalation.decision for c in complaints)
    assert any(c.deferral for c in complaints)
    assert any(not cb.reached for c in complaints for cb in c.callbacks)
    assert any(cb.satisfaction is ce.Satisfaction.DISSATISFIED for c in complaints for cb in c.callbacks)
    assert any(d.breached for c in complaints for d in c.deadlines.values())
    [capa] = repo.find_capas()
    assert capa.status is ce.CAPAStatus.CLOSED
    assert len(repo.find_announcements()) == 1


def test_report_and_export_from_the_demo_database(demo_db: tuple[Path, str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = str(demo_db[0])
    assert main(["report", "--db", db, "--period", "2024Q2", "--lang", "en"]) == 0
    assert "Complaint analysis — 2024Q2" in capsys.readouterr().out
    assert main(["export", "--db", db, "--period", "2024H1", "--what", "register", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0].startswith("编号,来文编号,投诉日期,业主(客户)名称")
    assert "A-2024-00001" in csv_text
    assert main(["export", "--db", db, "--period", "2024", "--what", "notices", "--format", "md", "--lang",
                 "zh-Hans"]) == 0
    assert "业主(客户)投诉处理通知单" in capsys.readouterr().out
    assert main(["export", "--db", db, "--period", "2024", "--what", "capa", "--format", "md", "--lang", "en"]) == 0
    assert "CAPA-A-2024-0001" in capsys.readouterr().out
    assert main(["report", "--db", db, "--period", "2024H2", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report-2024H2.md").read_text(encoding="utf-8").startswith("# 业主投诉分析报告 — 2024H2")
    assert main(["report", "--db", db, "--period", "2024H2", "--format", "json", "--out", str(tmp_path / "out")]) == 0
    # the CLI reads only the half-year and the one before it (compared with); the report is the whole register's
    from complaint_engine.stats import ComplaintFrame, analyse
    from complaint_engine.storage import SQLiteRepository

    with SQLiteRepository(demo_db[0], create=False) as repo:
        whole = analyse(ComplaintFrame.from_repository(repo), "2024H2", capas=repo.find_capas())
    written = json.loads((tmp_path / "out" / "report-2024H2.json").read_text(encoding="utf-8"))
    assert written.pop("language") == "zh-Hans"
    assert written == json.loads(json.dumps(whole.to_dict(), default=str))


def test_report_prints_one_report_per_period_in_the_format_asked(demo_db: tuple[Path, str],
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = str(demo_db[0])
    assert main(["report", "--db", db, "--period", "2024Q1", "2024Q2", "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert text.count("# Complaint analysis — ") == 2
    assert text.index("— 2024Q1") < text.index("— 2024Q2")
    assert main(["report", "--db", db, "--period", "2024Q1", "--period", "2024Q2", "--format", "json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["period"] for r in reports] == ["2024Q1", "2024Q2"]
    assert main(["report", "--db", db, "--period", "2024H1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"] == "2024H1"  # one period: one object
    assert main(["report", "--db", db, "--period", "2024H1", "--format", "html", "--lang", "zh-Hant"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-Hant">' in page
    assert "<title>業主投訴分析報告 — 2024H1</title>" in page
    assert "<table>" in page
    if importlib.util.find_spec("matplotlib"):
        assert page.count("<svg") == 3


def test_report_refuses_a_bad_period_before_opening_the_store(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--db", str(tmp_path / "none.sqlite"), "--period", "2024H1", "2024H3"]) == 2
    assert "2024H3" in capsys.readouterr().err


def test_report_reads_complaints_and_capas_as_of_one_moment(demo_db: tuple[Path, str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A CAPA report opened by another desk while the report reads its complaints is not half in it."""
    import shutil

    import attrs

    from complaint_engine.stats import ComplaintFrame
    from complaint_engine.storage import SQLiteRepository

    db = tmp_path / "copy.sqlite"
    shutil.copy(demo_db[0], db)
    read_frame = ComplaintFrame.for_analysis.__func__  # type: ignore[attr-defined]

    def then_another_desk_opens_a_capa(cls: type[ComplaintFrame], *args: object, **kwargs: object) -> ComplaintFrame:
        frame = read_frame(cls, *args, **kwargs)
        with SQLiteRepository(db, create=False) as other:
            [closed] = other.find_capas()
            other.add_capa(attrs.evolve(closed, number="CAPA-A-2024-0099", status=ce.CAPAStatus.OPEN,
                                        problem="opened meanwhile"))
        return frame

    monkeypatch.setattr(ComplaintFrame, "for_analysis", classmethod(then_another_desk_opens_a_capa))
    assert main(["report", "--db", str(db), "--period", "2024H2", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Complaint analysis — 2024H2" in out
    assert "opened meanwhile" not in out
    with SQLiteRepository(db, create=False) as repo:  # it was committed, and a report started now shows it
        assert len(repo.find_capas()) == 2
    monkeypatch.undo()
    assert main(["report", "--db", str(db), "--period", "2024H2", "--lang", "en"]) == 0
    assert "CAPA-A-2024-0099 (open): opened meanwhile" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["report", "--db", "missing.sqlite", "--period", "2024H1"], "database 'missing.sqlite' does not exist"),
        (["report", "--db", "DB", "--period", "2024H3"], "invalid period '2024H3'"),
        (["report", "--db", "DB", "--period", "2024", "--office", "Z"], "unknown office 'Z'"),
        (["export", "--db", "DB", "--period", "2024", "--what", "minutes"], "invalid choice: 'minutes'"),
        (["export", "--db", "DB", "--period", "2024", "--what", "register", "--format", "xls"], "invalid choice"),
        (["demo", "--db", "DB"], "exists; pass --overwrite"),
        (["demo", "--year", "1850", "--db", "new.sqlite"], "year 1850"),
        (["report", "--db", "DB"], "the following arguments are required: --period"),
        (["frobnicate"], "invalid choice"),
        (["report", "--db", ".", "--period", "2024"], "is a directory, not a SQLite file"),
        (["report", "--db", "EMPTY", "--period", "2024"], "is an empty file, not a complaint register"),
        (["demo", "--year", "1999", "--db", "y1999.sqlite"], "year 1999 is outside 2000..2049"),
        (["demo", "--db", "no/such/folder/x.sqlite"], "the folder 'no/such/folder' does not exist"),
        (["export", "--db", "DB", "--period", "2024", "--what", "register", "--out", "."], "is a directory"),
    ],
)
def test_bad_cli_input_is_one_clear_line_and_exit_status_2(demo_db: tuple[Path, str], tmp_path: Path,
                                                            args: list[str], fragment: str) -> None:
    (tmp_path / "empty.sqlite").touch()
    args = [str(demo_db[0]) if a == "DB" else "empty.sqlite" if a == "EMPTY" else a for a in args]
    done = run(*args, cwd=tmp_path, messages="en")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert "Traceback" not in done.stderr
    assert "Errno" not in done.stderr
    assert ".partial" not in done.stderr
    assert "complaint_engine complaint_engine" not in done.stderr  # the program's name, once
    assert not (tmp_path / "y1999.sqlite").exists()  # checked before any file is made


@pytest.mark.parametrize(("messages", "expected"), [
    (None, "错误:数据库 'missing.sqlite' 不存在"),  # the default policy's language: the mainland calendar's
    ("zh-Hant", "錯誤:資料庫 'missing.sqlite' 不存在"),
    ("en", "error: database 'missing.sqlite' does not exist"),
])
def test_the_clis_messages_are_in_the_chosen_language(tmp_path: Path, messages: str | None, expected: str) -> None:
    done = run("report", "--db", "missing.sqlite", "--period", "2024H1", cwd=tmp_path, messages=messages)
    assert done.returncode == 2
    assert done.stderr.startswith(expected)
    by_flag = run("report", "--db", "missing.sqlite", "--period", "2024H1", "--lang", "en", cwd=tmp_path,
                  messages="zh-Hant")
    assert by_flag.stderr.startswith("error: database")  # --lang wins over the environment


def test_export_to_a_closed_pipe_stops_quietly_and_excel_gets_a_bom(demo_db: tuple[Path, str],
                                                                     tmp_path: Path) -> None:
    db = str(demo_db[0])
    export = [sys.executable, "-m", "complaint_engine", "export", "--db", db, "--period", "2024", "--what", "register"]
    head = subprocess.run(" ".join(f"'{a}'" for a in export) + " | head -n 2", shell=True, capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert len(head.stdout.splitlines()) == 2
    assert head.stderr == ""  # no "Broken pipe"
    excel = run("export", "--db", db, "--period", "2024", "--what", "register", "--excel", cwd=tmp_path)
    assert excel.stdout.startswith("\ufeff")
    plain = run("export", "--db", db, "--period", "2024", "--what", "register", cwd=tmp_path)
    assert not plain.stdout.startswith("\ufeff")


def test_ctrl_c_during_the_demo_leaves_a_consistent_database(tmp_path: Path) -> None:
    import os
    import signal
    import sqlite3
    import time

    db = tmp_path / "interrupted.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "complaint_engine", "demo", "--db", str(db), "--lang", "en"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the simulation is well under way
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT count(*) FROM complaints").fetchone()[0] >= 40:
                        break
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    from complaint_engine.storage import SQLiteRepository

    stored = SQLiteRepository(db).find()
    assert 40 <= len(stored) < 500
    serials = sorted(c.serial for c in stored if c.serial)
    assert serials == [f"A-2024-{n:05d}" for n in range(1, len(serials) + 1)]
    for c in stored:  # each complaint is whole: its history is an unbroken chain ending in its status
        assert c.history[-1].target is c.status


def test_a_year_reaching_past_the_last_official_notice_says_so_in_one_line(tmp_path: Path) -> None:
    done = run("demo", "--year", "2026", "--db", str(tmp_path / "y.sqlite"), "--lang", "en", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "provisional" in line]
    assert len(notes) == 1
    assert notes[0].startswith("note: ")
    assert "ProvisionalCalendarWarning" not in done.stderr


@pytest.mark.parametrize(("lang", "header", "status"), [
    ("zh-Hant", "投訴性質", "已結案"), ("zh-Hans", "投诉性质", "已结案"), ("en", "Nature", "closed")])
def test_the_demo_register_speaks_the_language_asked(lang: str, header: str, status: str) -> None:
    text = format_register(run_scripted_day().find(), lang=lang)
    assert header in text.splitlines()[0]
    assert status in text


def test_what_if_replays_a_period_of_the_demo_database_under_another_policy(demo_db: tuple[Path, str],
                                                                            tmp_path: Path) -> None:
    quick = tmp_path / "quick.toml"
    quick.write_text('name = "six hours"\n[limits]\nreply = "6 hours"\n', encoding="utf-8")
    db = str(demo_db[0])
    done = run("what-if", "--db", db, "--policy", str(quick), "--period", "2024H1", "--lang", "en", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "# What-if: the time limits under another policy — 2024H1" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("| Reply |"))
    recorded, replayed = (int(x) for x in row.split("|")[2:4])
    assert replayed > recorded  # six hours is tighter than two days
    as_json = run("what-if", "--db", db, "--policy", str(quick), "--period", "2024H1", "--format", "json",
                  cwd=tmp_path)
    data = json.loads(as_json.stdout)
    assert data["clocks"]["reply"]["replayed"] == replayed
    assert len(data["clocks"]["reply"]["newly_breached"]) == replayed - recorded
    same = run("what-if", "--db", db, "--policy", str(quick), "--recorded-policy", str(quick), "--period", "2024H1",
               "--format", "json", cwd=tmp_path)
    assert json.loads(same.stdout)["kpis"]["recorded"]["kpis"]["replied_on_time"]["target"] is not None
    bad = run("what-if", "--db", db, "--policy", str(tmp_path / "missing.toml"), "--period", "2024H1",
              cwd=tmp_path, messages="en")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1
