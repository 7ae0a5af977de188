"""The engine's error messages in zh-Hans, zh-Hant and en.

An error is written in English at the place that raises it, as a template and its values
(``Message("one of {0}", names)``) — the gettext way: the English template is the key of the catalogue
``messages.tsv``, which holds each template in Simplified and Traditional Chinese. The values stay values: an
error shows the offending value as Python writes it (a code, a number, a date), and only templates and the names
of fields are translated. Texts quoted from Python or another library (a TOML or JSON parser's complaint, an
operating-system error) are shown as those libraries wrote them.

``str(error)`` is in the error language: :func:`set_error_language`, else ``$COMPLAINT_ENGINE_LANG``, else
English (what a host's logs expect); ``error.message(lang)`` renders an error in any language, and the CLI shows
errors in the language of its run.
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Self

__all__ = ["Message", "error_language", "render", "set_error_language"]

LANGUAGES = ("zh-Hant", "zh-Hans", "en")  # every text a person reads is in these; labels.py shows this list

_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("complaint_engine_error_language",
                                                                       default=None)


def set_error_language(lang: str | None) -> None:
    """The language of ``str(error)`` from now on in this context (``None``: back to the default)."""
    if lang is not None and lang not in LANGUAGES:
        from complaint_engine.errors import ValidationError

        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))
    _language.set(lang)


def error_language() -> str:
    chosen = _language.get()
    if chosen is not None:
        return chosen
    env = os.environ.get("COMPLAINT_ENGINE_LANG", "")
    return env if env in LANGUAGES else "en"


class Message(str):
    """An English message that knows its template and values, so that it renders in every language.

    It *is* the English text (a ``str``): code that reads errors as text keeps working. ``args`` fill positional
    fields (``{0}``), ``values`` named ones; a value that is itself a ``str`` is translated when it is a catalogued
    template (a field's name, a phrase), and shown as it is otherwise.
    """

    template: str
    args: tuple[object, ...]
    values: Mapping[str, object]

    def __new__(cls, template: str, /, *args: object, **values: object) -> Self:
        self = super().__new__(cls, _fill(template, args, values, "en"))
        self.template, self.args, self.values = template, args, values
        return self

    def __reduce__(self) -> tuple[object, ...]:  # pickled as its template and values, as it was made
        return (_rebuild, (self.template, self.args, dict(self.values)))

    def in_language(self, lang: str) -> str:
        return _fill(self.template, self.args, self.values, lang)


def _rebuild(template: str, args: tuple[object, ...], values: dict[str, object]) -> Message:
    return Message(template, *args, **values)


class Verbatim(str):
    """A text shown as it is in every language (a value's ``repr``, a path, a foreign library's message)."""


class Joined(str):
    """Parts rendered one by one and joined by ``sep`` (problems listed in one error)."""

    parts: tuple[object, ...]
    sep: str

    def __new__(cls, parts: Sequence[object], sep: str = "; ") -> Self:
        self = super().__new__(cls, sep.join(render(p, "en") for p in parts))
        self.parts, self.sep = tuple(parts), sep
        return self


def render(text: object, lang: str) -> str:
    """``text`` in ``lang``: a :class:`Message` filled in that language, a catalogued phrase translated, anything
    else as ``str`` shows it."""
    if isinstance(text, Message):
        return text.in_language(lang)
    if isinstance(text, Joined):
        sep = text.sep if lang == "en" else _catalogue(lang).get(text.sep, text.sep)
        return sep.join(render(p, lang) for p in text.parts)
    if isinstance(text, Verbatim) or not isinstance(text, str) or lang == "en":
        return str(text)
    return _catalogue(lang).get(text, text)


def _fill(template: str, args: tuple[object, ...], values: Mapping[str, object], lang: str) -> str:
    if lang != "en":
        template = _catalogue(lang).get(template, template)
    if not args and not values:
        return template
    return template.format(*(_value(a, lang) for a in args), **{k: _value(v, lang) for k, v in values.items()})


class _Shown:
    """A value inside a template: a catalogued text is translated (``{0}`` and ``{0!s}``); ``{0!r}`` and format
    specs see the value itself."""

    __slots__ = ("lang", "value")

    def __init__(self, value: object, lang: str) -> None:
        self.value, self.lang = value, lang

    def __str__(self) -> str:
        return render(self.value, self.lang)

    def __repr__(self) -> str:
        return repr(str(self.value))  # a code or a value: never translated

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(self.value, spec)


def _value(value: object, lang: str) -> object:
    return _Shown(value, lang) if isinstance(value, str) else value


@functools.cache
def _catalogue(lang: str) -> dict[str, str]:
    """The catalogue for ``lang``: English template → its translation (read once, when first needed)."""
    column = {"zh-Hans": 1, "zh-Hant": 2}[lang]
    table: dict[str, str] = {}
    text = resources.files("complaint_engine").joinpath("messages.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            cells = line.split("\t")
            table[cells[0]] = cells[column]
    return table


def catalogue() -> dict[str, tuple[str, str]]:
    """Every catalogued template: English → (zh-Hans, zh-Hant); for the tests and translators."""
    hans, hant = _catalogue("zh-Hans"), _catalogue("zh-Hant")
    return {en: (hans[en], hant[en]) for en in hans}
