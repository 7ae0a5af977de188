"""Plain data and JSON for every domain class, in the style of ``cattrs.preconf``.

There is no global converter: :func:`make_converter` builds one, and the module functions use a
private instance of it. The rules:

* instants are ISO 8601 strings **with** an offset; a naive instant is refused;
* enums are their values; a transition's states are complaint statuses by value, CAPA statuses as
  ``"capa:<value>"`` (the two enums share values such as ``"closed"``);
* deadline rules are their canonical text (``"3 working days"``, see ``rules.text``);
* strict: unknown keys are refused, strings must be strings, integers integers, booleans booleans;
* fields equal to their default are omitted (and restored on reading), which keeps documents small;
* stored documents carry ``schema_version``; another version is refused; a complaint's document leaves
  out its history, which stores keep as transition rows.

Malformed input raises :class:`ValidationError` listing every problem with its path
(``$.notice.capa_numbers[0]``).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
from collections.abc import Callable
from typing import TypeVar, get_args, get_origin

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import BaseValidationError
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.v import format_exception

from complaint_engine.errors import ValidationError
from complaint_engine.frozen import replace
from complaint_engine.messages import Message, Verbatim
from complaint_engine.model import (
    Announcement,
    Callback,
    CAPAReport,
    CAPAStatus,
    Complaint,
    Deferral,
    Escalation,
    HandlingNotice,
    Referral,
    Status,
    Transition,
)
from complaint_engine.rules.deadlines import DeadlineRule
from complaint_engine.rules.sla import Deadline
from complaint_engine.rules.text import parse_rule, rule_text

__all__ = [
    "SCHEMA_VERSION",
    "JSONValue",
    "describe_problems",
    "from_dict",
    "from_document",
    "from_json",
    "from_legacy_document",
    "make_converter",
    "to_dict",
    "to_document",
    "to_json",
]

SCHEMA_VERSION = 2  # 2: a complaint's document no longer repeats its history
JSONValue = str | int | float | bool | None | list["JSONValue"] | dict[str, "JSONValue"]
"""Plain data as JSON holds it."""
T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")
TransitionState = Status | CAPAStatus
CAPA_PREFIX = "capa:"


def _instant(value: object, _: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not an ISO 8601 string", value))
    parsed = dt.datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError(Message("{0!r} has no UTC offset", value))
    return parsed


def _strict(kind: type[T]) -> Callable[[object, object], T]:
    def check(value: object, _: object) -> T:
        if type(value) is not kind:
            raise TypeError(Message("{0!r} is not {1}", value, kind.__name__))
        return value

    return check


def _state(value: object, _: object) -> Status | CAPAStatus:
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not a state", value))
    if value.startswith(CAPA_PREFIX):
        return CAPAStatus(value[len(CAPA_PREFIX):])
    return Status(value)


def _state_out(value: Status | CAPAStatus) -> str:
    return CAPA_PREFIX + value.value if isinstance(value, CAPAStatus) else value.value


def _enum_hook(value: object, kind: type[enum.Enum]) -> enum.Enum:
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not one of {1}", value, [m.value for m in kind]))
    try:
        return kind(value)
    except ValueError:
        raise ValueError(Message("{0!r} is not one of {1}", value, [m.value for m in kind])) from None


def _rule(value: object, _: object) -> DeadlineRule:
    if not isinstance(value, str):
        raise TypeError(Message("{0!r} is not a deadline rule's text", value))
    try:
        return _cached_parse_rule(value)
    except ValidationError as exc:
        raise ValueError(exc.args[0]) from None


@functools.lru_cache(maxsize=256)
def _cached_parse_rule(text: str) -> DeadlineRule:
    return parse_rule(text)  # rules are immutable, and every stored clock repeats one of a few texts


@functools.lru_cache(maxsize=256)
def _cached_rule_text(rule: DeadlineRule) -> str:
    return rule_text(rule)  # a handful of distinct rules, written on every clock of every document


def make_converter(*, detailed_validation: bool = True) -> cattrs.Converter:
    """A strict converter for every domain class; see the module docstring for its rules.

    ``detailed_validation=False`` gives the same results faster but reports only the first problem.
    """
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed_validation, omit_if_default=True)
    conv.register_unstructure_hook(dt.datetime, lambda d: d.isoformat())
    conv.register_structure_hook(dt.datetime, _instant)
    for kind in (str, int, bool):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook(float, lambda v, _: float(_strict(float)(v, _)) if not isinstance(v, int)
                                 or isinstance(v, bool) else float(v))
    conv.register_unstructure_hook_func(lambda t: isinstance(t, type) and issubclass(t, enum.Enum),
                                        lambda e: e._value_)  # the attribute: ``.value`` is a slow descriptor
    conv.register_structure_hook_func(lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook)
    conv.register_structure_hook(TransitionState, _state)
    conv.register_structure_hook(TransitionState | None, lambda v, _: None if v is None else _state(v, _))
    conv.register_unstructure_hook(TransitionState, _state_out)
    conv.register_unstructure_hook(TransitionState | None, lambda v: None if v is None else _state_out(v))
    conv.register_structure_hook_func(lambda t: t is DeadlineRule, _rule)
    conv.register_unstructure_hook_func(lambda t: t is DeadlineRule, _cached_rule_text)
    # Transition states are declared as a union; unstructure them by the declared field type, not by value
    conv.register_unstructure_hook(Transition, _transition_out(conv))
    # cattrs would read a string as a sequence of characters: a sequence field takes only a JSON array
    conv.register_structure_hook_factory(
        _is_variadic_tuple, lambda t: _arrays_only(homogenous_tuple_structure_factory(t, conv)))
    return conv


def _is_variadic_tuple(t: object) -> bool:
    args: tuple[object, ...] = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis


def _arrays_only(inner: Callable[[object, type], T]) -> Callable[[object, type], T]:
    def structure(value: object, t: type) -> T:
        if not isinstance(value, (list, tuple)):
            raise TypeError(Message("{0!r} is not a list", value))
        return inner(value, t)

    return structure


def _transition_out(_conv: cattrs.Converter) -> Callable[[Transition], dict[str, JSONValue]]:
    def out(t: Transition) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"event": t.event, "source": None if t.source is None else _state_out(t.source),
               "target": _state_out(t.target), "at": t.at.isoformat(),
               "actor": {"id": t.actor.id, "role": t.actor.role._value_, "office": t.actor.office}}
        if t.note is not None:
            out["note"] = t.note
        if t.recorded_at is not None:
            out["recorded_at"] = t.recorded_at.isoformat()
        return out

    return out


_CONVERTER = make_converter()
_FAST = make_converter(detailed_validation=False)  # reading: fast path; on failure the detailed one explains


def _described(exc: BaseException, kind: type | None, said: dict[str, str]) -> str:
    """cattrs' wording of a problem, with the value and what was wanted from our hooks' own message
    ("invalid value for type, expected datetime: 1717376400 is not an ISO 8601 string"), as a :class:`Message`
    (kept in ``said`` by its English text: cattrs joins it with its path into plain text)."""
    message: str
    if isinstance(exc, KeyError):
        message = Message("required field missing")
    elif isinstance(exc, (TypeError, ValueError)) and kind is not None:
        expected = Verbatim(getattr(kind, "__name__", repr(kind)))
        message = (Message("invalid value for type, expected {0}: {1}", expected, exc.args[0]) if exc.args
                   else Message("invalid value for type, expected {0}", expected))
    elif isinstance(exc, ValueError):  # a command's own check, raised from plain data
        message = Message("invalid value: {0}", exc.args[0]) if exc.args else Message("invalid value")
    else:  # cattrs' own wording of a rarer problem (extra fields, an iterable expected…)
        message = Verbatim(format_exception(exc, kind))
    said[str(message)] = message
    return str(message)


def describe_problems(exc: BaseException) -> list[tuple[str, str]]:
    """``(path, message)`` for every problem of a structuring error (``$.notice.capa_numbers[0]``)."""
    if isinstance(exc, BaseValidationError):
        out = []
        said: dict[str, str] = {}
        for line in cattrs.transform_error(exc, path="$",
                                           format_exception=functools.partial(_described, said=said)):
            message, _, path = line.rpartition(" @ ")
            out.append((path or "$", said.get(message, message or line)))
        return out
    return [("$", exc.args[0] if isinstance(exc, ValidationError) else str(exc))]


def to_dict(obj: object) -> JSONValue:
    """Plain data (dicts, lists, strings, numbers) for a domain object."""
    data: JSONValue = _CONVERTER.unstructure(obj, type(obj))
    return data


def from_dict(data: object, cls: type[T]) -> T:
    """The domain object of plain data; malformed data raises ValidationError listing every problem."""
    try:
        return _FAST.structure(data, cls)
    except Exception:
        pass
    try:
        return _CONVERTER.structure(data, cls)
    except (BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError.collect(cls.__name__, describe_problems(exc)) from None


def to_json(obj: object) -> str:
    return json.dumps(to_dict(obj), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | bytes, cls: type[T]) -> T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.of(Message("{0} JSON", cls.__name__), str(text)[:60],
                                 Message("valid JSON ({0})", exc)) from None
    return from_dict(data, cls)


STORED = (Complaint, CAPAReport, Announcement)


def _memoized(unstructure: Callable[[U], V], size: int = 16_384) -> Callable[[U], V]:
    """An unstructure hook that remembers its result per object (by identity, holding the object).

    A desk verb rewrites the whole document of a complaint, while most of its parts — clocks, callbacks,
    the notice — are the very objects of the version before (objects are immutable and copied by
    reference). Rendering those parts again is most of a document's cost (every instant is an
    ``isoformat`` call).
    """
    memo: dict[int, tuple[U, V]] = {}

    def hook(obj: U) -> V:
        hit = memo.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        out = unstructure(obj)
        if len(memo) >= size:
            memo.clear()
        memo[id(obj)] = (obj, out)
        return out

    return hook


def _document_converter() -> cattrs.Converter:
    """The converter of stored documents: the strict one, with the parts of a complaint memoized. Its
    shared plain data goes straight to the JSON encoder and is never handed out (``to_dict`` does not
    use it), so no caller can alter a remembered part."""
    conv = make_converter(detailed_validation=False)
    # instants first: the part hooks generated below bind the instant hook; a new clock reuses the instants
    # of the clock it replaces (``started_at``, ``due``), so their text is remembered too
    conv.register_unstructure_hook(dt.datetime, _memoized(dt.datetime.isoformat, size=65_536))
    for cls in (Deadline, Callback, HandlingNotice, Escalation, Referral, Deferral):
        conv.register_unstructure_hook(cls, _memoized(conv.get_unstructure_hook(cls)))
    # a complaint's document leaves out its history (the store keeps it as transition rows): generated without
    # it, rather than unstructuring a copy of the complaint whose history is emptied
    conv.register_unstructure_hook(Complaint, make_dict_unstructure_fn(Complaint, conv, _cattrs_omit_if_default=True,
                                                                       history=override(omit=True)))
    return conv


_DOCUMENTS = _document_converter()
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # one encoder: documents are written often


def to_document(obj: Complaint | CAPAReport | Announcement) -> str:
    """The stored JSON document of a complaint, CAPA report or announcement, with ``schema_version``.

    A complaint's document leaves out its history: stores keep each transition once, as a row of their
    append-only transition table (the quality record, P-7), and hand the rows back to
    :func:`from_document`. (Schema version 1 documents repeated the history inside.)
    """
    data = _DOCUMENTS.unstructure(obj, type(obj))
    data["schema_version"] = SCHEMA_VERSION
    return _ENCODER.encode(data)


def from_document(text: str | bytes, cls: type[T], *, key: str = "?",
                  history: tuple[Transition, ...] = ()) -> T:
    """A stored document back into its object; errors name the stored ``key``. A complaint takes its
    ``history`` from the store's transition rows."""
    obj = _read_document(text, cls, key, SCHEMA_VERSION)
    return replace(obj, {"history": history}) if cls is Complaint else obj


def from_legacy_document(text: str | bytes, cls: type[T], *, key: str = "?") -> T:
    """A schema version 1 document (a complaint's history inside it): for store migrations only."""
    return _read_document(text, cls, key, 1)


def _read_document(text: str | bytes, cls: type[T], key: str, expected: int) -> T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.of(Message("stored {0} {1!r}", cls.__name__, key), str(text)[:60],
                                 Message("valid JSON ({0})", exc)) from None
    if not isinstance(data, dict):
        raise ValidationError.of(Message("stored {kind} {key!r}",
                                         kind=cls.__name__, key=key), type(data).__name__, "a JSON object")
    version = data.pop("schema_version", None)
    if version != expected:
        raise ValidationError.of(Message("schema_version of stored {kind} {key!r}",
                                         kind=cls.__name__, key=key), version,
                                 Message("{expected} (this library's document schema)", expected=expected))
    try:
        return from_dict(data, cls)
    except ValidationError as exc:
        raise ValidationError.collect(Message("stored {kind} {key!r}",
                                              kind=cls.__name__, key=key), exc.problems) from None
