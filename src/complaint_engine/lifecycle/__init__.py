"""The complaint and CAPA state machines: transition tables as data, guards as typed callables, one effect per
event bound to its command class (``lifecycle/table.py``). Steps are pure; see ``lifecycle/complaint.py``."""

from __future__ import annotations

from complaint_engine.lifecycle.capa import CAPA_TABLE, step_capa
from complaint_engine.lifecycle.common import authorize
from complaint_engine.lifecycle.complaint import COMPLAINT_TABLE, step
from complaint_engine.lifecycle.table import Context, Edge, Effect, TransitionTable

__all__ = [
    "CAPA_TABLE",
    "COMPLAINT_TABLE",
    "Context",
    "Edge",
    "Effect",
    "TransitionTable",
    "authorize",
    "render_markdown",
    "step",
    "step_capa",
]


def render_markdown() -> str:
    """docs/lifecycle.md, generated from the tables (a test fails when the committed file is stale)."""
    head = ("# Lifecycle\n\nGenerated from `complaint_engine.lifecycle` by "
            "`python -m complaint_engine lifecycle > docs/lifecycle.md`; do not edit by hand.\n\n"
            "A complaint enters at `received` through `receive`. `referred` and `closed` are final. Events whose "
            "source and target are the same change data and clocks, not the status. Every step is recorded as a "
            "`Transition` in the complaint's history (the quality record, P-7).\n\n")
    return head + COMPLAINT_TABLE.to_markdown() + "\n" + CAPA_TABLE.to_markdown()
