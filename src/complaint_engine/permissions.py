"""Which roles may run each event by default (a policy's ``[permissions]`` table replaces any of them)."""

from __future__ import annotations

from collections.abc import Mapping

from complaint_engine.frozen import FrozenDict
from complaint_engine.model import Role

__all__ = ["DEFAULT_PERMISSIONS"]

R = Role
DEFAULT_PERMISSIONS: Mapping[str, frozenset[Role]] = FrozenDict({
    "receive": frozenset({R.RECEPTION}),
    "refer": frozenset({R.RECEPTION}),
    "register": frozenset({R.RECEPTION}),
    "dispatch": frozenset({R.RECEPTION}),
    "reply": frozenset({R.RECEPTION}),
    "escalate": frozenset({R.DEPARTMENT_MANAGER, R.RECEPTION}),
    "decide": frozenset({R.GENERAL_MANAGER, R.SUPERVISOR}),  # narrowed to the escalation role by a guard
    "start": frozenset({R.DEPARTMENT_MANAGER}),
    "defer": frozenset({R.DEPARTMENT_MANAGER}),
    "resolve": frozenset({R.DEPARTMENT_MANAGER, R.TECHNICIAN}),
    "record_arrival": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "pause": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "resume": frozenset({R.TECHNICIAN, R.DEPARTMENT_MANAGER}),
    "flag": frozenset({R.DEPARTMENT_MANAGER, R.RECEPTION, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "record_callback": frozenset({R.CALLBACK_OFFICER}),
    "close": frozenset({R.CALLBACK_OFFICER}),
    "reopen": frozenset({R.CALLBACK_OFFICER, R.RECEPTION, R.DEPARTMENT_MANAGER}),
    "open_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "link_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "plan_capa": frozenset({R.DEPARTMENT_MANAGER}),
    "implement_capa": frozenset({R.DEPARTMENT_MANAGER}),
    "verify_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "close_capa": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "inform": frozenset({R.RECEPTION, R.DEPARTMENT_MANAGER}),
    "announce": frozenset({R.RECEPTION, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "record_breach": frozenset({R.SYSTEM}),
    "record_action_overdue": frozenset({R.SYSTEM}),
    "transfer": frozenset({R.RECEPTION, R.DEPARTMENT_MANAGER}),
    "add_evidence": frozenset({R.RECEPTION, R.DEPARTMENT_MANAGER, R.TECHNICIAN, R.CALLBACK_OFFICER}),
    "investigate": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "record_measure": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.GENERAL_MANAGER}),
    "complete_capa_action": frozenset({R.DEPARTMENT_MANAGER, R.SUPERVISOR, R.TECHNICIAN}),
    "merge": frozenset({R.RECEPTION, R.SUPERVISOR}),
    "erase": frozenset({R.SUPERVISOR, R.GENERAL_MANAGER}),
    "close_year": frozenset({R.SUPERVISOR, R.GENERAL_MANAGER}),
    "link_duplicate": frozenset({R.RECEPTION, R.SUPERVISOR}),
})
