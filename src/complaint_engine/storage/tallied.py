"""The periodic analysis counted by a PostgreSQL server (a :class:`~complaint_engine.tallies.TallyRequest`).

Every count the report needs comes from SQL aggregates over the fact columns of the period's complaint rows: the
sums per office in one scan, every grouped count in one scan of ``GROUPING SETS``, the breaches per clock in one
scan of the clocks unpivoted, the durations' quantiles with ``percentile_cont``. Rows are fetched only where
complaints are compared with each other — the findings and the repeat rate: 8 columns of the valid complaints — and
for the CAPA reports' recurrence. Each rule is the one the frame path computes (stats/kpi.py, stats/report.py): a
NULL compares as numpy's NaT does (never true), a missing ``breached`` as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from complaint_engine.facts import CLOCKS
from complaint_engine.model import Satisfaction, Status
from complaint_engine.storage.dbapi import Params, Row, Value
from complaint_engine.storage.sql import Dialect
from complaint_engine.storage.sql.statements import as_int, as_str, office_terms
from complaint_engine.tallies import CANDIDATE_COLUMNS, CLOCK_SUMS, SUMS, Limits, Tallies, TallyRequest

__all__ = ["tallies_of", "tally_statements"]

VALID = f"status NOT IN ('{Status.REFERRED.value}', '{Status.MERGED.value}')"
BUILDING = "COALESCE(split_part(unit, '-', 1), '')"  # stats.frame.building_of
HOUR_US = 3_600_000_000
Where = tuple[str, tuple[Value, ...]]  # a WHERE condition and its parameters
K = TypeVar("K")


class _Statement:
    """SQL text with its ``?`` parameters, written in the order they appear."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.args: list[Value] = []

    def add(self, text: str, *args: Value) -> _Statement:
        self.parts.append(text)
        self.args.extend(args)
        return self

    def done(self) -> tuple[str, Params]:
        return "".join(self.parts), tuple(self.args)


def _period(q: _Statement, where: Where) -> _Statement:
    """FROM the period's rows (of the office)."""
    return q.add(f" FROM complaints WHERE {where[0]}", *where[1])


def _where(r: TallyRequest, dialect: Dialect) -> Where:
    """The period's rows, as every query of the store reads a span of receipt: office by office along the office
    index (``office_terms``)."""
    args: list[Value] = []
    terms = [*office_terms(r.office, args, dialect, by_receipt=True),
             f"received_us >= {int(r.start_us)}", f"received_us < {int(r.end_us)}"]
    return " AND ".join(terms), tuple(args)


def _per_office(q: _Statement, r: TallyRequest, setting: Callable[[Limits], int]) -> _Statement:
    """A setting of the row's office's policy: CASE office WHEN … THEN … ELSE the report's END."""
    if not r.office_limits:
        return q.add(str(int(setting(r.limits))))
    q.add("CASE office")
    for office, limits in sorted(r.office_limits.items()):
        q.add(" WHEN ? THEN ", office).add(str(int(setting(limits))))
    return q.add(f" ELSE {int(setting(r.limits))} END")


def _late(clock: str) -> str:
    return f"COALESCE({clock}_breached, 0) = 1"


def _code(name: str) -> str:
    """The code of a coded text (facts.CODED) in the store's names: NULL, which equals nothing, if none."""
    return f"(SELECT code FROM names WHERE name = '{name}')"


def _sum_terms(now: int) -> dict[str, str]:
    """Each of :data:`SUMS` as an aggregate over the rows of the inner query (``v``: valid, ``clo``: closed by
    ``now``, ``breach``: any clock breached, the per-office limits ``ack_l``, ``disp_l``, ``esc_l``)."""
    def counted(condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    terms = {"received": "count(*)", "valid": counted("v"),
             "referred": counted(f"status = '{Status.REFERRED.value}'"),
             "merged": counted(f"status = '{Status.MERGED.value}'")}
    for name, clock, rows in CLOCK_SUMS:
        among = "v" if rows == "valid" else f"v AND urgency = {_code(rows)}"
        due, met = f"{clock}_due_us", f"{clock}_met_us"
        terms[f"{name}_on_time"] = counted(f"{among} AND {due} IS NOT NULL AND {met} IS NOT NULL "
                                           f"AND NOT {_late(clock)}")
        terms[f"{name}_counted"] = counted(f"{among} AND {due} IS NOT NULL AND ({met} IS NOT NULL OR {due} < {now})")
    terms["start_due"] = counted("start_due_us IS NOT NULL")
    terms["update_due"] = counted("update_due_us IS NOT NULL")
    for name, rows, end, limit in (
            ("acknowledge_limit", "v AND acknowledge_due_us IS NULL", "registered_us", "ack_l"),
            ("dispatch", "v", "dispatched_us", "disp_l"),
            ("escalate", f"v AND severity = {_code('major')}", "escalated_us", "esc_l")):
        terms[f"{name}_on_time"] = counted(f"{rows} AND {end} IS NOT NULL AND {end} <= received_us + {limit}")
        terms[f"{name}_counted"] = counted(f"{rows} AND ({end} IS NOT NULL OR received_us + {limit} < {now})")
    overdue = " OR ".join(f"({c}_due_us IS NOT NULL AND {c}_met_us IS NULL AND {c}_due_us < {now})" for c in CLOCKS)
    terms |= {"closed": counted("clo"), "closed_clean": counted("clo AND NOT breach"),
              "late_open": counted(f"v AND NOT clo AND ({overdue})"),
              "callback_reached": counted("clo AND callback_reached = 1"),
              "first_contact": counted("clo AND COALESCE(reopened, 0) = 0"),
              "reopened_closed": counted("clo AND reopened > 0"),
              "breached": counted("v AND breach"), "breached_measured": counted("v AND breach AND measures > 0")}
    for answer in Satisfaction:
        terms[f"answers_{answer.value}"] = f"COALESCE(sum(answers_{answer.value}) FILTER (WHERE v), 0)::bigint"
    return terms


# the columns the sums read
_SUMMED = ("office", "status", "urgency", "severity", "received_us", "registered_us",
           "dispatched_us", "escalated_us", "closed_us", "callback_reached", "reopened", "measures",
           *(f"answers_{answer.value}" for answer in Satisfaction),
           *(f"{clock}_{part}" for clock in CLOCKS for part in ("due_us", "met_us", "breached")))


def _sums(r: TallyRequest, where: Where) -> tuple[str, Params]:
    now = int(r.as_of_us)
    q = _Statement().add("SELECT office, ")
    terms = _sum_terms(now)
    q.add(", ".join(terms[name] for name in SUMS))  # the order the answer is read in
    q.add(f" FROM (SELECT *, v AND closed_us IS NOT NULL AND closed_us <= {now} AS clo, "
          f"({' OR '.join(_late(c) for c in CLOCKS)}) AS breach FROM (SELECT {', '.join(_SUMMED)}, ")
    for name, setting in (("ack_l", lambda lim: lim.acknowledge_us), ("disp_l", lambda lim: lim.dispatch_us),
                          ("esc_l", lambda lim: lim.escalate_us)):
        _per_office(q, r, setting).add(f" AS {name}, ")
    q.add(f"{VALID} AS v")
    _period(q, where).add(") AS rows) AS judged GROUP BY office")
    return q.done()


# The grouped counts of one scan: the columns grouped, and the sets grouped by
_GROUPED = ("status", "reg", "category", "department", "channel", "building", "month")
_SETS = (("status",), ("status", "category"), ("status", "department"), ("status", "month", "category"),
         ("status", "reg", "channel"), ("status", "reg", "category"), ("status", "reg", "building"))


def _grouped(r: TallyRequest, where: Where) -> tuple[str, Params]:
    starts = ", ".join(str(int(b)) for b in r.month_starts_us[:-1])
    q = _Statement().add(f"SELECT GROUPING({', '.join(_GROUPED)}), {', '.join(_GROUPED)}, count(*) FROM (SELECT "
                         f"status, registered_us IS NOT NULL AS reg, category, department, channel, "
                         f"{BUILDING} AS building, width_bucket(received_us, ARRAY[{starts}]::bigint[]) - 1 AS month")
    _period(q, where).add(") AS rows GROUP BY GROUPING SETS (")
    return q.add(", ".join(f"({', '.join(s)})" for s in _SETS) + ")").done()


def _breaches(where: Where) -> tuple[str, Params]:
    clocks = ", ".join(f"('{c}', {c}_dept, {c}_person, {c}_breached)" for c in CLOCKS)
    q = _Statement().add("SELECT k.clock, k.dept, k.person, count(*) FROM (SELECT *")
    _period(q, where).add(f" AND ({' OR '.join(f'{c}_breached = 1' for c in CLOCKS)})")  # only these are unpivoted
    return q.add(f") AS rows, LATERAL (VALUES {clocks}) AS k(clock, dept, person, breached) WHERE k.breached = 1 "
                 "GROUP BY 1, 2, 3").done()


def _durations(r: TallyRequest, where: Where) -> tuple[str, Params]:
    now = int(r.as_of_us)
    parts = []
    for end, rows in (("replied_us", "v"), ("closed_us", f"v AND closed_us <= {now}")):
        hours = f"({end} - received_us)::float8 / {HOUR_US}::float8"
        among = f"FILTER (WHERE {rows} AND {end} IS NOT NULL)"
        parts += [f"count(*) {among}", f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {hours}) {among}",
                  f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {hours}) {among}"]
    q = _Statement().add(f"SELECT {', '.join(parts)} FROM (SELECT *, {VALID} AS v")
    return _period(q, where).add(") AS rows").done()


def _candidates(where: Where) -> tuple[str, Params]:
    """The valid complaints, 8 of their columns, in a frame's order (received, then id by code point)."""
    selected = ", ".join("COALESCE(category, 0)" if name == "category" else name for name in CANDIDATE_COLUMNS)
    q = _Statement().add(f"SELECT {selected}")
    return _period(q, where).add(f' AND {VALID} ORDER BY received_us, id COLLATE "C"').done()


def _capa(where: Where, serials: Sequence[str], after_us: int, until_us: int) -> list[tuple[str, Params]]:
    """How many of the report's complaints are in the period, and the valid complaints of their units and
    categories received in its window, in a frame's order (stats.recurrence.capa_recurrence)."""
    marks = ", ".join("?" for _ in serials)
    seeds = _period(_Statement().add("SELECT count(*)"), where).add(f" AND serial IN ({marks})", *serials).done()
    q = _Statement().add("SELECT COALESCE(NULLIF(serial, ''), id)")
    _period(q, where).add(f" AND {VALID} AND received_us > {int(after_us)} AND received_us <= {int(until_us)} AND "
                      "(COALESCE(unit, ''), COALESCE(category, 0)) IN "
                      "(SELECT COALESCE(unit, ''), COALESCE(category, 0)")
    _period(q, where).add(f" AND serial IN ({marks})", *serials)
    return [seeds, q.add(') ORDER BY received_us, id COLLATE "C"').done()]


def tally_statements(request: TallyRequest, dialect: Dialect) -> list[tuple[str, Params]]:
    """The statements answering the request (sent together: one round trip)."""
    where = _where(request, dialect)
    return [_sums(request, where), _grouped(request, where), _breaches(where), _durations(request, where),
            _candidates(where),
            *(s for c in request.capas for s in _capa(where, c.serials, c.after_us, c.until_us))]


def _text(labels: Sequence[str | None], code: Value) -> str | None:
    return None if code is None else labels[as_int(code)]


def _add(counts: dict[K, int], key: K, n: int) -> None:
    counts[key] = counts.get(key, 0) + n


def tallies_of(results: list[list[Row]], request: TallyRequest, labels: Sequence[str | None]) -> Tallies:
    """The answer read from the statements' rows and the store's names by code, read after them."""
    sums_rows, grouped, breaches, durations, candidates, *capas = results
    sums = {as_str(row[0]): dict(zip(SUMS, (as_int(v) for v in row[1:]), strict=True)) for row in sums_rows}
    valid_statuses = {s.value for s in Status} - {Status.REFERRED.value, Status.MERGED.value}
    categories: dict[str | None, int] = {}
    departments: dict[str | None, int] = {}
    monthly: dict[tuple[int, str | None], int] = {}
    volume: dict[str, dict[str | None, int]] = {"channel": {}, "category": {}, "building": {}, "status": {}}
    for bits, status, registered, category, department, channel, building, month, n in grouped:
        grouped_by = {name for i, name in enumerate(reversed(_GROUPED)) if not as_int(bits) >> i & 1}
        count = as_int(n)
        if grouped_by == {"status"}:
            _add(volume["status"], as_str(status), count)
        if status not in valid_statuses:
            continue
        if grouped_by == {"status", "category"}:
            _add(categories, _text(labels, category), count)
        elif grouped_by == {"status", "department"} and department is not None:
            _add(departments, _text(labels, department), count)
        elif grouped_by == {"status", "month", "category"}:
            _add(monthly, (as_int(month), _text(labels, category)), count)
        elif "reg" in grouped_by and registered:
            kind = next(iter(grouped_by - {"status", "reg"}))
            code = channel if kind == "channel" else category
            _add(volume[kind], as_str(building) if kind == "building" else _text(labels, code), count)
    durations_row = durations[0]
    out_durations = {}
    for i, name in enumerate(("reply", "close")):
        n, median, p90 = durations_row[3 * i:3 * i + 3]
        out_durations[name] = (as_int(n), None if median is None else float(median),
                               None if p90 is None else float(p90))
    capa_hits = {}
    for capa, seeds, hits in zip(request.capas, capas[::2], capas[1::2], strict=True):
        if as_int(seeds[0][0]):  # some of its complaints are in the period
            capa_hits[capa.number] = tuple(as_str(row[0]) for row in hits)
    columns = list(zip(*candidates, strict=True)) or [()] * len(CANDIDATE_COLUMNS)
    found = {name: np.array(values, dtype=object) for name, values in zip(CANDIDATE_COLUMNS, columns, strict=True)
             if name not in ("category", "received_us")}
    texts = np.array([None, *labels[1:]], dtype=object)  # a category's text by its code (0: none)
    found["category"] = texts[np.array(columns[CANDIDATE_COLUMNS.index("category")], dtype=np.int64)]
    found["received_us"] = np.array(columns[CANDIDATE_COLUMNS.index("received_us")], dtype=np.int64).view(
        "datetime64[us]")
    return Tallies(
        sums=sums, categories=categories, departments=departments, monthly=monthly,
        breaches=tuple((as_str(c), _text(labels, d), _text(labels, p), as_int(n)) for c, d, p, n in breaches),
        volume=volume, durations=out_durations, capa_hits=capa_hits, candidates=found)
