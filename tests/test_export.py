"""export: the tables written batch by batch are the tables written at once; a file appears whole or not at all."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import complaint_engine as ce
from complaint_engine import export
from complaint_engine.cli import main
from complaint_engine.demo import run_scripted_day
from complaint_engine.storage import SQLiteRepository

DAY = run_scripted_day()  # escalations, deferrals, referrals, CAPA numbers: every column has something
COMPLAINTS = DAY.find()
CAPAS = DAY.repository.find_capas()


@given(what=st.sampled_from(export.WHAT), fmt=st.sampled_from(["csv", "md"]), lang=st.sampled_from(["zh-Hant", "en"]),
       cuts=st.lists(st.integers(0, len(COMPLAINTS)), max_size=5))
def test_writing_in_batches_gives_the_table_written_at_once(what: str, fmt: str, lang: str, cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(COMPLAINTS)]
    batches = [COMPLAINTS[a:b] for a, b in itertools.pairwise(bounds)]
    out = io.StringIO()
    written = export.write_table(what, fmt, batches, CAPAS, DAY.policy, lang, out)
    whole = export.export_table(what, fmt, COMPLAINTS, CAPAS, DAY.policy, lang)
    assert out.getvalue() == whole
    assert written == len(export.table_rows(what, COMPLAINTS, CAPAS, DAY.policy, lang)[1])


def test_an_unknown_record_type_or_format_writes_nothing() -> None:
    for what, fmt, named in (("minutes", "csv", "record type"), ("register", "xls", "format")):
        out = io.StringIO()
        with pytest.raises(ce.ValidationError, match=named):
            export.write_table(what, fmt, [COMPLAINTS], CAPAS, DAY.policy, "en", out)
        assert out.getvalue() == ""


def test_an_export_that_fails_halfway_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "day.sqlite"
    SQLiteRepository(db).add_many(COMPLAINTS)
    target = tmp_path / "register.csv"
    target.write_text("last month's export\n", encoding="utf-8")
    write_table = export.write_table

    def failing(*args: object) -> int:
        write_table(*args)  # type: ignore[arg-type]  # everything written, then the disk "fills up"
        raise OSError("No space left on device")

    monkeypatch.setattr(export, "write_table", failing)
    assert main(["export", "--db", str(db), "--period", "2024", "--what", "register", "--out", str(target)]) == 2
    assert target.read_text(encoding="utf-8") == "last month's export\n"  # the old file, untouched
    assert not list(tmp_path.glob("*.partial"))
    monkeypatch.undo()
    assert main(["export", "--db", str(db), "--period", "2024", "--what", "register", "--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8-sig").splitlines()[0].startswith("编号,来文编号,投诉日期")


def _handled_in_full() -> tuple[ce.ComplaintDesk, ce.Complaint]:
    """A major complaint escalated and decided, transferred, with evidence, a callback with an opinion, a breach
    with its measure, and a duplicate merged into it."""
    import datetime as dt

    from tests.conftest import CALLBACK, GM, MANAGER, RECEPTION, SUPERVISOR, Scenario

    s = Scenario()
    c = s.registered(document_number="LETTER-0603-07")
    s.desk.dispatch(c.id, by=RECEPTION)
    s.desk.escalate(c.id, by=MANAGER, reason="affects a whole floor")
    s.desk.decide(c.id, by=GM, decision="engineering leads, security assists")
    s.desk.transfer(c.id, by=RECEPTION, department="engineering", reason="misrouted")
    s.desk.add_evidence(c.id, by=RECEPTION, reference="file://p1.jpg", kind="photo")
    dup = s.received()
    s.desk.merge(dup.id, into=c.id, by=RECEPTION, reason="twice")
    s.clock.set(s.desk.get(c.id).deadlines["reply"].due + dt.timedelta(hours=1))
    s.desk.sweep()
    s.desk.record_measure(c.id, by=SUPERVISOR, clock="reply", person="sec-wu", measure="written warning")
    s.desk.investigate(c.id, by=MANAGER, cause="a burst pipe")
    s.desk.start(c.id, by=MANAGER)
    s.desk.resolve(c.id, by=MANAGER, result="pipe replaced")
    s.desk.reply(c.id, by=RECEPTION)
    s.desk.record_callback(c.id, by=CALLBACK, method="visit", satisfaction="satisfied", opinion="=quick work")
    return s.desk, s.desk.get(c.id)


@pytest.mark.parametrize(("lang", "headers", "values"), [
    ("zh-Hant", ["來文編號", "嚴重程度", "上報原因", "決定人", "轉派", "證據數", "回訪日期", "回訪方式", "業主意見",
                 "處分", "合併"],
     ["LETTER-0603-07", "重大", "保安部 → 工程部", "上門", "合併投訴"]),
    ("zh-Hans", ["来文编号", "严重程度", "上报原因", "决定人", "转派", "证据数", "回访日期", "回访方式", "业主意见",
                 "处分", "合并"],
     ["LETTER-0603-07", "重大", "保安部 → 工程部", "上门", "合并投诉"]),
    ("en", ["Own reference", "Severity", "Escalation reason", "Decided by", "Transfers", "Evidence items",
            "Callback date", "Callback method", "Owner's opinion", "Measures", "Merges"],
     ["LETTER-0603-07", "major", "Security → Engineering", "visit", "duplicates"]),
])
def test_the_register_shows_what_an_auditor_reads_first_in_every_language(lang: str, headers: list[str],
                                                                          values: list[str]) -> None:
    desk, c = _handled_in_full()
    header, rows = export.table_rows("register", desk.find(), [], desk.policy, lang)
    assert set(headers) <= set(header)
    row = dict(zip(header, next(r for r in rows if r[0] == c.serial), strict=True))
    text = " | ".join(row.values())
    for value in values:
        assert value in text
    assert "engineering leads, security assists" in text
    assert "gm-sun" in text
    assert "written warning" in text
    assert "a burst pipe" in text
    notice_header, notices = export.table_rows("notices", desk.find(), [], desk.policy, lang)
    assert set(headers[1:9]) <= set(notice_header)
    assert len(notices) == 1  # the merged duplicate never had a notice


def test_a_csv_cell_that_looks_like_a_formula_is_written_as_text() -> None:
    desk, _c = _handled_in_full()
    csv_text = export.export_table("register", "csv", desk.find(), [], desk.policy, "en")
    assert "'=quick work" in csv_text
    assert ",=quick work" not in csv_text
