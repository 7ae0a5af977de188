"""The quality records of P-7 as tables: the register (投訴登記表), the handling notices (投訴處理通知單)
and the CAPA reports, as CSV or Markdown with headers in the chosen language."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TextIO

from complaint_engine.errors import ValidationError
from complaint_engine.labels import label
from complaint_engine.messages import Message
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


def _transfers(c: Complaint, policy: Policy, lang: str) -> str:
    """Every hand-over of the notice: "保安部 → 工程部 2024-06-03 10:00 (by)"."""
    if c.notice is None:
        return ""
    return "; ".join(f"{_department(policy, t.from_department, lang)} → {_department(policy, t.to_department, lang)}"
                     f" {_when(t.at)} ({t.by})" for t in c.notice.transfers)


def _escalation(c: Complaint) -> list[str]:
    e = c.escalation
    return ["", "", ""] if e is None else [e.reason, e.decision or "", e.decided_by or ""]


def _callback(c: Complaint, lang: str) -> list[str]:
    """The callback's result, date, method and the owner's opinion (the last reached one, else the last attempt)."""
    cb = c.reached_callback or (c.callbacks[-1] if c.callbacks else None)
    if cb is None:
        return ["", "", "", ""]
    result = (label(f"satisfaction.{cb.satisfaction.value}", lang) if cb.reached and cb.satisfaction
              else label("callback.unreached", lang))
    return [result, _when(cb.at), label(f"method.{cb.method.value}", lang), cb.opinion or ""]


def _merges(c: Complaint, serials: dict[str, str], lang: str) -> str:
    if c.merged_into is not None:
        return f"{label('reg.merged_into', lang)} {serials.get(c.merged_into, c.merged_into)}"
    if c.merged:
        return f"{label('reg.merged_here', lang)}: " + " ".join(serials.get(i, i) for i in c.merged)
    return ""


def table_rows(what: str, complaints: Sequence[Complaint], capas: Sequence[CAPAReport], policy: Policy,
               lang: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one record type."""
    serials = {c.id: c.serial for c in complaints if c.serial}  # merges name the other complaint by its serial
    if what == "register":
        header = [label(f"reg.{k}", lang) for k in (
            "serial", "external_reference", "date", "owner", "unit", "document", "channel", "category", "summary",
            "severity", "escalation", "decision", "decided_by", "status", "transfers", "result", "evidence",
            "callback", "callback_date", "callback_method", "opinion", "cause", "measures", "merged", "referral")]
        rows = []
        for c in complaints:
            rows.append([c.serial or "", c.external_reference or "", _when(c.received_at), c.owner, c.unit,
                         c.document_number or "", label(f"channel.{c.channel.value}", lang),
                         _category(policy, c.category, lang), c.summary, label(f"severity.{c.severity.value}", lang),
                         *_escalation(c), label(f"status.{c.status.value}", lang), _transfers(c, policy, lang),
                         (c.notice.result or "") if c.notice else "", str(len(c.evidence)), *_callback(c, lang),
                         c.cause or "", "; ".join(f"{m.clock}: {m.person} — {m.measure} ({m.by})" for m in c.measures),
                         _merges(c, serials, lang),
                         f"{c.referral.referred_to}: {c.referral.reason}" if c.referral else ""])
        return header, rows
    if what == "notices":
        header = [label(k, lang) for k in ("reg.serial", "reg.severity", "notice.department", "notice.assignee",
                                            "notice.issued", "notice.agreed", "notice.reply_due", "notice.replied",
                                            "reg.escalation", "reg.decision", "reg.decided_by", "reg.transfers",
                                            "notice.capa", "reg.result", "reg.evidence", "reg.callback",
                                            "reg.callback_date", "reg.callback_method", "reg.opinion", "reg.merged")]
        rows = []
        for c in complaints:
            if c.notice is None:
                continue
            reply = c.deadlines.get("reply")
            first_reply = next((d for d in c.past_deadlines if d.name == "reply"), reply)
            rows.append([c.notice.serial, label(f"severity.{c.severity.value}", lang),
                         _department(policy, c.notice.department, lang), c.notice.assignee or "",
                         _when(c.notice.issued_at), _when(c.notice.agreed_reply_by),
                         _when(first_reply.due if first_reply else None),
                         _when(first_reply.met_at if first_reply else None), *_escalation(c),
                         _transfers(c, policy, lang), " ".join(c.notice.capa_numbers), c.notice.result or "",
                         str(len(c.evidence)), *_callback(c, lang), _merges(c, serials, lang)])
        return header, rows
    if what == "capa":
        header = [label(f"capa.{k}", lang) for k in ("number", "complaints", "problem", "cause", "actions")] + [
            label("reg.status", lang), label("capa.implemented", lang), label("capa.verification", lang)]
        rows = [[r.number, " ".join(r.complaint_serials), r.problem, r.cause or "",
                 "; ".join(f"{a.description} ({_when(a.due)}; {label('capa.owner', lang)} {a.owner or ''}"
                           + (f"; {label('capa.done', lang)} {_when(a.done_at)}" if a.done_at else "") + ")"
                           for a in r.actions), label(f"capa_status.{r.status.value}", lang),
                 _when(r.implemented_at),
                 "" if r.verification is None else label("yes" if r.verification.effective else "no", lang)]
                for r in capas]
        return header, rows
    raise ValidationError.of("record type", what, Message("one of {0}", list(WHAT)))


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
        raise ValidationError.of("format", fmt, Message("one of {0}", list(FORMATS)))
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
            writer.writerows([[_inert(x) for x in row] for row in rows])
        else:
            out.writelines("| " + " | ".join(_cell(x) for x in row) + " |\n" for row in rows)
        written += len(rows)
    return written


def _inert(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula (=, +, -, @, a tab or a carriage
    return) gets a leading apostrophe, so an owner's summary can never run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
