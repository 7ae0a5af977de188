"""An audit of a stored register: the quality records checked after the fact (P-7, P-6.1.3).

The desk keeps the records sound as it writes them; a store can still be changed behind its back — a
hand-made ``UPDATE``, a row deleted, a program saving a complaint through the repository without a
transition. :func:`audit` reads every complaint of a store (its document and its
append-only transition rows) and reports what no desk could have written:

* **P-7, every change a recorded transition**: the history is one unbroken chain from ``receive``, each
  step an edge of the lifecycle's transition table, in time order; it ends in the complaint's status; and
  the complaint's version equals the number of its transitions (every save of a desk is one transition).
* **P-6.1.3, one number**: a registered complaint's serial, document number and handling-notice number are
  the same; each serial belongs to one complaint; within each sequence (office and year of registration)
  the serials are exactly the policy's first *n* numbers — a missing one is a gap.

An empty list means the register is sound. A finding names the complaint, the rule and the offending
value. The whole register is read in one snapshot of the store, a week of receipt at a time
(:func:`audit_report`); limit it to one ``office`` where that helps.
What the audit cannot see: a document edited without changing any of these facts (its summary, say),
the deletion of the very last registration of a sequence, and an older copy of the whole store put back
(it is sound, only old).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping

import attrs

from complaint_engine.audit_facts import FactDigests
from complaint_engine.commands.register import closed_year_key
from complaint_engine.lifecycle import COMPLAINT_TABLE
from complaint_engine.messages import Message, render
from complaint_engine.model import Complaint, Status
from complaint_engine.numbering import format_serial, sequence_key
from complaint_engine.policy import Policy
from complaint_engine.storage import Repository
from complaint_engine.storage.dbapi import Row
from complaint_engine.storage.schema import link, link_digest, transition_row
from complaint_engine.storage.windows import WEEK, in_windows

__all__ = ["AuditFinding", "AuditReport", "audit", "audit_report", "findings_in"]

_EDGES = frozenset((e.event, e.source, e.target) for e in COMPLAINT_TABLE.edges)


@attrs.frozen
class AuditFinding:
    """One thing in a stored register that no desk could have written."""

    rule: str  # the SPEC requirement it breaks: "P-7" or "P-6.1.3"
    complaint_id: str | None  # None for a finding about a whole sequence
    serial: str | None
    problem: str

    def __str__(self) -> str:
        return self.message("en")

    def message(self, lang: str) -> str:
        """This finding in ``lang`` (zh-Hans, zh-Hant or en)."""
        who = self.serial or self.complaint_id or render(Message("register"), lang)
        return f"{self.rule} {who}: {render(self.problem, lang)}"


def audit(repository: Repository, policy: Policy | None = None, *, office: str | None = None) -> list[AuditFinding]:
    """Every finding about the complaints stored in ``repository`` (of one ``office``, or all); empty when
    the register is sound. ``policy`` gives the serial format the numbers were made with (default:
    ``Policy.default()``). See :func:`audit_report`."""
    return list(audit_report(repository, policy, office=office).findings)


@attrs.frozen
class AuditReport:
    """What an audit read, and what it found."""

    findings: tuple[AuditFinding, ...]
    complaints: int  # complaints read
    registered: int  # of them, those holding a serial


def audit_report(repository: Repository, policy: Policy | None = None, *, office: str | None = None,
                 window: dt.timedelta = WEEK) -> AuditReport:
    """The audit of a store, read in one snapshot (``repository.snapshot()``: a desk committing meanwhile
    neither shows half in it nor raises a false alarm) one ``window`` of receipt at a time
    (:func:`~complaint_engine.storage.windows.in_windows`), so only one window's complaints are in memory at
    once, and a few bytes for each serial."""
    books = _Books(policy)
    for name in getattr(repository, "missing_safeguards", list)():  # a store's own guards of the log
        books.findings.append(AuditFinding("P-7", None, None, Message("the append-only trigger {name!r} of the "
                                                                      "transition log is missing or disabled: its "
                                                                      "rows can be changed without a trace",
                                                                      name=name)))
    with repository.snapshot() as view:
        digests = getattr(view, "document_digests", None)  # a SQL store's: what each document's text hashes to
        for batch in in_windows(view, office=office, window=window):
            books.read(batch, None if digests is None else digests([c.id for c in batch]))
        # the analysis columns, read once, against the documents just read
        serials = dict(books.serials)
        books.findings.extend(_closed_year_findings(books.registrations, books.policy.numbering.serial_format,
                                                    view.cursor))
        books.findings.extend(_sequence_row_findings(books.registrations, view.current_number))
        for cid, columns in books.facts.differences(view.frame(office=office), view.get):
            books.findings.append(AuditFinding("P-7", cid, serials.get(cid), Message("the analysis columns {0} "
                                                                                     "differ from the stored document",
                                                                                     ', '.join(columns))))
    return books.report()


def findings_in(complaints: Iterable[Complaint], policy: Policy | None = None) -> list[AuditFinding]:
    """The audit of complaints already read (all of a sequence's registrations, for the gap check)."""
    books = _Books(policy)
    books.read(complaints)
    return list(books.report().findings)


class _Books:
    """The findings of each complaint as it is read, and what the sequence checks need of it once it is gone:
    office, year of registration, serial and id."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy if policy is not None else Policy.default()
        self.entry_window = (self.policy.limits.max_backdate, self.policy.limits.clock_tolerance)
        self.findings: list[AuditFinding] = []
        self.read_count = 0
        self.registrations: list[tuple[str, int, str, str]] = []
        self.facts = FactDigests()

    @property
    def serials(self) -> list[tuple[str, str]]:
        return [(cid, serial) for _office, _year, serial, cid in self.registrations]

    def read(self, complaints: Iterable[Complaint], digests: Mapping[str, str] | None = None) -> None:
        # a document that cannot be read is a finding: the reads of the desk skip it, the audit never does
        for damaged in getattr(complaints, "damaged", ()):
            self.findings.append(AuditFinding("P-7", damaged.complaint_id, None, damaged.problem))
        for c in complaints:
            self.read_count += 1
            self.findings.extend(_complaint_findings(c))
            self.findings.extend(_entry_findings(c, *self.entry_window))
            self.findings.extend(_chain_findings(c, None if digests is None else digests.get(c.id)))
            self.facts.read(c)
            if c.serial is not None:  # the year of its registration; of its receipt where none is recorded
                registered_at = next((t.at for t in c.history if t.event == "register"), c.received_at)
                self.registrations.append((c.office, registered_at.year, c.serial, c.id))

    def report(self) -> AuditReport:
        fmt = self.policy.numbering.serial_format
        findings = self.findings + _sequence_findings(self.registrations, fmt)
        return AuditReport(tuple(findings), self.read_count, len(self.registrations))


def _chain_findings(c: Complaint, stored_digest: str | None = None) -> Iterable[AuditFinding]:
    """The stored hash chain of the complaint's transition rows, recomputed. Each save's last row carries the
    link of the rows it wrote (and, since the chain covers documents, the digest of the document it wrote); a
    row edited, deleted or moved behind the desk (even with the append-only trigger lifted) breaks the link
    that covers it, and a document edited after its last save no longer has its last link's digest
    (``stored_digest``: the stored document's, where the store can give it). Rows stored before the chain
    existed carry none; after the first link, the history must end with one."""
    prev = ""
    group: list[Row] = []
    linked = False
    for i, t in enumerate(c.history):
        group.append(transition_row(c.id, i, t))
        if t.hash is None:
            continue
        linked = True
        prev, expected = t.hash, link(prev, group, link_digest(t.hash))
        group = []
        if t.hash != expected:
            yield AuditFinding("P-7", c.id, c.serial, Message("transition {i} ({event!r}) does not match its link in "
                                                              "the hash chain: it, or a row it covers, was changed "
                                                              "behind the desk", i=i, event=t.event))
            return  # every later link follows from this one
    if linked and group:
        yield AuditFinding("P-7", c.id, c.serial, Message("transitions {0}..{1} follow the last link of the hash "
                                                          "chain: they were not written by a desk",
                                                          len(c.history) - len(group), len(c.history) - 1))
        return
    carried = link_digest(prev) if linked else None
    if carried is not None and stored_digest is not None and carried != stored_digest:
        yield AuditFinding("P-7", c.id, c.serial, "the stored document is not the one its last save wrote (its "
                           "digest differs from the hash chain's): it was changed behind the desk")


def _entry_findings(c: Complaint, max_backdate: dt.timedelta, tolerance: dt.timedelta) -> Iterable[AuditFinding]:
    """Transitions entered long after they took effect (more than the policy's ``max_backdate``), or dated
    ahead of when they were entered: what a desk would refuse, so the record was changed behind it."""
    for i, t in enumerate(c.history):
        if t.recorded_at is None:  # written before entries were stamped
            continue
        if t.recorded_at - t.at > max_backdate:
            yield AuditFinding("P-7", c.id, c.serial, Message(
                "transition {i} ({event!r}) took effect at {0} but was entered at {1}, more than {max_backdate} later",
                t.at.isoformat(), t.recorded_at.isoformat(), i=i, event=t.event, max_backdate=max_backdate))
        elif t.at - t.recorded_at > tolerance:
            yield AuditFinding("P-7", c.id, c.serial, Message(
                "transition {i} ({event!r}) is dated {0}, after it was entered at {1}", t.at.isoformat(),
                t.recorded_at.isoformat(), i=i, event=t.event))


def _complaint_findings(c: Complaint) -> Iterable[AuditFinding]:
    def finding(rule: str, problem: str) -> AuditFinding:
        return AuditFinding(rule, c.id, c.serial, problem)

    history = c.history
    if not history:
        yield finding("P-7", "no transition is recorded")
        return
    first = history[0]
    if (first.event, first.source, first.target) != ("receive", None, Status.RECEIVED):
        yield finding("P-7", f"the history starts with {first.event!r} into {first.target.value!r}, "
                             "not with 'receive' into 'received'")
    for i, (before, t) in enumerate(itertools.pairwise(history), start=1):
        if t.source is not before.target:
            yield finding("P-7", f"transition {i} ({t.event!r}) leaves {_value(t.source)!r}, but transition "
                                 f"{i - 1} ended in {before.target.value!r}: the chain is broken")
        elif (t.event, t.source, t.target) not in _EDGES:
            yield finding("P-7", f"transition {i} ({t.event!r} from {_value(t.source)!r} to {t.target.value!r}) "
                                 "is not an edge of the lifecycle")
        if t.at < before.at:
            yield finding("P-7", f"transition {i} ({t.event!r}) at {t.at.isoformat()} is earlier than transition "
                                 f"{i - 1} at {before.at.isoformat()}")
    if c.status is not history[-1].target:
        yield finding("P-7", f"status {c.status.value!r}, but the last recorded transition ({history[-1].event!r}) "
                             f"ended in {history[-1].target.value!r}")
    if c.version != len(history):
        yield finding("P-7", f"version {c.version}, but {len(history)} transitions are recorded: a change was "
                             "saved without its transition, or the document is not the latest")
    registered = any(t.event == "register" for t in history)
    if registered and c.serial is None:
        yield finding("P-6.1.3", "registered, but has no serial")
    if not registered and c.serial is not None:
        yield finding("P-6.1.3", f"serial {c.serial!r}, but no registration is recorded")
    if c.serial is not None and c.document_number != c.serial:
        yield finding("P-6.1.3", f"document number {c.document_number!r} differs from the serial {c.serial!r}")
    if c.notice is not None and c.notice.serial != c.serial:
        yield finding("P-6.1.3", f"handling notice number {c.notice.serial!r} differs from the serial {c.serial!r}")


def _value(state: object) -> object:
    return getattr(state, "value", state)


def _sequence_findings(registrations: list[tuple[str, int, str, str]], serial_format: str) -> list[AuditFinding]:
    findings: list[AuditFinding] = []
    holders: dict[str, list[str]] = defaultdict(list)
    for _, _, serial, complaint_id in registrations:
        holders[serial].append(complaint_id)
    for serial, ids in sorted(holders.items()):
        if len(ids) > 1:
            findings.append(AuditFinding("P-6.1.3", None, serial,
                                         Message("held by {0} complaints: {1}", len(ids), ', '.join(sorted(ids)))))
    # a sequence is an office and the local year of registration (numbering.sequence_key)
    sequences: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
    for office, year, serial, complaint_id in registrations:
        sequences[office, year].append((serial, complaint_id))
    for (office, year), members in sorted(sequences.items()):
        at = dt.datetime(year, 1, 1)
        expected = {format_serial(serial_format, office, at, k) for k in range(1, len(members) + 1)}
        for serial in sorted(expected - {serial for serial, _ in members}):
            findings.append(AuditFinding("P-6.1.3", None, serial,
                                         Message("missing from sequence {office} {year}: a gap among its {0} "
                                                 "registrations", len(members), office=office, year=year)))
        for serial, complaint_id in sorted(m for m in members if m[0] not in expected):
            findings.append(AuditFinding("P-6.1.3", complaint_id, serial,
                                         Message("not one of the first {0} numbers of sequence {office} {year} in "
                                                 "the format {serial_format!r}",
                                                 len(members), office=office, year=year, serial_format=serial_format)))
    return findings


def _closed_year_findings(registrations: list[tuple[str, int, str, str]], serial_format: str,
                          closed: Callable[[str], int]) -> list[AuditFinding]:
    """Registrations numbered beyond what a closed register had issued when it was closed."""
    findings = []
    for office, year in sorted({(o, y) for o, y, _, _ in registrations}):
        first_not_issued = closed(closed_year_key(office, year))
        if not first_not_issued:
            continue
        issued = {format_serial(serial_format, office, dt.datetime(year, 1, 1), k) for k in range(1, first_not_issued)}
        for o, y, serial, complaint_id in registrations:
            if (o, y) == (office, year) and serial not in issued:
                findings.append(AuditFinding("P-6.1.3", complaint_id, serial, Message(
                    "registered in {office} {year} after that register was closed with {0} serials",
                    first_not_issued - 1, office=office, year=year)))
    return findings


def _sequence_row_findings(registrations: list[tuple[str, int, str, str]],
                           stored: Callable[[str], int]) -> list[AuditFinding]:
    """Each sequence row against the serials it issued: a row lowered behind the desk makes the next registration
    repeat a serial (every later one of the office is refused); a row raised leaves a gap at the next one."""
    issued: dict[tuple[str, int], int] = defaultdict(int)
    for office, year, _serial, _cid in registrations:
        issued[office, year] += 1
    findings = []
    for (office, year), count in sorted(issued.items()):
        value = stored(sequence_key("complaint", office, year))
        # no row at all: a register imported with add_many, whose sequences start at its first registration
        if value and value != count:
            effect = ("the next registration would repeat a serial" if value < count
                      else "the next registration would leave a gap")
            findings.append(AuditFinding("P-6.1.3", None, None, Message(
                "the sequence row of {office} {year} says {value}, but {count} serials were issued: {effect}",
                office=office, year=year, value=value, count=count, effect=effect)))
    return findings
