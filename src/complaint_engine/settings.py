"""Settings files at the edge: a policy and a calendar notice, from TOML files or plain data, and back.

Nothing in ``rules/`` or the domain core reads a file or structures plain data; they take the objects made
here. A policy is structured by a converter built on :func:`complaint_engine.serialization.make_converter`
(strict types, ``$.path`` problems), after the checks plain data needs first: unknown keys named by their
path, the flat keys of the first series moved to their tables (with a ``DeprecationWarning``), a preset as the
base the given settings override, and a notice file read once.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import attrs
import cattrs
from cattrs.errors import BaseValidationError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from complaint_engine.errors import CalendarError, PolicyError, ValidationError
from complaint_engine.levels import CLOCK_RULES, Condition, ServiceLevel
from complaint_engine.messages import Message
from complaint_engine.policy import (
    AnalysisSettings,
    CalendarSettings,
    CallbackSettings,
    Category,
    ClosingRules,
    Department,
    Limits,
    Numbering,
    OnProvisional,
    Policy,
)
from complaint_engine.rules.deadlines import DeadlineRule
from complaint_engine.rules.notice import CalendarNotice
from complaint_engine.rules.text import parse_rule, rule_text
from complaint_engine.serialization import JSONValue, describe_problems, make_converter
from complaint_engine.tomlfile import read_toml

__all__ = ["calendar_notice_from_dict", "policy_from_dict", "policy_to_dict", "read_calendar_notice",
           "read_policy"]

Plain = dict[str, object]

# table name → (record class, Policy field)
TABLES: Mapping[str, tuple[type, str]] = {
    "calendar": (CalendarSettings, "calendar_settings"), "limits": (Limits, "limits"),
    "callbacks": (CallbackSettings, "callbacks"), "numbering": (Numbering, "numbering"),
    "closing": (ClosingRules, "closing"), "analysis": (AnalysisSettings, "analysis"),
}
TOP = ("name", "escalation_role", "permissions", "categories", "departments", "reception_department",
       "service_levels", "warn_at", "warn_at_by_clock")
RULES = CLOCK_RULES  # the clock rules: in [limits], and also top-level, as in every service level
# the first series' flat keys → (table, key)
FLAT: Mapping[str, tuple[str, str]] = {
    **{k: ("calendar", k) for k in ("region", "subdivision", "tz", "business_hours", "on_provisional")},
    "calendar_notice": ("calendar", "notice"),
    "clock_tolerance": ("limits", "clock_tolerance"),
    "callback_required": ("callbacks", "required"), "callback_attempts": ("callbacks", "attempts"),
    "callback_target": ("callbacks", "target"), "satisfied": ("callbacks", "satisfied"),
    **{k: ("numbering", k) for k in ("serial_format", "capa_format", "announcement_format")},
    **{k: ("closing", k) for k in ("require_capa_number", "require_announcement")},
    **{k: ("analysis", k) for k in ("language", "repeat_window_days", "recurrence_window_days", "widespread_units",
                                    "widespread_window_days", "acknowledge_within_minutes", "dispatch_within_minutes",
                                    "escalate_within_hours", "targets")},
}
PRESETS: Mapping[str, Callable[[], Policy]] = {"default": Policy.default, "procedure": Policy.procedure,
                                                "estate": Policy.estate}


# ------------------------------------------------------------------------------------------- files
def read_calendar_notice(path: str | Path) -> CalendarNotice:
    """A calendar notice file (next year's official notice, company days; see docs/deadlines.md), read once;
    pass the result to ``WorkingCalendar.for_region(notice=...)`` or a policy's ``[calendar] notice``."""
    return calendar_notice_from_dict(read_toml(path, "calendar file", CalendarError))


def read_policy(path: str | Path) -> Policy:
    """A policy file, and the notice file it names (relative to the policy file), read once."""
    return policy_from_dict(read_toml(path, "policy file", PolicyError), folder=Path(path).parent)


# ------------------------------------------------------------------------------------------- the converter
def _optional_rule(value: object, _: object) -> DeadlineRule | None:
    if value is None or value == "none":
        return None
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not a deadline rule's text", value))
    return parse_rule(value)


def _seconds(value: object, _: object) -> dt.timedelta:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(Message("{0!r} is not a whole number of seconds", value))
    return dt.timedelta(seconds=value)


def _notice(value: object, _: object) -> CalendarNotice | None:
    if value is None or value == "none" or isinstance(value, CalendarNotice):
        return value if isinstance(value, CalendarNotice) else None
    if not isinstance(value, Mapping):
        raise TypeError(Message("{0!r} is not a notice table or the path of a notice file", value))
    return calendar_notice_from_dict(value)


def _notice_data(notice: CalendarNotice | None) -> JSONValue:
    if notice is None:
        return "none"
    data: dict[str, JSONValue] = {
        "notice": {str(year): {"holidays": [d.isoformat() for d in off], "workdays": [d.isoformat() for d in on]}
                   for year, (off, on) in sorted(notice.notices.items())},
        "company": {"holidays": [d.isoformat() for d in notice.holidays],
                    "workdays": [d.isoformat() for d in notice.workdays]}}
    if notice.published_through is not None:
        data["published_through"] = notice.published_through
    return data


def _text_value(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not text", value))
    return value


def _made_level(value: object, _: object) -> ServiceLevel:
    if not isinstance(value, ServiceLevel):
        raise TypeError(Message("{0!r} is not a service level", value))
    return value


def _level_data(level: ServiceLevel) -> JSONValue:
    when: dict[str, JSONValue] = {f.name: list(getattr(level.when, f.name)) for f in attrs.fields(Condition)
                                  if getattr(level.when, f.name)}
    data: dict[str, JSONValue] = {"name": level.name, "when": when}
    data.update({clock: "none" if rule is None else rule_text(rule) for clock, rule in level.rules.items()})
    if level.warn_at is not None:
        data["warn_at"] = list(level.warn_at)
    return data


def _levels(raw: object, problems: list[tuple[str, str]]) -> list[ServiceLevel]:
    """The ``[[service_levels]]`` tables as levels, every problem named by its path (a level that does not
    load is left out: the policy is refused anyway)."""
    if not isinstance(raw, list):
        problems.append(("$.service_levels", Message("{raw!r} is not a list of level tables", raw=raw)))
        return []
    fields = [f.name for f in attrs.fields(Condition)]
    out = []
    for i, item in enumerate(raw):
        path = f"$.service_levels[{i}]"
        if not isinstance(item, Mapping):
            problems.append((path, Message("{item!r} is not a table", item=item)))
            continue
        found = len(problems)
        name = item.get("name")
        if not isinstance(name, str):
            problems.append((f"{path}.name", Message("{name!r} is not a level's name (text)", name=name)))
        when = item.get("when", {})
        if not isinstance(when, Mapping):
            problems.append((f"{path}.when", Message("{when!r} is not a table of conditions", when=when)))
            when = {}
        for key, value in when.items():
            if key not in fields:
                problems.append((f"{path}.when.{key}", Message("unknown field; allowed: {fields}", fields=fields)))
            elif not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
                problems.append((f"{path}.when.{key}", Message("{value!r} is not a value or a list of values",
                                                               value=value)))
        rules: dict[str, DeadlineRule | None] = {}
        warn_at = item.get("warn_at")
        if warn_at is not None and not (isinstance(warn_at, list) and all(isinstance(t, str) for t in warn_at)):
            problems.append((f"{path}.warn_at", Message("{warn_at!r} is not a list of thresholds", warn_at=warn_at)))
            warn_at = None
        for key, value in item.items():
            if key in ("name", "when", "warn_at"):
                continue
            if key not in CLOCK_RULES:
                problems.append((f"{path}.{key}", Message("unknown setting; allowed: {0}",
                                                          ['name', 'when', *CLOCK_RULES])))
                continue
            try:
                rules[key] = _optional_rule(value, None)
            except (TypeError, ValidationError) as exc:
                problems.append((f"{path}.{key}", exc.args[0] if exc.args else str(exc)))
        if len(problems) == found and isinstance(name, str):
            out.append(ServiceLevel(name=name, when=Condition(**{k: when[k] for k in fields if k in when}),
                                    rules=rules, warn_at=None if warn_at is None else tuple(warn_at)))
    return out


def _converter() -> cattrs.Converter:
    conv = make_converter()
    conv.register_structure_hook(DeadlineRule | None, _optional_rule)
    conv.register_unstructure_hook(DeadlineRule | None, lambda r: "none" if r is None else rule_text(r))
    conv.register_structure_hook(dt.timedelta, _seconds)
    conv.register_unstructure_hook(dt.timedelta, lambda d: int(d.total_seconds()))
    conv.register_structure_hook(CalendarNotice | None, _notice)
    conv.register_unstructure_hook(CalendarNotice | None, _notice_data)
    # its values are checked by the policy, which names the path and the allowed ones
    conv.register_structure_hook_func(lambda t: t == OnProvisional, _text_value)
    conv.register_structure_hook(str | None, lambda v, _: None if v is None or v == "none" else _text_value(v, _))
    conv.register_unstructure_hook(str | None, lambda v: "none" if v is None else v)
    conv.register_unstructure_hook(frozenset, lambda s: sorted(conv.unstructure(x) for x in s))
    for cls in (CalendarSettings, Limits, CallbackSettings, Numbering, ClosingRules, AnalysisSettings, Category,
                Department):
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=False))
    conv.register_structure_hook(ServiceLevel, _made_level)  # made (and checked) by _levels, before
    conv.register_unstructure_hook(ServiceLevel, _level_data)
    calendar = override(rename="calendar")  # the table; Policy.calendar() is the calendar itself
    conv.register_structure_hook(Policy, make_dict_structure_fn(Policy, conv, _cattrs_forbid_extra_keys=True,
                                                                calendar_settings=calendar))
    conv.register_unstructure_hook(Policy, make_dict_unstructure_fn(Policy, conv, _cattrs_omit_if_default=False,
                                                                    calendar_settings=calendar))
    return conv


_CONVERTER = _converter()
_FIELD_TYPES: Mapping[str, type] = typing.get_type_hints(Policy)


# ------------------------------------------------------------------------------------------- calendar notices
@attrs.frozen
class YearDays:
    """The days off and the working days of a ``[notice.YEAR]`` or ``[company]`` table."""

    holidays: tuple[dt.date, ...] = ()
    workdays: tuple[dt.date, ...] = ()


@attrs.frozen
class NoticeFile:
    """A notice file as written: ``published_through``, ``[notice.YEAR]`` tables, a ``[company]`` table."""

    published_through: int | None = None
    notice: dict[str, YearDays] = attrs.field(factory=dict)
    company: YearDays = YearDays()


def _date(value: object, _: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else _not_a_date(value)
    except ValueError:
        return _not_a_date(value)


def _not_a_date(value: object) -> dt.date:
    raise ValueError(Message("{0!r} is not a date YYYY-MM-DD", value))


def _year(value: object, _: object) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError(Message("{0!r} is not a year", value))


def _notice_converter() -> cattrs.Converter:
    conv = make_converter()
    conv.register_structure_hook(dt.date, _date)
    conv.register_structure_hook(int | None, _year)
    dates = conv.get_structure_hook(tuple[dt.date, ...])

    def date_list(value: object, kind: type) -> tuple[dt.date, ...]:
        if not isinstance(value, list):
            raise TypeError(Message("{0!r} is not a list of dates", value))
        days: tuple[dt.date, ...] = dates(value, kind)
        return days

    conv.register_structure_hook_func(lambda t: t == tuple[dt.date, ...], date_list)
    days = make_dict_structure_fn(YearDays, conv, _cattrs_forbid_extra_keys=True)

    def year_days(value: object, kind: type) -> YearDays:
        if not isinstance(value, Mapping):
            raise TypeError(Message("must be a table with 'holidays' and 'workdays'"))
        return days(value, kind)

    conv.register_structure_hook(YearDays, year_days)
    years = conv.get_structure_hook(dict[str, YearDays])

    def year_tables(value: object, kind: type) -> dict[str, YearDays]:
        if not isinstance(value, Mapping):
            raise TypeError(Message("must be a table of years"))
        tables: dict[str, YearDays] = years(value, kind)
        return tables

    conv.register_structure_hook_func(lambda t: t == dict[str, YearDays], year_tables)
    conv.register_structure_hook(NoticeFile, make_dict_structure_fn(NoticeFile, conv, _cattrs_forbid_extra_keys=True))
    return conv


_NOTICES = _notice_converter()


def calendar_notice_from_dict(data: Mapping[str, object]) -> CalendarNotice:
    """A calendar notice from plain data (a notice file's tables); every problem is reported with its path, and
    each notice's dates must lie in its year. ``published_through`` defaults to the last notice's year."""
    problems: list[tuple[str, str]] = []
    raw_years = data.get("notice", {}) if isinstance(data, Mapping) else {}
    if isinstance(raw_years, Mapping):
        problems += [(f"$.notice.{key}", f"{key!r} is not a year") for key in raw_years if not str(key).isdigit()]
        data = {**data, "notice": {k: v for k, v in raw_years.items() if str(k).isdigit()}}
    file = None
    try:
        file = _NOTICES.structure(data, NoticeFile)
    except (BaseValidationError, TypeError, ValueError) as exc:
        problems += _notice_problems(exc)
    problems += _outside_their_year(data.get("notice") if isinstance(data, Mapping) else None)
    if problems or file is None:
        raise CalendarError.collect("calendar notice", problems)
    notices = {int(year): (days.holidays, days.workdays) for year, days in file.notice.items()}
    published = file.published_through if file.published_through is not None else max(notices, default=None)
    return CalendarNotice(notices=notices, holidays=file.company.holidays, workdays=file.company.workdays,
                          published_through=published)


def _outside_their_year(years: object) -> list[tuple[str, str]]:
    """The dates of a year's notice that lie in another year (read from the data, so that they are named
    beside any other problem of the same table)."""
    out = []
    for year, table in years.items() if isinstance(years, Mapping) else ():
        for kind in ("holidays", "workdays"):
            items = table.get(kind) if isinstance(table, Mapping) else None
            for i, item in enumerate(items if isinstance(items, list) else ()):
                try:
                    day = _date(item, None)
                except ValueError:
                    continue
                if day.year != int(year):
                    out.append((f"$.notice.{year}.{kind}[{i}]", f"{day} is not in {year}"))
    return out


def _notice_problems(exc: BaseException) -> list[tuple[str, str]]:
    """cattrs' problems in the notice's words: mapping keys as path segments, each unknown key its own path."""
    out = []
    for path, message in describe_problems(exc):
        path = re.sub(r"\['([^']*)'\]", r".\1", path)
        extra = re.match(r"extra fields found \((.*)\)", message)
        if extra:
            allowed = ["holidays", "workdays"] if path != "$" else ["company", "notice", "published_through"]
            out += [(f"{path}.{key.strip()}", f"unknown key; allowed: {allowed}") for key in extra.group(1).split(",")]
        else:
            out.append((path, message))
    return out


# ------------------------------------------------------------------------------------------- loading
def policy_to_dict(policy: Policy) -> Plain:
    """Plain data that :func:`policy_from_dict` turns back into an equal policy (TOML-friendly tables)."""
    data: Plain = _CONVERTER.unstructure(policy, Policy)
    return data


def policy_from_dict(data: Mapping[str, object], *, folder: Path | None = None) -> Policy:
    """A policy from plain data; see :meth:`Policy.from_dict`. Every problem is reported with the path the data
    gave it, and nothing is half-loaded: a refused policy raises one ``PolicyError`` listing them all."""
    problems: list[tuple[str, str]] = []
    if not isinstance(data, Mapping):
        raise PolicyError.of("policy", data, "a table of settings")
    given = dict(data)
    preset = given.pop("preset", "default")
    if not isinstance(preset, str) or preset not in PRESETS:
        problems.append(("$.preset", Message("{preset!r} is not one of {0}", sorted(PRESETS), preset=preset)))
        preset = "default"
    nested, where = _nested(given, problems)
    _shapes(nested, where, problems)
    if "service_levels" in nested:
        nested["service_levels"] = _levels(nested["service_levels"], problems)
    _read_notice(nested, where, folder, problems)
    base = PRESETS[preset]()
    merged = _merged(policy_to_dict(base), nested)
    checked = _structured(merged, policy_to_dict(base), problems)
    policy = None
    try:
        policy = _CONVERTER.structure(checked, Policy)
    except (BaseValidationError, PolicyError) as exc:  # value problems of the settings that did structure
        problems += _policy_problems(exc) or describe_problems(exc)
    if problems or policy is None:
        raise PolicyError.collect("policy", _as_given(problems, where))
    return policy


def _structured(merged: Plain, base: Plain, problems: list[tuple[str, str]]) -> Plain:
    """Each of the policy's fields tried on its own, so that one that fails (its problems noted, with the path
    of its table) leaves the others to be checked too; a failed one takes the preset's value."""
    out = dict(merged)
    for name, kind in _FIELD_TYPES.items():
        key = "calendar" if name == "calendar_settings" else name
        try:
            _CONVERTER.structure(merged[key], kind)
        except (BaseValidationError, ValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            found = list(exc.problems) if isinstance(exc, ValidationError) else describe_problems(exc)
            problems += [(f"$.{key}{path[1:]}", message) for path, message in found]
            out[key] = base[key]
    return out


def _policy_problems(exc: BaseException) -> list[tuple[str, str]]:
    """The problems of a policy refused while it was made (cattrs wraps the error of ``__init__``)."""
    if isinstance(exc, PolicyError):
        return list(exc.problems)
    inner = exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
    return [p for e in inner for p in _policy_problems(e)]


def _nested(given: Plain, problems: list[tuple[str, str]]) -> tuple[Plain, dict[str, str]]:
    """The given settings in tables, and where each moved setting was given (``$.limits.reply`` → ``$.reply``):
    problems are reported at the path the data used. Flat keys of the first series give one warning."""
    nested: Plain = {}
    where: dict[str, str] = {}
    moved: list[str] = []
    for key, value in given.items():
        if key in TABLES:
            if not isinstance(value, Mapping):
                problems.append((f"$.{key}", Message("{value!r} is not a table", value=value)))
                continue
            allowed = [f.name for f in attrs.fields(TABLES[key][0])]
            for inner in value:
                if inner not in allowed:
                    problems.append((f"$.{key}.{inner}", Message("unknown setting; allowed: {allowed}",
                                                                 allowed=allowed)))
            table = nested.setdefault(key, {})
            assert isinstance(table, dict)
            table.update((k, v) for k, v in value.items() if k in allowed)
        elif key in RULES or key in FLAT:
            table_name, inner = ("limits", key) if key in RULES else FLAT[key]
            table = nested.setdefault(table_name, {})
            assert isinstance(table, dict)
            table[inner] = value
            where[f"$.{table_name}.{inner}"] = f"$.{key}"
            if key in FLAT:
                moved.append(f"{key!r} → [{table_name}] {inner}")
        elif key in TOP:
            nested[key] = value
        else:
            allowed = sorted([*TABLES, *TOP, *RULES, "preset"])
            problems.append((f"$.{key}", Message("unknown setting; allowed: {allowed}", allowed=allowed)))
    if moved:
        warnings.warn("flat policy settings are deprecated; put them in their tables: " + ", ".join(moved),
                      DeprecationWarning, stacklevel=4)
    return nested, where


def _shapes(nested: Plain, where: dict[str, str], problems: list[tuple[str, str]]) -> None:
    """Tables that merge with the preset's are tables; a wrong shape is named as such and left out."""
    analysis = nested.get("analysis")
    for path, table, key, wanted in (("$.permissions", nested, "permissions", "a table of event = [roles]"),
                                     ("$.analysis.targets", analysis, "targets", "a table of kpi = share")):
        if isinstance(table, dict) and key in table and not isinstance(table[key], Mapping):
            problems.append((where.get(path, path), Message("{0!r} is not {wanted}", table[key], wanted=wanted)))
            del table[key]


def _read_notice(nested: Plain, where: dict[str, str], folder: Path | None, problems: list[tuple[str, str]]) -> None:
    """A notice given as a file's path is read here, once (relative to the policy file's folder when it is there,
    else to the working directory)."""
    table = nested.get("calendar")
    raw = table.get("notice") if isinstance(table, dict) else None
    if not isinstance(raw, str) or raw == "none" or not isinstance(table, dict):
        return
    path = Path(raw)
    if folder is not None and not path.is_absolute() and (folder / path).exists():
        path = folder / path
    try:
        table["notice"] = read_calendar_notice(path)
    except CalendarError as exc:
        at = where.get("$.calendar.notice", "$.calendar.notice")
        # a problem inside the notice has a "$…" path to append; one reading the file (its "calendar file") has not
        problems += [(f"{at} ({path})" + (p[1:] if p.startswith("$") else ""), m) for p, m in exc.problems] or \
            [(at, str(exc))]


def _merged(base: Plain, given: Plain) -> Plain:
    """The preset's settings with the given ones over them: tables and tables of permissions and targets merge,
    every other value (lists included) is replaced."""
    out = dict(base)
    for key, value in given.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping) and key != "categories":
            out[key] = _merged(old, dict(value))
        else:
            out[key] = value
    return out


def _as_given(problems: list[tuple[str, str]], where: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for path, message in problems:
        for moved, given in where.items():
            if path == moved or path.startswith((moved + ".", moved + "[")):
                path = given + path[len(moved):]
                break
        out.append((path, message))
    return out
