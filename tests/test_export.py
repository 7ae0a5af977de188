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
    assert target.read_text(encoding="utf-8-sig").splitlines()[0].startswith("編號,投訴日期")
