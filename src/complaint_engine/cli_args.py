"""The command line's arguments, with every text a person reads in the run's language: our help texts come from
the message catalogue, and so do argparse's own ("usage:", "the following arguments are required: …"), which
argparse looks up through gettext's ``_`` — the hook it provides for translations — while a parser runs."""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn

from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import render

__all__ = ["REPORT_FORMATS", "CLIError", "language_asked", "parse"]

REPORT_FORMATS = ("markdown", "json", "html")
PROG = "python -m complaint_engine"


class CLIError(Exception):
    """A usage problem, reported as one line in the command's language: a label key and its values."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(label(key, "en").format(**values))
        self.key, self.values = key, values


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        raise CLIError("cli.usage", message=message, prog=self.prog)


def language_asked(argv: Sequence[str]) -> str | None:
    """The ``--lang`` of a command line, read before parsing it: the help and usage errors are in it too."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else (
            argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None)
        if value in LANGUAGES:
            return value
    return None


@contextlib.contextmanager
def _argparse_speaks(lang: str) -> Iterator[None]:
    """argparse's own texts in ``lang`` while a parser runs (restored afterwards)."""
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    argparse._ = lambda text: text if text is None else render(text, lang)  # type: ignore[attr-defined]
    argparse.ngettext = lambda one, many, n: render(one if n == 1 else many, lang)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved  # type: ignore[attr-defined]


def parse(argv: Sequence[str] | None, lang: str) -> argparse.Namespace:
    """The command line parsed, its help and usage errors in ``lang``."""
    with _argparse_speaks(lang):
        return _parser(functools.partial(render, lang=lang)).parse_args(argv)


def _parser(t: Callable[[str], str]) -> argparse.ArgumentParser:
    # argparse's own texts (its group titles, --help) are made here, in the language parse() gave its hook
    root = _Parser(prog=PROG, description=t(
        "The complaint procedure of a property-management company: simulate a year (demo), analyse a period "
        "(report), export the quality records (export), check a register (audit)."))
    from complaint_engine import __version__

    root.add_argument("--version", action="version", version=f"complaint_engine {__version__}",
                      help=t("show the version and exit"))
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser, title=t("commands"))

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=t(text), description=t(text))

    demo = command("demo", "simulate a year at an estate into SQLite and print the analysis")
    demo.add_argument("--db", default="complaints.sqlite", help=t("SQLite file to create (default: %(default)s)"))
    demo.add_argument("--year", type=int, default=2024, help=t("the year to simulate (default: %(default)s)"))
    demo.add_argument("--seed", type=int, default=7, help=t("random seed; the same seed gives the same year"))
    _lang(demo, t)
    demo.add_argument("--overwrite", action="store_true", help=t("replace the database file if it exists"))
    demo.add_argument("--policy", help=t("a policy TOML file (default: Policy.default())"))
    demo.add_argument("--show-personal-data", action="store_true", help=t("print owners' names unmasked"))

    report = command("report", "the analysis of one or more periods from a database")
    _common(report, t, periods=True)
    report.add_argument("--format", default="markdown", choices=REPORT_FORMATS,
                        help=t("how each report is printed or written (default: %(default)s)"))
    report.add_argument("--out", help=t("a folder for each period's report (report-2024H1.md, .json or .html) and "
                                        "its charts"))

    export = command("export", "the register, the handling notices or the CAPA reports")
    _common(export, t)
    export.add_argument("--what", required=True, choices=("register", "notices", "capa"),
                        help=t("which records to export"))
    export.add_argument("--format", default="csv", choices=("csv", "md"),
                        help=t("CSV or a Markdown table (default: %(default)s)"))
    export.add_argument("--out", help=t("a file to write (default: standard output); a CSV file starts with a "
                                        "byte-order mark, so spreadsheet programs read its Chinese text right"))
    export.add_argument("--excel", action="store_true", help=t("start CSV on standard output with a byte-order "
                                                               "mark too (for: export ... > register.csv)"))

    audit = command("audit", "check a database's register: unbroken histories, one number per complaint, "
                             "gap-free serials (exit status 1 on any finding)")
    _store(audit, t)
    audit.add_argument("--office", help=t("one office (default: all)"))
    _lang(audit, t)
    audit.add_argument("--export-heads", metavar="FILE", help=t(
        "write each office's daily head of the hash chains, to be kept or countersigned elsewhere"))
    audit.add_argument("--verify-heads", metavar="FILE",
                       help=t("heads exported earlier: any that differs now is a finding"))
    audit.add_argument("--policy", help=t("the policy TOML file whose serial format numbered the register "
                                          "(default: Policy.default())"))

    what_if = command("what-if", "replay a period's clocks under another policy: the breaches, per department "
                                 "and person, and the KPIs under both")
    _store(what_if, t)
    what_if.add_argument("--policy", required=True, help=t("the policy TOML file to replay under"))
    what_if.add_argument("--period", required=True, help=t("'2024', '2024H1', '2024Q3' or '2024-05'"))
    what_if.add_argument("--office", help=t("one office (default: all)"))
    what_if.add_argument("--recorded-policy", help=t("the policy TOML file in force when the period was handled "
                                                     "(its KPI targets; default: Policy.default())"))
    what_if.add_argument("--format", default="markdown", choices=("markdown", "json"),
                         help=t("Markdown or JSON (default: %(default)s)"))
    _lang(what_if, t)

    calendar = command("calendar", "read the State Council's holiday notice text into a notice file and print "
                                   "the year's working days for a person to check")
    calendar.add_argument("--from-notice", required=True,
                          help=t("the notice's text (UTF-8), Simplified or Traditional"))
    calendar.add_argument("--out", help=t("the notice file to write (TOML, loaded by a policy's [calendar] notice)"))
    calendar.add_argument("--replace", action="store_true",
                          help=t("accept a notice that differs from the official days the calendar already has"))
    _lang(calendar, t)

    command("lifecycle", "print docs/lifecycle.md, generated from the transition tables")
    return root


def _lang(p: argparse.ArgumentParser, t: Callable[[str], str]) -> None:
    p.add_argument("--lang", default=None, choices=LANGUAGES,
                   help=t("the language of what the command prints (default: $COMPLAINT_ENGINE_LANG, else the "
                          "policy's)"))


def _store(p: argparse.ArgumentParser, t: Callable[[str], str]) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help=t("an existing SQLite file"))
    where.add_argument("--dsn", help=t("a PostgreSQL database (needs: pip install 'complaint_engine[postgres]'), "
                                       "e.g. 'host=db.example dbname=complaints user=reports'"))


def _common(p: argparse.ArgumentParser, t: Callable[[str], str], periods: bool = False) -> None:
    _store(p, t)
    if periods:
        p.add_argument("--period", required=True, nargs="+", action="extend",
                       help=t("one or more of '2024', '2024H1', '2024Q3', '2024-05': one report each"))
    else:
        p.add_argument("--period", required=True, help=t("'2024', '2024H1', '2024Q3' or '2024-05'"))
    p.add_argument("--office", help=t("one office (default: all)"))
    _lang(p, t)
    p.add_argument("--policy", help=t("a policy TOML file (default: Policy.default())"))
