"""Daily heads of the hash chains: one digest per office and day that can be exported and countersigned
elsewhere (#20 item 4).

Each save's last transition row carries a link of its complaint's hash chain. The head of an office's day is
the SHA-256 of every link entered that day (by ``recorded_at``, in the policy's zone), in (complaint, row)
order. Export the heads — print them, mail them, have a notary or another system countersign them — and later
``verify_heads`` recomputes them: a link of that day changed, removed or added since makes its head differ.
The chain itself has no secret key; heads kept outside the database are what a forger cannot rewrite.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping

from complaint_engine.errors import ValidationError
from complaint_engine.instants import fixed_offset
from complaint_engine.messages import Message
from complaint_engine.model import Complaint
from complaint_engine.storage import Repository
from complaint_engine.storage.windows import in_windows

__all__ = ["day_heads", "heads_of", "read_heads", "verify_heads", "write_heads"]

Head = tuple[str, dt.date]  # (office, local day)


def _collect(complaints: Iterable[Complaint], tz: dt.tzinfo, into: dict[Head, list[tuple[str, int, str]]]) -> None:
    for c in complaints:
        for i, t in enumerate(c.history):
            if t.hash is not None:
                entered = t.recorded_at or t.at
                into[c.office, fixed_offset(entered, tz).date()].append((c.id, i, t.hash))


def _heads(links: Mapping[Head, list[tuple[str, int, str]]]) -> dict[Head, str]:
    return {key: hashlib.sha256("".join(f"{cid}/{i}/{h};" for cid, i, h in sorted(rows)).encode()).hexdigest()
            for key, rows in sorted(links.items())}


def heads_of(complaints: Iterable[Complaint], tz: dt.tzinfo) -> dict[Head, str]:
    """The head of every office and day the complaints' links were entered on."""
    links: dict[Head, list[tuple[str, int, str]]] = defaultdict(list)
    _collect(complaints, tz, links)
    return _heads(links)


def day_heads(repository: Repository, tz: dt.tzinfo, *, office: str | None = None) -> dict[Head, str]:
    """The heads of a store, read in one snapshot a week of receipt at a time (only the links are kept)."""
    links: dict[Head, list[tuple[str, int, str]]] = defaultdict(list)
    with repository.snapshot() as view:
        for batch in in_windows(view, office=office):
            _collect(batch, tz, links)
    return _heads(links)


def write_heads(heads: Mapping[Head, str]) -> str:
    """Heads as text: one ``office<TAB>YYYY-MM-DD<TAB>head`` line each."""
    return "".join(f"{office}\t{day.isoformat()}\t{head}\n" for (office, day), head in sorted(heads.items()))


def read_heads(text: str) -> dict[Head, str]:
    """Heads written by :func:`write_heads` (a line that is not one is a ``ValidationError`` naming it)."""
    out: dict[Head, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            office, day, head = parts
            out[office, dt.date.fromisoformat(day)] = head
        except ValueError:
            raise ValidationError.of(Message("heads line {number}",
                                             number=number), line[:60], "office<TAB>YYYY-MM-DD<TAB>head") from None
    return out


def verify_heads(current: Mapping[Head, str], exported: Mapping[Head, str]) -> list[str]:
    """The exported heads that the ``current`` ones (:func:`day_heads` of the store now) no longer match: a
    problem per office and day, empty when all do."""
    problems: list[str] = []
    for (office, day), head in sorted(exported.items()):
        if current.get((office, day)) != head:
            problems.append(Message("the links entered in office {office} on {0} differ from the exported head {1}…: "
                                    "a transition of that day was changed, removed or added since",
                                    day.isoformat(), head[:16], office=office))
    return problems
