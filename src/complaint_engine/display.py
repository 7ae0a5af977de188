"""How the engine's objects show themselves in a notebook: ``_repr_markdown_`` and ``_repr_html_`` of a
complaint, a policy and a frame (the analysis report renders itself, charts included).

Every text comes from the label tables, in the display language: :func:`set_display_language` chooses it
(default zh-Hans, the default calendar's). A complaint shows no personal data — the owner, the phone, the
unit and the free texts stay out of what a notebook saves with its outputs.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from complaint_engine.errors import ValidationError
from complaint_engine.labels import LANGUAGES, label
from complaint_engine.messages import Message

if TYPE_CHECKING:
    from complaint_engine.model import Complaint
    from complaint_engine.policy import Policy
    from complaint_engine.stats.frame import ComplaintFrame

__all__ = ["as_figure", "as_html", "as_markdown", "display_language", "markdown_to_html", "set_display_language"]

_language = ["zh-Hans"]
_HEAD = 5  # rows a frame shows


def set_display_language(lang: str) -> None:
    """The language complaints, policies and frames show themselves in (reports use their policy's)."""
    if lang not in LANGUAGES:
        raise ValidationError.of("language", lang, Message("one of {0}", list(LANGUAGES)))
    _language[0] = lang


def display_language() -> str:
    return _language[0]


# What shows an object is registered by the module that renders it (the analysis report's renderers live in
# stats/render.py and stats/plot.py), so a data class depends on this protocol, never on its renderers.
@functools.singledispatch
def as_markdown(obj: object, lang: str | None = None) -> str:
    """``obj`` as Markdown in ``lang``."""
    raise TypeError(f"no Markdown view of {type(obj).__name__}")


@functools.singledispatch
def as_html(obj: object, lang: str | None = None, *, charts: bool = True) -> str:
    """``obj`` as an HTML fragment in ``lang`` (with its charts inline where it has some and ``charts``)."""
    raise TypeError(f"no HTML view of {type(obj).__name__}")


@functools.singledispatch
def as_figure(obj: object, chart: str, *, lang: str | None = None, ax: Any = None) -> Any:
    """``obj``'s chart named ``chart`` as a matplotlib ``Figure``."""
    raise TypeError(f"no charts of {type(obj).__name__}")


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return "—" if value is None or value == "" else str(value).replace("|", "\\|").replace("\n", " ")

    return [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}",
            *(f"| {' | '.join(cell(v) for v in row)} |" for row in rows)]


def complaint_markdown(c: Complaint, lang: str | None = None) -> str:
    lang = lang or display_language()

    def t(key: str) -> str:
        return label(key, lang)

    rows = [(t("reg.serial"), c.serial), (t("report.office"), c.office),
            (t("col.status"), t(f"status.{c.status.value}")),
            (t("col.category"), c.category), (t("col.channel"), t(f"channel.{c.channel.value}")),
            (t("col.severity"), t(f"severity.{c.severity.value}")),
            (t("col.received_at"), c.received_at.isoformat(timespec="minutes"))]
    out = [f"**{t('col.complaint')} {c.serial or c.id}**", "", *_table((t("col.field"), t("col.value")), rows)]
    if c.deadlines:
        out += ["", *_table((t("col.clock"), t("col.due"), t("col.met_at"), t("col.breached")), [
            (t(f"clock.{d.name}"), d.due.isoformat(timespec="minutes"),
             d.met_at.isoformat(timespec="minutes") if d.met_at else None, t("yes" if d.breached else "no"))
            for d in c.deadlines.values()])]
    out += ["", f"{t('col.history')}: {len(c.history)}"]
    return "\n".join(out)


def policy_markdown(p: Policy, lang: str | None = None) -> str:
    lang = lang or display_language()

    def t(key: str) -> str:
        return label(key, lang)

    cal = p.calendar_settings
    rows: list[tuple[str, object]] = [(t("policy.name"), p.name), (t("policy.region"), cal.region),
                                      (t("policy.tz"), cal.tz), (t("policy.language"), p.language)]
    for name in ("reply", "arrival", "emergency_repair", "minor_repair", "callback", "acknowledge", "start",
                 "update"):
        rule = getattr(p.limits, name)
        if rule is not None:
            rows.append((t(f"clock.{name}"), rule.describe()))
    out = [f"**{t('policy.title')}**", "", *_table((t("col.field"), t("col.value")), rows), ""]
    out += _table((t("col.category"), t("col.department")), [
        (c.labels.get(lang, c.code), p.department(c.department).labels.get(lang, c.department)) for c in p.categories])
    return "\n".join(out)


def frame_markdown(frame: ComplaintFrame, lang: str | None = None) -> str:
    lang = lang or display_language()

    def t(key: str) -> str:
        return label(key, lang)

    n = len(frame)
    out = [f"**{t('col.frame')}**: {t('report.cases').format(n=n)}, {frame.tz}", ""]
    if n:
        import numpy as np

        head = range(min(n, _HEAD))
        out += _table((t("reg.serial"), t("report.office"), t("col.category"), t("col.status"), t("col.received_at")),
                      [(frame["serial"][i], frame["office"][i], frame["category"][i],
                        t(f"status.{frame['status'][i]}"),
                        str(np.datetime_as_string(frame["received_us"][i], unit="m", timezone=frame.zone)))
                       for i in head])
        if n > _HEAD:
            out += ["", "…"]
    return "\n".join(out)


def frame_html(frame: ComplaintFrame) -> str:
    return markdown_to_html(frame_markdown(frame))


def complaint_html(c: Complaint) -> str:
    return markdown_to_html(complaint_markdown(c))


def policy_html(p: Policy) -> str:
    return markdown_to_html(policy_markdown(p))


def markdown_to_html(text: str) -> str:
    """HTML of the Markdown subset the renderers write: headings, bullet lists, pipe tables and paragraphs.
    Every text is escaped."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                inner = lines[i].strip()[1:-1]
                rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)])
                i += 1
            head, align, body = rows[0], rows[1] if len(rows) > 1 else [], rows[2:]
            right = [a.endswith(":") for a in align]

            def cell(tag: str, j: int, value: str, right: list[bool] = right) -> str:
                style = ' style="text-align:right"' if j < len(right) and right[j] else ""
                return f"<{tag}{style}>{_inline(value)}</{tag}>"

            out.append("<table><thead><tr>" + "".join(cell("th", j, h) for j, h in enumerate(head)) +
                       "</tr></thead><tbody>" +
                       "".join("<tr>" + "".join(cell("td", j, v) for j, v in enumerate(r)) + "</tr>" for r in body) +
                       "</tbody></table>")
        else:
            out.append(f"<p>{_inline(line)}</p>")
            i += 1
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escaped text, with Markdown's ``**strong**``."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))
