"""The quality records of P-7 as tables: the register (投訴登記表), the handling notices (投訴處理通知單)
and the CAPA reports, as CSV or Markdown with headers in the chosen language."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from complaint_engine.errors import ValidationError
from complaint_engine.labels import label
from complaint_engine.model import CAPAReport, Complaint
from complaint_engine.policy import Policy

__all__ = ["WHAT", "export_table", "table_rows", "write_table"]

WHAT = ("register", "notices", "capa")
FORMATS = ("csv", "md")


def _when(instant: object) -> str:
    return "" if instant is None else f"{instant:%Y-%m-%d %H:%M}"


def _category(policy: Policy, code: str, lang: str) -> str:
    return next((c.labels.get(lang, code) for c in policy.categories if c.code == code), code)


def _department(policy: Policy, code: str, lang: str) -> str:
    return next((d.labels.get(lang, code) for d in policy.departments if d.code == code), code)


def table_rows(what: str, complaints: Sequence[Complaint], capas: Sequence[CAPAReport], policy: Policy,
               lang: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one record type."""
    if what == "register":
        header = [label(f"reg.{k}", lang) for k in ("serial", "date", "owner", "unit", "document", "channel",
                                                     "category", "summary", "status", "result", "callback",
                                                     "referral")]
        rows = []
        for c in complaints:
            cb = c.reached_callback
            callback = (label(f"satisfaction.{cb.satisfaction.value}", lang) if cb and cb.satisfaction else
                        (label("callback.unreached", lang) if c.callbacks else ""))
            rows.append([c.serial or "", _when(c.received_at), c.owner, c.unit, c.document_number or "",
                         label(f"channel.{c.channel.value}", lang), _category(policy, c.category, lang), c.summary,
                         label(f"status.{c.status.value}", lang), (c.notice.result or "") if c.notice else "",
                         callback, f"{c.referral.referred_to}: {c.referral.reason}" if c.referral else ""])
        return header, rows
    if what == "notices":
        header = [label(k, lang) for k in ("reg.serial", "notice.department", "notice.assignee", "notice.issued",
                                            "notice.agreed", "notice.reply_due", "notice.replied", "notice.capa",
                                            "reg.result")]
        rows = []
        for c in complaints:
            if c.notice is None:
                continue
            reply = c.deadlines.get("reply")
            first_reply = next((d for d in c.past_deadlines if d.name == "reply"), reply)
            rows.append([c.notice.serial, _department(policy, c.notice.department, lang), c.notice.assignee or "",
                         _when(c.notice.issued_at), _when(c.notice.agreed_reply_by),
                         _when(first_reply.due if first_reply else None),
                         _when(first_reply.met_at if first_reply else None), " ".join(c.notice.capa_numbers),
                         c.notice.result or ""])
        return header, rows
    if what == "capa":
        header = [label(f"capa.{k}", lang) for k in ("number", "complaints", "problem", "cause", "actions")] + [
            label("reg.status", lang), label("capa.implemented", lang), label("capa.verification", lang)]
        rows = [[r.number, " ".join(r.complaint_serials), r.problem, r.cause or "",
                 "; ".join(f"{a.description} ({_when(a.due)})" for a in r.actions), r.status.value,
                 _when(r.implemented_at),
                 "" if r.verification is None else label("yes" if r.verification.effective else "no", lang)]
                for r in capas]
        return header, rows
    raise ValidationError.of("record type", what, f"one of {list(WHAT)}")


def export_table(what: str, fmt: str, complaints: Sequence[Complaint], capas: Sequence[CAPAReport],
                 policy: Policy, lang: str) -> str:
    """The table as CSV (UTF-8, opens in spreadsheet programs) or Markdown."""
    buf = io.StringIO()
    write_table(what, fmt, [complaints], capas, policy, lang, buf)
    return buf.getvalue()


def write_table(what: str, fmt: str, batches: Iterable[Sequence[Complaint]], capas: Sequence[CAPAReport],
                policy: Policy, lang: str, out: TextIO) -> int:
    """The table written to ``out`` batch by batch (a register read a window at a time, say: see
    ``storage.windows.in_windows``), so no more than one batch of complaints is held; returns the number of
    rows written. The same text as :func:`export_table` of all the batches at once."""
    if fmt not in FORMATS:
        raise ValidationError.of("format", fmt, f"one of {list(FORMATS)}")
    header, capa_rows = table_rows(what, (), capas, policy, lang)  # checks ``what`` before anything is written
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
    else:
        out.write(f"# {label(f'export.{what}', lang)}\n\n| " + " | ".join(header) + " |\n|" + "---|" * len(header)
                  + "\n")
    written = 0
    parts = [capa_rows] if what == "capa" else (table_rows(what, b, capas, policy, lang)[1] for b in batches)
    for rows in parts:
        if fmt == "csv":
            writer.writerows(rows)
        else:
            out.writelines("| " + " | ".join(_cell(x) for x in row) + " |\n" for row in rows)
        written += len(rows)
    return written


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
