"""The ``erase`` step: a person's data pseudonymised in one complaint, everything else kept.

The owner's name becomes a pseudonym, the unit (when it is erased) keeps only its building, and every text a
person wrote or was quoted in — summaries, results, notes, opinions, reasons, references — has the erased
values cut out. Serials, instants, categories, departments, clocks and the history stay, so the register
stays whole and the analysis counts the complaint as before; the audit accepts the ``erase`` transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from complaint_engine.facts import default_location
from complaint_engine.model import Complaint, Remark

if TYPE_CHECKING:
    from complaint_engine.commands.privacy import EraseComplaint
    from complaint_engine.lifecycle.table import Context

__all__ = ["ERASED", "erase", "scrubbed"]

ERASED = "▇"  # what an erased text is replaced by
# the fields whose text may hold a person's data, at any depth of the record
_FREE_TEXT = frozenset({"summary", "reply_note", "result", "opinion", "note", "reason", "plan", "decision", "cause",
                        "measure", "text", "relayed_by", "referred_to", "reference", "attachments",
                        "external_reference", "document_number"})


def _scrub_text(value: str, secrets: Sequence[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):  # "陳大文" before "陳"
        value = value.replace(secret, ERASED)
    return value


def scrubbed(value: Any, secrets: Sequence[str], *, free: bool = False) -> Any:
    """``value`` with every secret cut out of the free-text fields (recursively through attrs records,
    tuples and mappings)."""
    if isinstance(value, str):
        return _scrub_text(value, secrets) if free else value
    if isinstance(value, tuple):
        return tuple(scrubbed(v, secrets, free=free) for v in value)
    if isinstance(value, Mapping):
        rebuilt = {k: scrubbed(v, secrets, free=free) for k, v in value.items()}
        return value if rebuilt == value else type(value)(rebuilt)  # type: ignore[call-arg]
    if attrs.has(type(value)):
        changes = {}
        for field in attrs.fields(type(value)):
            if not field.init:
                continue
            old = getattr(value, field.name)
            new = scrubbed(old, secrets, free=field.name in _FREE_TEXT)
            if new is not old and new != old:
                changes[field.name] = new
        return attrs.evolve(value, **changes) if changes else value
    return value


def erase(c: Complaint, cmd: EraseComplaint, ctx: Context[Complaint]) -> dict[str, object]:
    """The changes of one complaint's erasure."""
    secrets = tuple(s for s in cmd.secrets if s)
    changes: dict[str, object] = {}
    for name in _FREE_TEXT & {f.name for f in attrs.fields(Complaint)}:
        old = getattr(c, name)
        new = scrubbed(old, secrets, free=True)
        if new != old:
            changes[name] = new
    for name in ("notice", "referral", "escalation", "deferral", "callbacks", "contacts", "evidence",
                 "investigations", "measures", "remarks"):
        old = getattr(c, name)
        new = scrubbed(old, secrets)
        if new != old:
            changes[name] = new
    changes["owner"] = cmd.pseudonym
    if cmd.erase_unit:
        building = default_location(c.unit)
        changes["unit"] = f"{building}-{ERASED}" if building else ERASED
        if c.location is None and building:
            changes["location"] = building  # the analysis by building counts the complaint where it was
    remarks = changes.get("remarks", c.remarks)
    note = Remark(event="erase", text=_scrub_text(cmd.reason, secrets), by=ctx.actor.id, at=ctx.at)
    changes["remarks"] = (*remarks, note)  # type: ignore[misc]
    return changes
