"""A ComplaintFrame for other tools: pandas, Arrow and Parquet.

pandas and pyarrow are optional (extras ``[pandas]`` and ``[arrow]``), imported only here, when asked for.
Column names drop the storage's ``_us`` suffix: an instant column ``received_us`` (int64 microseconds since
the epoch, UTC) becomes ``received_at``, a time-zone-aware timestamp in the frame's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from complaint_engine.errors import ValidationError
from complaint_engine.facts import FACT_COLUMNS, NULL_US
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import Message

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.stats.frame import ComplaintFrame

__all__ = ["PARTITIONS", "from_parquet", "to_arrow", "to_pandas", "to_parquet"]

# columns whose values are codes of a closed set the label tables name
_LABELLED = ("status", "channel", "severity", "urgency", "satisfaction")
PARTITIONS = ("office", "year")
"""The columns a Parquet dataset may be partitioned by (``year``: the local year of receipt)."""
_TZ_KEY = b"complaint_engine.tz"


def _name(column: str) -> str:
    return column[:-3] + "_at" if column.endswith("_us") else column


def _need(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"this needs {module}: pip install 'complaint_engine[{extra}]'") from None


def _label_table(frame: ComplaintFrame, column: str, lang: str | None, policy: Policy | None) -> list[str]:
    """The frame's labels of a categorical column, translated when ``lang`` is given; a label that would
    repeat another (two codes, one translation) keeps its code so categories stay distinct."""
    codes = list(frame.labels[column])
    if lang is None:
        return codes
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))
    names: Mapping[str, Mapping[str, str]] = {}
    if policy is not None and column == "category":
        names = {c.code: c.labels for c in policy.categories}
    elif policy is not None and column == "department":
        names = {d.code: d.labels for d in policy.departments}
    out: list[str] = []
    for code in codes:
        text = label(f"{column}.{code}", lang) if column in _LABELLED and code else names.get(code, {}).get(lang, code)
        out.append(text if text not in out else f"{text} ({code})")
    return out


def _categorical_columns() -> tuple[str, ...]:
    from complaint_engine.stats.frame import CATEGORICAL

    return CATEGORICAL


def to_pandas(frame: ComplaintFrame, *, lang: str | None = None, policy: Policy | None = None) -> Any:
    """A pandas DataFrame: instants as tz-aware timestamps in the frame's zone (``received_at``, …), the
    categorical columns as ``pandas.Categorical`` (labels in ``lang`` — categories and departments by
    ``policy``'s labels — or the codes when ``lang`` is None; a missing value is NaN), counts as int64."""
    pd = _need("pandas", "pandas")
    data: dict[str, Any] = {}
    categorical = _categorical_columns()
    for column, kind in FACT_COLUMNS:
        if column in categorical:
            data[column] = _pandas_categorical(pd, frame, column, lang, policy)
        elif kind == "us":
            data[_name(column)] = pd.DatetimeIndex(frame[column]).tz_localize("UTC").tz_convert(frame.tz)
        else:
            data[column] = frame[column]
    for column in categorical:
        if column not in data:  # derived: building, location of older records
            data[column] = _pandas_categorical(pd, frame, column, lang, policy)
    return pd.DataFrame(data)


def _pandas_categorical(pd: Any, frame: ComplaintFrame, column: str, lang: str | None, policy: Policy | None) -> Any:
    labels = _label_table(frame, column, lang, policy)
    codes = frame.codes[column]
    empty = frame.labels[column].index("") if "" in frame.labels[column] else -1
    if empty >= 0:  # '' stands for "none": a missing value, not a category
        codes = np.where(codes == empty, -1, codes - (codes > empty))
        labels = labels[:empty] + labels[empty + 1:]
    return pd.Categorical.from_codes(codes, categories=labels)


def to_arrow(frame: ComplaintFrame, *, lang: str | None = None, policy: Policy | None = None) -> Any:
    """A ``pyarrow.Table``: categorical columns as dictionary arrays (int32 indices over the frame's label
    table, translated as in :func:`to_pandas`), instants as ``timestamp[us]`` in the frame's zone, counts as
    int64. Numeric and instant columns share the frame's memory when they have no missing value."""
    pa = _need("pyarrow", "arrow")
    categorical = _categorical_columns()
    arrays: dict[str, Any] = {}
    for column, kind in FACT_COLUMNS:
        if column in categorical:
            arrays[column] = _dictionary(pa, frame, column, lang, policy)
        elif kind == "us":
            values = frame[column]
            missing = np.isnat(values)
            arrays[_name(column)] = pa.array(values.view(np.int64), type=pa.timestamp("us", tz=frame.tz),
                                             mask=missing if missing.any() else None)
        elif kind == "int":
            arrays[column] = pa.array(frame[column])
        else:
            arrays[column] = pa.array(list(frame[column]), type=pa.string())
    for column in categorical:
        if column not in arrays:
            arrays[column] = _dictionary(pa, frame, column, lang, policy)
    return pa.table(arrays).replace_schema_metadata({_TZ_KEY: frame.tz.encode()})


def _dictionary(pa: Any, frame: ComplaintFrame, column: str, lang: str | None, policy: Policy | None) -> Any:
    labels = _label_table(frame, column, lang, policy)
    codes = frame.codes[column].astype(np.int32)
    missing = None
    if "" in frame.labels[column]:
        missing = codes == frame.labels[column].index("")
    indices = pa.array(codes, mask=missing if missing is not None and missing.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(labels, type=pa.string()))


def _local_years(frame: ComplaintFrame) -> npt.NDArray[np.int64]:
    months = frame.local_month_index("received_us")
    return np.where(months < 0, 0, months // 12)


def to_parquet(frame: ComplaintFrame, path: str | Path, *, partition_by: Sequence[str] = PARTITIONS) -> Path:
    """Write the frame as a Parquet dataset under ``path``, partitioned hive-style (``office=A/year=2024/``)
    by ``partition_by`` (any of :data:`PARTITIONS`, or none for one file). Codes are written, not labels, so
    any reader groups by the same values the engine does. Writing a partition again replaces it."""
    pa = _need("pyarrow", "arrow")
    import pyarrow.parquet as pq

    unknown = [p for p in partition_by if p not in PARTITIONS]
    if unknown:
        raise ValidationError.of("partition_by", unknown, Message("any of {0}", list(PARTITIONS)))
    table = to_arrow(frame)
    table = table.append_column("year", pa.array(_local_years(frame), type=pa.int32()))
    root = Path(path)
    if not partition_by:
        root.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root)
        return root
    # the dictionaries are rebuilt per file: a partition keeps only the labels it uses
    pq.write_to_dataset(table, root, partition_cols=list(partition_by), existing_data_behavior="delete_matching")
    return root


def from_parquet(path: str | Path, *, office: str | Iterable[str] | None = None,
                 years: int | Iterable[int] | None = None, tz: str | None = None) -> ComplaintFrame:
    """A frame of the complaints in a dataset :func:`to_parquet` wrote, read only where ``office`` and
    ``years`` (local years of receipt) say — partitions outside them are not opened. ``tz`` defaults to
    the zone the frame was written in."""
    _need("pyarrow", "arrow")
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from complaint_engine.stats.frame import ComplaintFrame

    root = Path(path)
    if not root.exists():
        raise ValidationError.of("path", str(root), "a Parquet file or folder to_parquet wrote")
    dataset = ds.dataset(root, format="parquet", partitioning="hive" if root.is_dir() else None)
    wanted = None
    for column, value in (("office", office), ("year", years)):
        if value is None:
            continue
        values = [value] if isinstance(value, str | int) else list(value)
        test = pc.field(column).isin(values)
        wanted = test if wanted is None else wanted & test
    table = dataset.to_table(filter=wanted)
    metadata = dataset.schema.metadata or {}
    zone = tz or metadata.get(_TZ_KEY, b"Asia/Shanghai").decode()
    columns: dict[str, Any] = {}
    for column, kind in FACT_COLUMNS:
        values = table.column(_name(column) if kind == "us" else column)
        if kind == "us":
            # a missing instant is NaT, whose int64 reading is NULL_US
            columns[column] = pc.fill_null(values.cast("int64"), NULL_US).to_numpy().view("datetime64[us]")
        elif kind == "int":
            columns[column] = values.to_numpy(zero_copy_only=False).astype(np.int64)
        else:
            columns[column] = np.array(values.cast("string").to_pylist(), dtype=object)
    order = np.lexsort((columns["id"].astype(str), columns["received_us"]))  # the frame's order: receipt, id
    return ComplaintFrame({k: v[order] for k, v in columns.items()}, tz=zone)
