"""The engine's errors in three languages (#18): every message the source makes is a catalogued template, the
catalogue's Simplified and Traditional columns agree (OpenCC), its Chinese templates hold no English prose, and
real errors render in each language without text of another."""

from __future__ import annotations

import ast
import pickle
import re
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import opencc
import pytest
from tests.test_languages import BOTH_SCRIPTS, REGIONAL

import complaint_engine as ce
from complaint_engine.messages import Message, catalogue, error_language, set_error_language

SRC = Path(ce.__file__).parent
T2S = opencc.OpenCC("t2s")
S2T = opencc.OpenCC("s2t")

# Names shown as they are in every language: parameters and fields of the API (code a caller types).
CODE_NAMES = {"after", "alpha", "as_of", "by", "complaint_ids", "cutoff", "flag", "freq", "into", "limit", "min_grace",
              "n", "now", "on_provisional", "other", "partition_by", "planned_for", "secrets", "subdivision",
              "synchronous", "tz", "window"}
# Latin words a Chinese template may hold: names of types, formats, standards and products, and the parameter
# names a setting is written with (documented in docs/errors.md)
CODE_WORDS = {"CalendarNotice", "ComplaintFrame", "False", "IANA", "ISO", "JSON", "N", "NUL", "NaN", "None",
              "Parquet", "Policy", "PostgreSQL", "TOML", "True", "UTC", "UTF-8", "datetime", "datetime64", "numpy",
              "python-holidays", "str", "timedelta", "u", "effective", "widespread", "first", "last", "office",
              "year", "years", "role", "seq", "met", "YYYY-MM-DD", "MM-", "bool", "int", "float", "list", "dict",
              "SQLite", "CSV", "Markdown", "pip", "install", "notice", "demo", "report", "export", "audit",
              "what-if", "calendar", "lifecycle"}


def _message_sites() -> Iterator[tuple[str, int, ast.expr]]:
    """Every expression the source gives as an error's message or part of one."""
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = str(path.relative_to(SRC))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            picked: list[ast.expr] = []
            if name == "of" and len(node.args) >= 3:
                picked = [node.args[0], node.args[2]]
            elif name in ("collect", "StorageError", "ConnectionLost", "ProvisionalCalendarError", "Message") \
                    and node.args:
                picked = [node.args[0]]
            elif name == "NotFound":
                picked = node.args[:1]
            elif name == "InvalidTransition":
                picked = [*node.args[1:2], *node.args[4:]]
            elif name == "PermissionDenied":
                picked = node.args[3:]
            elif name == "AuditFinding" and len(node.args) >= 4:
                picked = [node.args[3]]
            elif name == "append" and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                    and f.value.id == "problems" and node.args:
                a = node.args[0]
                picked = [a.elts[1]] if isinstance(a, ast.Tuple) and len(a.elts) == 2 else [a]
            picked += [k.value for k in node.keywords if k.arg == "reason" and name in ("InvalidTransition",
                                                                                         "PermissionDenied")]
            for expr in picked:
                yield rel, node.lineno, expr


def test_every_message_the_source_makes_is_a_catalogued_template() -> None:
    known = catalogue()
    formatted, missing = [], []
    for rel, line, expr in _message_sites():
        if isinstance(expr, ast.JoinedStr):  # an f-string is English only: it must be a Message
            formatted.append(f"{rel}:{line}")
        elif isinstance(expr, ast.Constant) and isinstance(expr.value, str) and expr.value not in known \
                and expr.value not in CODE_NAMES:
            missing.append(f"{rel}:{line}: {expr.value!r}")
    assert not formatted, formatted
    assert not missing, "\n".join(missing)


def test_a_catalogue_entry_has_the_same_fields_in_each_language_and_both_scripts_agree() -> None:
    def fields(text: str) -> list[tuple[str, str | None, str | None]]:
        return sorted((f, c, s) for _, f, s, c in string.Formatter().parse(text) if f is not None)

    wrong = {}
    for en, (hans, hant) in catalogue().items():
        assert fields(en) == fields(hans) == fields(hant), en
        expected = hant
        for traditional, simplified in REGIONAL.items():
            expected = expected.replace(traditional, simplified)
        if T2S.convert(expected) != hans:
            wrong[en] = (hans, hant)
    assert not wrong, wrong
    assert len(catalogue()) > 350


def _latin_prose(text: str) -> set[str]:
    """Latin words of a Chinese text that are neither values (quoted, numbers, dates, identifiers) nor code."""
    text = re.sub(r"\{[^{}]*\}|%(\(\w+\))?[sr]", " ", text)  # a template's fields (argparse's: %s)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)  # values as Python shows them
    text = re.sub(r"\$[\w.\[\]]*", " ", text)  # paths in a document ($.callbacks[0].reached)
    text = re.sub(r"(?<![\w])\.[a-z]+\b", " ", text)  # file extensions (.json)
    text = re.sub(r"\b[A-Z][a-z]+[A-Z]\w*\b", " ", text, flags=re.ASCII)  # class names (RecordCallback)
    text = re.sub(r"\b\w*[_.\[\]()<>=/\\:-]\w*\b", " ", text, flags=re.ASCII)  # identifiers, paths, dates, serials
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*", text) if w not in CODE_WORDS}


def test_the_chinese_templates_hold_no_english_prose() -> None:
    found = {en: _latin_prose(hans) | _latin_prose(hant) for en, (hans, hant) in catalogue().items()}
    assert not {en: w for en, w in found.items() if w}


def _errors() -> Iterator[tuple[str, Callable[[], object]]]:
    """Real calls that fail, one per kind of error and message source."""
    import datetime as dt

    from complaint_engine.commands.codec import from_dict as command_from_dict
    from complaint_engine.rules import CalendarNotice, WorkingCalendar
    from complaint_engine.rules.text import parse_rule
    from complaint_engine.storage import SQLiteRepository

    clock = ce.FixedClock(dt.datetime(2024, 3, 4, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    desk = ce.ComplaintDesk(clock=clock)
    reception = ce.Actor("r1", ce.Role.RECEPTION, "A")
    tech = ce.Actor("t1", ce.Role.TECHNICIAN, "A")
    c = desk.receive(owner="王先生", unit="3-1201", channel="phone", category="repair", summary="漏水", by=reception)
    yield "period", lambda: _period("2024X")
    yield "policy", lambda: ce.Policy.from_dict({"callbacks": {"attempts": 99, "target": 2}})
    yield "transition", lambda: desk.close(c.id, by=reception)
    yield "permission", lambda: desk.register(c.id, by=tech)
    yield "not found", lambda: desk.get("nope")
    yield "personal", lambda: desk.receive(owner="王先生", unit="3-1201", channel="phone", category="repair",
                                           summary="\x00漏水", by=reception)
    yield "channel", lambda: desk.receive(owner="王先生", unit="3-1201", channel="pigeon", category="repair",
                                          summary="漏水", by=reception)
    yield "command data", lambda: command_from_dict({"type": "RecordCallback", "complaint_id": "x",
                                                     "reached": "maybe"})
    yield "calendar", lambda: WorkingCalendar.for_region("CN", years=(2024, 2023))
    yield "notice", lambda: CalendarNotice.from_text("二〇二七年\n一、元旦：1月1日（周五）放假，共1天。")
    yield "rule", lambda: parse_rule("3 fortnights")
    yield "storage", lambda: SQLiteRepository(SRC)


def _period(text: str) -> object:
    from complaint_engine.period import Period

    return Period.parse(text)


@pytest.mark.parametrize(("name", "call"), list(_errors()), ids=[n for n, _ in _errors()])
def test_an_error_renders_in_each_language_without_text_of_another(name: str, call: Callable[[], object]) -> None:
    with pytest.raises(ce.ComplaintEngineError) as info:
        call()
    error = info.value
    assert str(error) == error.message("en")  # the default error language is English
    en, hans, hant = error.message("en"), error.message("zh-Hans"), error.message("zh-Hant")
    assert not re.search("[\u4e00-\u9fff]", _values_removed(en, error)), en
    for text in (hans, hant):
        assert re.search("[\u4e00-\u9fff]", text), text
        assert not _latin_prose(_values_removed(text, error)), (text, _latin_prose(text))
    assert not {ch for ch in hans if T2S.convert(ch) != ch}, hans  # no Traditional character
    assert not {ch for ch in hant if S2T.convert(ch) != ch} - BOTH_SCRIPTS, hant
    for personal in ("王先生", "3-1201", "漏水"):
        assert personal not in en + hans + hant


def _values_removed(text: str, error: BaseException) -> str:
    """The text without the values it quotes (the Chinese of a notice sentence, a path, a code)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", " ", text)
    return text.replace(str(SRC), " ")


def test_the_error_language_is_chosen_by_the_setting_then_the_environment_then_english(
        monkeypatch: pytest.MonkeyPatch) -> None:
    error = ce.ValidationError.of("period", "x", Message("a year in 1900..2199"))
    monkeypatch.delenv("COMPLAINT_ENGINE_LANG", raising=False)
    assert error_language() == "en"
    assert str(error) == "invalid period 'x'; allowed: a year in 1900..2199"
    monkeypatch.setenv("COMPLAINT_ENGINE_LANG", "zh-Hant")
    assert str(error) == "無效的期間 'x'；允許：1900..2199 之間的年份"
    try:
        set_error_language("zh-Hans")
        assert str(error) == "无效的期间 'x'；允许：1900..2199 之间的年份"
    finally:
        set_error_language(None)
    assert error_language() == "zh-Hant"
    with pytest.raises(ce.ValidationError, match="'klingon'"):
        set_error_language("klingon")


def test_an_error_keeps_its_languages_through_pickle_and_its_message_is_english_text() -> None:
    with pytest.raises(ce.PolicyError) as info:
        ce.Policy.from_dict({"callbacks": {"attempts": 99}})
    error = info.value
    again = pickle.loads(pickle.dumps(error.args[0]))
    assert again == error.args[0]
    assert isinstance(again, Message)
    assert again.in_language("zh-Hans") == error.message("zh-Hans")
    _path, problem = error.problems[0]
    assert isinstance(problem, str)
    assert problem in str(error)  # the problems are the English texts, as before


def test_the_cli_shows_engine_errors_in_the_language_of_its_run(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from complaint_engine.cli import main

    db = tmp_path / "empty.sqlite"
    db.write_bytes(b"")
    for lang, expected in (("zh-Hans", "无效的期间"), ("zh-Hant", "無效的期間"), ("en", "invalid period")):
        assert main(["report", "--db", str(db), "--period", "2024X", "--lang", lang]) == 2
        assert expected in capsys.readouterr().err
    # and after the run the process's error language is unchanged
    assert error_language() in ("en", "zh-Hans", "zh-Hant")


COMMANDS = ("demo", "report", "export", "audit", "what-if", "calendar", "lifecycle")


def _help_prose(text: str) -> set[str]:
    text = text.replace("python -m complaint_engine", " ")
    text = re.sub(r"'[^']*'|默[认認]：[\w-]+", " ", text)  # values, and the defaults argparse shows
    # options, choices, metavars
    text = re.sub(r"(?<![\w])--?[A-Za-z][\w-]*|\{[^{}]*\}|\[[^\[\]]*\]|\b[A-Z_]{2,}\b", " ", text)
    return _latin_prose(text)


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_the_cli_help_and_usage_errors_are_in_the_language_asked(lang: str, capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    import argparse

    from complaint_engine.cli import main

    gettext_hook = argparse._  # type: ignore[attr-defined]
    for command in ((), *((c,) for c in COMMANDS)):
        with pytest.raises(SystemExit) as exit_:
            main([*command, "--help", "--lang", lang])
        assert exit_.value.code == 0
        shown = capsys.readouterr().out
        assert shown.startswith("用法："), shown[:40]
        assert not _help_prose(shown), (command, sorted(_help_prose(shown)))
    for argv in (["report", "--lang", lang], ["report", "--db", "x", "--period", "--lang", lang],
                 ["export", "--db", "x", "--period", "2024", "--what", "foo", "--lang", lang],
                 ["demo", "--year", "x", "--lang", lang], ["audit", "--db", "x", "--dsn", "y", "--lang", lang],
                 ["report", "--db", "x", "--period", "2024", "--bogus", "--lang", lang]):
        assert main(argv) == 2
        said = capsys.readouterr().err
        assert said.count("\n") == 1
        assert re.search("[\u4e00-\u9fff]", said)
        assert not _help_prose(said), (argv, said)
    assert argparse._ is gettext_hook  # type: ignore[attr-defined]  # argparse's own hook is put back
