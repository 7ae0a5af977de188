"""Immutability all the way down: frozen mappings, read-only arrays, and the lifecycle's fast copy.

A frozen attrs class stops ``obj.field = x`` but not ``obj.mapping.pop(k)``: a returned complaint whose
``deadlines`` is a plain dict can be emptied by its caller, and the change reaches every cache holding that
object. So every mapping inside a frozen domain object is a :class:`FrozenDict` (made by an attrs converter),
every sequence a tuple, every array read-only (:func:`readonly`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

__all__ = [
    "FrozenDict",
    "deep_frozen",
    "frozen_count_map",
    "frozen_dict",
    "frozen_share_map",
    "frozen_text_map",
    "readonly",
    "readonly_bool",
    "readonly_float",
    "readonly_int",
    "replace",
]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
A = TypeVar("A", bound=np.generic)


class FrozenDict(dict[K, V]):
    """A dict that refuses every change (``TypeError``). Reads run at dict speed, it compares equal to a dict of
    the same items, pickles, and is JSON-able as a dict."""

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is immutable: build a new mapping instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self) -> tuple[Callable[[dict[K, V]], FrozenDict[K, V]], tuple[dict[K, V]]]:
        return FrozenDict, (dict(self),)

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def frozen_dict(value: Mapping[K, V] | Iterable[tuple[K, V]]) -> FrozenDict[K, V]:
    """An attrs converter: the same :class:`FrozenDict`, or a frozen copy of any other mapping."""
    return value if type(value) is FrozenDict else FrozenDict(value)


# Converters for attrs fields, one per element type: the attrs mypy plugin does not solve a generic converter.
def frozen_text_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return frozen_dict(value)


def frozen_count_map(value: Mapping[str, int]) -> Mapping[str, int]:
    return frozen_dict(value)


def frozen_share_map(value: Mapping[str, float]) -> Mapping[str, float]:
    return frozen_dict(value)


def readonly_int(array: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return readonly(array)


def readonly_float(array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return readonly(array)


def readonly_bool(array: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return readonly(array)


def readonly(array: npt.NDArray[A]) -> npt.NDArray[A]:
    """A read-only view of the array (``ValueError: assignment destination is read-only`` on writes through
    it); the caller's own array keeps its flags."""
    view = array.view()
    view.flags.writeable = False
    return view


def deep_frozen(value: object) -> object:
    """Mappings as :class:`FrozenDict` and lists as tuples, at every depth (nested report tables)."""
    if isinstance(value, Mapping):
        return FrozenDict({k: deep_frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(deep_frozen(v) for v in value)
    return value


# ------------------------------------------------------------------------------------------- the fast copy
_CONVERTERS: dict[type, Mapping[str, Callable[[Any], object]]] = {}


def _converters_of(cls: type) -> Mapping[str, Callable[[Any], object]]:
    """The converters :func:`replace` applies for ``cls``, after checking that a dict copy is safe for it."""
    found = _CONVERTERS.get(cls)
    if found is None:
        if not attrs.has(cls) or not hasattr(object.__new__(cls), "__dict__"):
            raise TypeError(f"replace() copies the instance dict: {cls.__name__} is not a dict-backed attrs class "
                            "(declare it slots=False, or use attrs.evolve)")
        fields = attrs.fields(cls)
        checked = [f.name for f in fields if f.validator is not None]
        if checked:
            raise TypeError(f"replace() would skip the validators of {cls.__name__} ({', '.join(checked)}); "
                            "use attrs.evolve")
        found = _CONVERTERS[cls] = {f.name: f.converter for f in fields if callable(f.converter)}
    return found


def replace(obj: T, changes: Mapping[str, object]) -> T:
    """A copy of a frozen, dict-backed attrs object with some fields changed.

    ``attrs.evolve`` rebuilds through ``__init__`` (about 12 µs for a Complaint); the lifecycle replaces
    one complaint per step, so it copies the instance dict instead. Allowed only for classes declared with
    ``slots=False`` and no validators (checked once per class, a ``TypeError`` otherwise); the fields'
    converters are applied to the changed values, so the copy is exactly what ``__init__`` would build.
    """
    cls = type(obj)
    converters = _CONVERTERS.get(cls)
    if converters is None:
        converters = _converters_of(cls)
    new = object.__new__(cls)
    state = new.__dict__
    state.update(obj.__dict__)
    if not state.keys() >= changes.keys():
        unknown = sorted(set(changes) - set(state))
        raise AttributeError(f"{cls.__name__} has no field {unknown[0]!r}")
    state.update(changes)
    for key, convert in converters.items():  # a class has few converted fields: usually none, or one
        if key in changes:
            state[key] = convert(state[key])
    return new
