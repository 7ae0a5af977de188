"""Commands: one frozen class per desk verb (``complaint_engine.commands.verbs``), and their plain-data and
JSON forms (``to_dict``/``from_dict``/``to_json``/``from_json``, loaded on first use so the domain never
imports the serialization layer).

    from complaint_engine import commands as C
    desk.execute(C.Dispatch(complaint_id=cid, department="security"), by=actor)
    C.from_json('{"type": "Register", "complaint_id": "..."}')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from complaint_engine.commands.verbs import (
    COMMANDS,
    AddEvidence,
    Announce,
    CAPACommand,
    Close,
    CloseCAPA,
    Command,
    ComplaintCommand,
    CompleteCAPAAction,
    CoverByAnnouncement,
    Decide,
    Defer,
    Dispatch,
    Escalate,
    Flag,
    ImplementCAPA,
    Inform,
    Investigate,
    LinkCAPA,
    LinkDuplicate,
    Merge,
    OpenCAPA,
    Pause,
    PlanCAPA,
    Receive,
    RecordActionOverdue,
    RecordArrival,
    RecordBreach,
    RecordCallback,
    RecordMeasure,
    Refer,
    Register,
    Reopen,
    Reply,
    Resolve,
    Resume,
    Start,
    Transfer,
    VerifyCAPA,
)
from complaint_engine.model import Event

if TYPE_CHECKING:
    from complaint_engine.commands.codec import from_dict, from_json, to_dict, to_json

__all__ = [
    "COMMANDS",
    "AddEvidence",
    "Announce",
    "CAPACommand",
    "Close",
    "CloseCAPA",
    "Command",
    "ComplaintCommand",
    "CompleteCAPAAction",
    "CoverByAnnouncement",
    "Decide",
    "Defer",
    "Dispatch",
    "Escalate",
    "Event",
    "Flag",
    "ImplementCAPA",
    "Inform",
    "Investigate",
    "LinkCAPA",
    "LinkDuplicate",
    "Merge",
    "OpenCAPA",
    "Pause",
    "PlanCAPA",
    "Receive",
    "RecordActionOverdue",
    "RecordArrival",
    "RecordBreach",
    "RecordCallback",
    "RecordMeasure",
    "Refer",
    "Register",
    "Reopen",
    "Reply",
    "Resolve",
    "Resume",
    "Start",
    "Transfer",
    "VerifyCAPA",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
]

_CODEC = ("from_dict", "from_json", "to_dict", "to_json")


def __getattr__(name: str) -> object:
    if name in _CODEC:
        from complaint_engine.commands import codec

        return getattr(codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
