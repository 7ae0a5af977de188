"""``python -m complaint_engine demo | report | export | audit | lifecycle``.

``report``, ``export`` and ``audit`` read a SQLite file (``--db``) or a PostgreSQL database (``--dsn``).

Every failure is one line on stderr (``error: …``, naming the value and what is allowed) and exit
status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complaint_engine.cli_args import CLIError, language_asked, parse
from complaint_engine.errors import ComplaintEngineError
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import render
from complaint_engine.period import Period
from complaint_engine.policy import Policy

if TYPE_CHECKING:  # the stores load on first use: the CLI starts without sqlite3, cattrs or psycopg
    from complaint_engine.storage.sql import SQLRepository

__all__ = ["main"]


# The language of the command's own messages: --lang, else $COMPLAINT_ENGINE_LANG, else the policy's.
_messages = [os.environ.get("COMPLAINT_ENGINE_LANG") or ""]


def _lang() -> str:
    return _messages[0] if _messages[0] in LANGUAGES else Policy.default().language


def _say(key: str, **values: object) -> str:
    return label(key, _lang()).format(**values)


def _policy(path: str | None) -> Policy:
    policy = Policy.from_toml(path) if path else Policy.default()
    if _messages[0] not in LANGUAGES:
        _messages[0] = policy.language
    return policy


def _open_existing(args: argparse.Namespace) -> SQLRepository:
    """The store named by ``--db`` (an existing SQLite file) or ``--dsn`` (PostgreSQL)."""
    if args.dsn is not None:
        try:
            from complaint_engine.storage.postgres import PostgresRepository
        except ImportError as exc:
            raise CLIError("cli.plain", message=exc) from None
        return PostgresRepository(args.dsn, create=False)
    from complaint_engine.storage import SQLiteRepository

    p = Path(args.db)
    if p.is_dir():
        raise CLIError("cli.db_is_folder", db=args.db)
    if not p.exists():
        raise CLIError("cli.db_missing", db=args.db)
    if p.is_file() and p.stat().st_size == 0:
        raise CLIError("cli.db_empty", db=args.db)
    return SQLiteRepository(p, read_only=True)  # no write lock: a report or an audit runs beside a busy desk


def _check_office(repo: SQLRepository, office: str | None) -> None:
    if office is None:
        return
    offices = repo.offices()
    if office not in offices:
        raise CLIError("cli.unknown_office", office=office, offices=", ".join(offices) or "—")


def _progress(total_days: int, lang: str) -> object:
    started = time.monotonic()
    interactive = sys.stderr.isatty()

    def show(day: object, complaints: int) -> None:
        done = min(1.0, (day.timetuple().tm_yday) / total_days)  # type: ignore[attr-defined]
        if interactive:
            bar = "#" * int(done * 30)
            sys.stderr.write(f"\r[{bar:<30}] {done:4.0%} {day} "
                             f"{label('demo.progress_bar', lang).format(n=complaints)} "
                             f"{time.monotonic() - started:5.1f}s")
            sys.stderr.flush()
        elif day.day == 1:  # type: ignore[attr-defined]
            sys.stderr.write(label("demo.progress", lang).format(month=f"{day:%Y-%m}", n=complaints) + "\n")

    return show


def _demo(args: argparse.Namespace) -> int:
    from complaint_engine.demo import format_register
    from complaint_engine.simulation import simulate_year
    from complaint_engine.stats import ComplaintFrame, analyse, plot_report, render_markdown
    from complaint_engine.storage import SQLiteRepository

    started = time.monotonic()
    policy = _policy(args.policy)  # everything is checked before the database file is made
    calendar = policy.calendar()
    if not calendar.first_year <= args.year <= calendar.last_year - 1:  # the year's deadlines run into the next
        raise CLIError("cli.year_outside", year=args.year, first=calendar.first_year, last=calendar.last_year - 1)
    db = Path(args.db)
    if db.is_dir():
        raise CLIError("cli.db_folder_to_create", db=args.db)
    if not db.parent.is_dir():
        raise CLIError("cli.no_folder", db=args.db, folder=str(db.parent))
    if db.exists():
        if not args.overwrite:
            raise CLIError("cli.db_exists", db=args.db)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    # a simulated year is made again from its seed at will, so its commits skip the fsync (WAL, synchronous
    # NORMAL: the file stays consistent after a crash, the last steps may be lost); a desk keeps FULL
    repo = SQLiteRepository(db, synchronous="NORMAL")
    days = 366 if args.year % 4 == 0 else 365
    lang = args.lang or policy.language
    result = simulate_year(repo, year=args.year, seed=args.seed, policy=policy, lang=lang,
                           progress=_progress(days, lang))  # type: ignore[arg-type]
    sys.stderr.write("\n")
    if result.interrupted:
        sys.stderr.write(label("demo.interrupted", lang).format(n=result.complaints, db=db) + "\n")
        return 130
    print(label("demo.stored", lang).format(complaints=result.complaints, steps=result.transitions, db=db) + "\n")
    complaints = repo.find()
    print(format_register(complaints[:12], show_personal_data=args.show_personal_data, lang=lang, policy=policy))
    command = f"python -m complaint_engine export --db {db} --period {args.year} --what register"
    print(label("demo.more", lang).format(n=len(complaints) - 12, command=command) + "\n")
    frame = ComplaintFrame.from_repository(repo, tz=policy.tz)
    capas = repo.find_capas()
    for period in (f"{args.year}H1", str(args.year)):
        report = analyse(frame, period, policy=policy, capas=capas, households=[300] * (6 if "H" in period
                                                                                        else 12))
        print(render_markdown(report, lang))
        try:
            files = plot_report(report, db.parent, lang=lang)
            print(label("demo.charts", lang).format(files=", ".join(str(f) for f in files)) + "\n")
        except ImportError:
            print(label("demo.no_charts", lang).format(command="pip install 'complaint_engine[plot]'") + "\n")
    print(label("demo.wall_time", lang).format(seconds=time.monotonic() - started))
    return 0


def _load(args: argparse.Namespace) -> tuple[SQLRepository, Policy, Period, str]:
    policy = _policy(args.policy)
    period = Period.parse(args.period)
    repo = _open_existing(args)
    _check_office(repo, args.office)
    return repo, policy, period, args.lang or policy.language


_SUFFIX = {"markdown": "md", "json": "json", "html": "html"}


def _report(args: argparse.Namespace) -> int:
    from complaint_engine.stats import analyse, plot_report

    policy = _policy(args.policy)
    periods = [Period.parse(p) for p in dict.fromkeys(args.period)]  # all checked before the store is opened
    repo = _open_existing(args)
    _check_office(repo, args.office)
    lang = args.lang or policy.language
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise CLIError("cli.out_is_file", out=args.out)
    texts = []
    for period in periods:
        with repo.snapshot() as view:  # the complaints and the CAPA reports as of one moment
            capas = view.find_capas(office=args.office)
            # counted by the server on PostgreSQL; read into a frame of the period and the one before on SQLite
            report = analyse(view, period, policy=policy, office=args.office, capas=capas)
        text = _formatted(report, args.format, lang)
        if out is None:
            texts.append(text)
            continue
        out.mkdir(parents=True, exist_ok=True)
        (out / f"report-{period.label}.{_SUFFIX[args.format]}").write_text(text, encoding="utf-8")
        try:
            plot_report(report, out, lang=lang)
        except ImportError:
            sys.stderr.write(_say("cli.charts_skipped", command="pip install 'complaint_engine[plot]'") + "\n")
    if out is not None:
        print(_say("cli.written", path=out))
    elif args.format == "json":
        print(texts[0] if len(texts) == 1 else "[\n" + ",\n".join(texts) + "\n]")
    else:
        print(("\n" if args.format == "markdown" else "").join(texts))
    return 0


def _formatted(report: Any, fmt: str, lang: str) -> str:
    """One report as Markdown, JSON or a whole HTML page (its charts inline when matplotlib is there)."""
    import html
    import json

    if fmt == "json":
        return json.dumps({**report.to_dict(), "language": lang}, ensure_ascii=False, indent=1, default=str)
    if fmt == "html":
        body = report.to_html(lang)  # without matplotlib: the tables alone
        title = html.escape(f"{label('report.title', lang)} — {report.period.label}")
        return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body>\n{body}\n</body></html>")
    return str(report.to_markdown(lang))


def _export(args: argparse.Namespace) -> int:
    from complaint_engine.export import write_table
    from complaint_engine.storage.windows import in_windows

    repo, policy, period, lang = _load(args)
    start, end = period.bounds(policy.tz)
    # one snapshot, a week at a time: a year of a large register is never held whole, and desks committing
    # meanwhile do not show in some weeks and not in others
    with repo.snapshot() as view:
        capas = [r for r in view.find_capas(office=args.office) if start <= r.opened_at < end]
        batches = in_windows(view, office=args.office, received_from=start, received_before=end)
        if not args.out:
            if args.excel and args.format == "csv":
                sys.stdout.write("\ufeff")
            write_table(args.what, args.format, batches, capas, policy, lang, sys.stdout)
            return 0
        target = Path(args.out)
        if target.is_dir():
            raise CLIError("cli.out_is_folder", out=args.out)
        partial = target.with_name(target.name + ".partial")  # the file appears whole, or not at all
        try:
            with partial.open("w", encoding="utf-8-sig" if args.format == "csv" else "utf-8") as out:
                write_table(args.what, args.format, batches, capas, policy, lang, out)
            partial.replace(target)
        except OSError as exc:  # named by the user's file, never the temporary one, without errno codes
            partial.unlink(missing_ok=True)
            raise CLIError("cli.cannot_write", out=args.out, reason=exc.strerror or type(exc).__name__) from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    print(_say("cli.written", path=args.out))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from complaint_engine.audit import audit_report

    policy = _policy(args.policy)
    repo = _open_existing(args)
    _check_office(repo, args.office)
    report = audit_report(repo, policy, office=args.office)
    findings = [f.message(_lang()) for f in report.findings]
    if args.export_heads or args.verify_heads:
        from complaint_engine.audit_heads import day_heads, read_heads, verify_heads, write_heads

        if args.verify_heads and not Path(args.verify_heads).is_file():
            raise CLIError("cli.no_file", path=args.verify_heads)
        heads = day_heads(repo, policy.calendar().tz)  # read once, for both
        if args.verify_heads:
            exported = read_heads(Path(args.verify_heads).read_text(encoding="utf-8"))
            findings += [f"P-7 {render(p, _lang())}" for p in verify_heads(heads, exported)]
        if args.export_heads:
            mine = {key: head for key, head in heads.items() if args.office in (None, key[0])}
            Path(args.export_heads).write_text(write_heads(mine), encoding="utf-8")
    scope = _say("cli.audit_scope_office", office=args.office) if args.office else _say("cli.audit_scope_all")
    read = _say("cli.audit_read", complaints=report.complaints, registered=report.registered, scope=scope,
                location=repo.location)
    if not findings:
        print(_say("cli.audit_sound", read=read))
        return 0
    for finding in findings:
        print(finding)
    print(_say("cli.audit_findings", n=len(findings), read=read))
    return 1


def _what_if(args: argparse.Namespace) -> int:
    import json

    from complaint_engine.stats import what_if

    policy = _policy(args.policy)
    recorded = _policy(args.recorded_policy)
    period = Period.parse(args.period)
    repo = _open_existing(args)
    _check_office(repo, args.office)
    with repo.snapshot() as view:
        result = what_if(view, policy, period=period, office=args.office, recorded_policy=recorded)
    if args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1, default=str))
    else:
        print(result.to_markdown(args.lang or policy.language))
    return 0


def _calendar(args: argparse.Namespace) -> int:
    from complaint_engine.rules import WorkingCalendar
    from complaint_engine.rules.notice import CalendarNotice
    from complaint_engine.rules.notice_text import month_grid, notice_toml

    lang = args.lang or Policy.default().language
    source = Path(args.from_notice)
    if not source.is_file():
        raise CLIError("cli.no_file", path=args.from_notice)
    notice = CalendarNotice.from_text(source.read_text(encoding="utf-8-sig"), replace=args.replace)
    [year] = notice.notices
    calendar = WorkingCalendar.for_region("CN", notice=notice, on_provisional="ignore")
    print(month_grid(calendar, year, lang))
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise CLIError("cli.out_is_folder", out=args.out)
        partial = out.with_name(out.name + ".partial")  # the file appears whole, or not at all
        partial.write_text(notice_toml(notice), encoding="utf-8")
        partial.replace(out)
        print(_say("cli.written", path=out))
    return 0


def _summarize_provisional(caught: list[warnings.WarningMessage]) -> None:
    """One line for all deadlines in provisional years, instead of one warning each."""
    from complaint_engine.rules import ProvisionalCalendarWarning

    provisional = [w for w in caught if issubclass(w.category, ProvisionalCalendarWarning)]
    for w in caught:
        if w not in provisional:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if provisional:
        sys.stderr.write(_say("cli.note", message=_say("cli.provisional", n=len(provisional))) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        _messages[0] = os.environ.get("COMPLAINT_ENGINE_LANG") or ""  # each run chooses again
        argv = sys.argv[1:] if argv is None else list(argv)
        _messages[0] = language_asked(argv) or _messages[0]
        args = parse(argv, _lang())
        if getattr(args, "lang", None):
            _messages[0] = args.lang
        if args.command == "lifecycle":
            from complaint_engine.lifecycle import render_markdown

            sys.stdout.write(render_markdown())
            return 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = {"demo": _demo, "report": _report, "export": _export, "audit": _audit,
                    "what-if": _what_if, "calendar": _calendar}[args.command](args)
        _summarize_provisional(caught)
        return code
    except BrokenPipeError:  # the reader went away (``export | head``): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's last flush does not fail again
        return 0
    except CLIError as exc:
        sys.stderr.write(_say("cli.error", message=_say(exc.key, **exc.values)) + "\n")
        return 2
    except ComplaintEngineError as exc:  # the engine's own message, in the run's language
        sys.stderr.write(_say("cli.error", message=exc.message(_lang())) + "\n")
        return 2
    except OSError as exc:  # what the system refused, without errno codes
        where = f" ({exc.filename})" if exc.filename else ""
        sys.stderr.write(_say("cli.error", message=f"{exc.strerror or type(exc).__name__}{where}") + "\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(_say("cli.interrupted") + "\n")
        return 130
