"""The frame for other tools: pandas, Arrow, Parquet (and DuckDB reading the files), and how engine objects
show themselves in a notebook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.conftest import at
from tests.stats.test_analysis import Estate

import complaint_engine as ce
from complaint_engine.stats import ComplaintFrame, analyse

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _two_offices_two_years() -> ComplaintFrame:
    e = Estate()
    for when, category in ((at(2023, 12, 4, 10), "noise"), (at(2024, 1, 8, 10), "noise"),
                           (at(2024, 1, 31, 23), "repair"), (at(2024, 2, 8, 10), "cleaning")):
        e.complaint(when, category=category, **({"urgency": "minor"} if category == "repair" else {}))
    e.complaint(at(2024, 3, 8, 10), until="received")  # still open: most instants missing
    frame = e.frame()
    columns = dict(frame.columns)
    columns["office"] = np.array(["A", "B", "A", "B", "B"], dtype=object)
    return ComplaintFrame(columns, tz=frame.tz)


def _same(a: ComplaintFrame, b: ComplaintFrame) -> None:
    assert len(a) == len(b)
    assert a.tz == b.tz
    for name in a.columns:
        x, y = a[name], b[name]
        if x.dtype.kind == "M":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert list(x) == list(y), name


def test_to_pandas_gives_tz_aware_instants_in_the_frames_zone_and_labelled_categories() -> None:
    import pandas as pd
    frame = _two_offices_two_years()
    df = frame.to_pandas(lang="zh-Hans", policy=ce.Policy.default())
    assert "received_us" not in df.columns
    assert str(df["received_at"].dtype) == "datetime64[us, Asia/Shanghai]"
    assert df["received_at"][1] == pd.Timestamp("2024-01-08 10:00", tz="Asia/Shanghai")
    assert df["received_at"][1].tz_convert("UTC").hour == 2
    assert df["closed_at"].isna()[4]  # the open complaint: NaT
    assert isinstance(df["category"].dtype, pd.CategoricalDtype)
    assert list(df["category"]) == ["噪音", "噪音", "维修", "清洁卫生", "噪音"]
    assert list(df["status"])[-1] == "已受理"
    assert df["urgency"].isna().tolist() == [True, True, False, True, True]  # none is missing, not a category
    codes = frame.to_pandas()  # no language: the codes
    assert list(codes["category"]) == ["noise", "noise", "repair", "cleaning", "noise"]
    with pytest.raises(ce.ValidationError, match="'fr'"):
        frame.to_pandas(lang="fr")


def test_to_arrow_encodes_categories_as_dictionaries_and_shares_the_instants_memory() -> None:
    import pyarrow as pa
    frame = _two_offices_two_years()
    table = frame.to_arrow(lang="en", policy=ce.Policy.default())
    assert table.schema.field("category").type == pa.dictionary(pa.int32(), pa.string())
    assert table.schema.field("received_at").type == pa.timestamp("us", tz="Asia/Shanghai")
    assert table.column("category").to_pylist() == ["Noise", "Noise", "Repair", "Cleaning", "Noise"]
    assert table.column("closed_at").null_count == 1
    received = table.column("received_at").chunk(0)
    assert received.buffers()[1].address == frame["received_us"].ctypes.data  # zero-copy: no missing value
    assert table.column("received_at").to_pylist()[1] == at(2024, 1, 8, 10)


def test_parquet_round_trips_and_partitions_by_office_and_local_year(tmp_path: Path) -> None:
    frame = _two_offices_two_years()
    root = frame.to_parquet(tmp_path / "complaints")
    folders = sorted(str(p.relative_to(root)) for p in root.glob("*/*"))
    assert folders == ["office=A/year=2023", "office=A/year=2024", "office=B/year=2024"]
    _same(ComplaintFrame.from_parquet(root), frame)
    b = ComplaintFrame.from_parquet(root, office="B")
    assert set(b["office"]) == {"B"}
    assert len(b) == 3
    assert len(ComplaintFrame.from_parquet(root, years=2023)) == 1
    assert len(ComplaintFrame.from_parquet(root, office=["A"], years=[2024])) == 1
    # the analysis reads the same from the files as from the engine
    assert analyse(ComplaintFrame.from_parquet(root), "2024").to_dict() == analyse(frame, "2024").to_dict()
    # writing a partition again replaces it (no duplicate rows)
    frame.to_parquet(root)
    assert len(ComplaintFrame.from_parquet(root)) == len(frame)


def test_parquet_without_partitions_is_one_file(tmp_path: Path) -> None:
    frame = _two_offices_two_years()
    path = frame.to_parquet(tmp_path / "all.parquet", partition_by=())
    assert path.is_file()
    _same(ComplaintFrame.from_parquet(path), frame)


def test_a_year_boundary_is_the_local_one(tmp_path: Path) -> None:
    """23:30 on 31 December in Shanghai is 15:30 UTC the same day; 00:30 on 1 January is the next year."""
    e = Estate(start=at(2023, 12, 31, 9))
    e.complaint(dt.datetime(2023, 12, 31, 23, 30, tzinfo=SHANGHAI), until="received")
    e.complaint(dt.datetime(2024, 1, 1, 0, 30, tzinfo=SHANGHAI), until="received")
    root = e.frame().to_parquet(tmp_path / "p")
    assert sorted(str(p.relative_to(root)) for p in root.glob("*/*")) == ["office=A/year=2023",
                                                                        "office=A/year=2024"]


def test_duckdb_reads_a_pareto_straight_from_the_files(tmp_path: Path) -> None:
    import duckdb
    frame = _two_offices_two_years()
    root = frame.to_parquet(tmp_path / "complaints")
    # the query of docs/analysis.md
    rows = duckdb.sql(f"""
        SELECT category, count(*) AS n
        FROM read_parquet('{root}/**/*.parquet', hive_partitioning = true)
        WHERE status NOT IN ('referred', 'merged') AND year = 2024
        GROUP BY category ORDER BY n DESC, category
    """).fetchall()
    table = frame.select(period="2024").valid().pareto("category")
    assert rows == list(zip(table.labels, table.counts.tolist(), strict=True))


def test_bad_parquet_arguments_are_refused(tmp_path: Path) -> None:
    frame = _two_offices_two_years()
    with pytest.raises(ce.ValidationError, match=r"partition_by.*'month'.*'office', 'year'"):
        frame.to_parquet(tmp_path / "x", partition_by=("month",))
    assert not (tmp_path / "x").exists()
    with pytest.raises(ce.ValidationError, match="nowhere"):
        ComplaintFrame.from_parquet(tmp_path / "nowhere")


# --- notebooks: how objects show themselves ---------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans", "en"])
def test_a_complaint_shows_its_state_and_clocks_but_no_personal_data(lang: str) -> None:
    from complaint_engine.display import display_language, set_display_language
    from complaint_engine.labels import label

    e = Estate()
    e.clock.set(at(2024, 1, 8, 10))
    c = e.desk.receive(by=e_reception(), owner="陳大文", unit="7-0808", channel="phone", category="noise",
                       summary="樓上深夜裝修 13800138000")
    c = e.desk.register(c.id, by=e_reception())
    before = display_language()
    set_display_language(lang)
    try:
        md, page = c._repr_markdown_(), c._repr_html_()
    finally:
        set_display_language(before)
    for secret in ("陳大文", "7-0808", "13800138000", "深夜"):  # owner, unit, phone in the summary, summary
        assert secret not in md
        assert secret not in page
    assert c.serial is not None
    assert c.serial in md
    assert label("status.registered", lang) in md
    assert label("clock.reply", lang) in md
    assert "<table>" in page


def e_reception() -> ce.Actor:
    from tests.conftest import RECEPTION

    return RECEPTION


def test_a_policy_shows_its_time_limits_and_categories_in_its_language() -> None:
    policy = ce.Policy.default()
    md = policy._repr_markdown_()
    assert policy.limits.reply.describe() in md
    assert "Asia/Shanghai" in md
    assert "<table>" in policy._repr_html_()


def test_a_frame_shows_its_size_zone_and_first_rows() -> None:
    frame = _two_offices_two_years()
    md = frame._repr_markdown_()
    assert "Asia/Shanghai" in md
    assert md.count("\n| ") == 6  # the header and all five rows
    assert "…" not in md
    assert "<table>" in frame._repr_html_()


def test_the_display_language_is_one_of_the_three() -> None:
    from complaint_engine.display import set_display_language

    with pytest.raises(ce.ValidationError, match="'de'"):
        set_display_language("de")
