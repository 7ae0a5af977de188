"""What both lifecycles share: who may act, and the note a transition records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from complaint_engine.commands.verbs import Command
from complaint_engine.errors import PermissionDenied
from complaint_engine.messages import Message
from complaint_engine.model import Actor

if TYPE_CHECKING:
    from complaint_engine.policy import Policy

__all__ = ["authorize", "transition_note"]

# The command fields a transition's note repeats: references to other records only. Free text (reasons, results,
# plans, opinions) may hold personal data and lives in the document, where it can be corrected; the transition
# rows are append-only.
NOTE_FIELDS = ("number", "clocks")
_NOTED: dict[type[Command[object]], tuple[str, ...]] = {}


def authorize(event: str, actor: Actor, policy: Policy, office: str) -> None:
    """Role from the policy and the same office, or PermissionDenied naming both."""
    allowed = policy.allowed_roles(event)
    if actor.role not in allowed:
        raise PermissionDenied(actor, str(event), sorted(r.value for r in allowed))
    if actor.office != office:
        raise PermissionDenied(actor, str(event), sorted(r.value for r in allowed),
                               reason=Message("the complaint belongs to office {office!r}", office=office))


def transition_note(command: Command[object]) -> str | None:
    """``reason: …; result: …`` of the command's noted fields that are set, or None."""
    kind = type(command)
    names = _NOTED.get(kind)
    if names is None:
        declared = {f.name for f in attrs.fields(kind)} if attrs.has(kind) else set()
        names = _NOTED[kind] = tuple(n for n in NOTE_FIELDS if n in declared)
    parts = []
    for name in names:
        value = getattr(command, name)
        if isinstance(value, str):
            parts.append(f"{name}: {value}")
        elif isinstance(value, tuple) and value:
            parts.append(f"{name}: {', '.join(map(str, value))}")
    return "; ".join(parts) or None
