"""One exception hierarchy for the whole engine.

Every error names what failed, the offending value and what was allowed, and carries the same
pieces as attributes so callers never parse messages. A value that may hold personal data (an owner's
name, a unit, free text) is withheld from the message and kept on the ``value`` attribute. ``NotFound`` is
also a ``LookupError`` and ``ValidationError`` a ``ValueError``, so generic handlers work; ``PermissionDenied``
is the engine's refusal only (no ``OSError``). Every public error is importable from ``complaint_engine``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Self

from complaint_engine.messages import Joined, Message, Verbatim, error_language, render


def _show(values: Iterable[object]) -> str:
    return Verbatim("[" + ", ".join(repr(v) for v in values) + "]")


# Fields whose values may hold personal data (an owner's name, phone, unit, or free text that can repeat them):
# an error names the field and withholds the value, which stays on the error's ``value`` attribute. A host that
# logs exceptions then logs no personal data.
PERSONAL_FIELDS = frozenset({
    "owner", "unit", "summary", "relayed_by", "opinion", "note", "reason", "result", "plan", "decision", "cause",
    "measure", "text", "referred_to", "reference", "attachments", "problem", "person",
})


def _field(path: str) -> str:
    """The field a path names: ``$.callbacks[0].opinion`` → ``opinion``, ``attachments[1]`` → ``attachments``."""
    last = path.rsplit(".", 1)[-1]
    return last.split("[", 1)[0].strip()


def is_personal(path: str) -> bool:
    return _field(path) in PERSONAL_FIELDS


def shown(path: str, value: object) -> str:
    """How an error shows a value: its repr, or — for a field that may hold personal data — that it is withheld."""
    if is_personal(path):
        return Message("(a {0} withheld: personal data)", Verbatim(type(value).__name__))
    return Verbatim(repr(value))


class ComplaintEngineError(Exception):
    """Root of every error raised by complaint_engine. ``str(error)`` is in the error language
    (:func:`complaint_engine.set_error_language`); ``error.message(lang)`` in any of zh-Hans, zh-Hant and en."""

    def message(self, lang: str) -> str:
        """This error's message in ``lang``."""
        if len(self.args) == 1:
            return render(self.args[0], lang)
        return super().__str__()

    def __str__(self) -> str:
        return self.message(error_language())


class ValidationError(ComplaintEngineError, ValueError):
    """A value was refused. ``problems`` lists every problem as ``(path, message)``."""

    def __init__(self, message: str, *, value: object = None, allowed: object = None,
                 problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.value = value
        self.allowed = allowed
        self.problems = tuple(problems)

    @classmethod
    def of(cls, what: str, value: object, allowed: str) -> Self:
        """``invalid <what> <value!r>; allowed: <allowed>`` (the value withheld for a personal field)."""
        show = shown(what, value)
        return cls(Message("invalid {0} {1}; allowed: {2}", what, show, allowed), value=value, allowed=allowed,
                   problems=((what, Message("{0} is not {1}", show, allowed)),))

    @classmethod
    def collect(cls, what: str, problems: Sequence[tuple[str, str]]) -> Self:
        """One error listing every ``(path, message)`` problem, so callers fix them all at once. A problem at a
        personal field keeps its path and loses its message, which may repeat the value."""
        problems = [(path, Message("invalid value (withheld: personal data)") if is_personal(path) else msg)
                    for path, msg in problems]
        lines = Joined([Message("{0}: {1}", Verbatim(path), msg) for path, msg in problems])
        return cls(Message("invalid {0}: {1}", what, lines), problems=problems)


def office_changed(complaint_id: str, office: str, stored_office: str) -> ValidationError:
    """The refusal of a save that would move a complaint to another office: its serial, sequences and every
    office-scoped query belong to the office that received it."""
    return ValidationError.of("complaint office", office,
                              Message("{0!r}, the office complaint {1!r} is stored under", stored_office,
                                      complaint_id))


class PolicyError(ValidationError):
    """A policy is inconsistent or malformed; ``problems`` has every offending path."""


class CalendarError(ValidationError):
    """A calendar could not be built or was asked about a date it does not cover."""


class InvalidTransition(ComplaintEngineError):
    """An event is not allowed in the current state, or a guard refused it."""

    def __init__(self, event: str, subject: str, state: str, allowed: Sequence[str],
                 reason: str | None = None) -> None:
        self.event = event
        self.subject = subject
        self.state = state
        self.allowed = tuple(allowed)
        self.reason = reason
        if reason:
            msg = Message("cannot {0!r} {1} in state {2!r}: {3}", event, subject, state, reason)
        else:
            msg = Message("cannot {0!r} {1} in state {2!r}; allowed: {3}", event, subject, state,
                          _show(self.allowed))
        super().__init__(msg)


class PermissionDenied(ComplaintEngineError):
    """The actor's role or office may not perform the event."""

    def __init__(self, actor: object, event: str, allowed: Sequence[str], reason: str | None = None) -> None:
        self.actor = str(actor)
        role, office = getattr(actor, "role", None), getattr(actor, "office", None)
        who = (Message("{0!r} (role {1!r}, office {2!r})", getattr(actor, "id", ""), getattr(role, "value", role),
                       office) if role is not None else Verbatim(self.actor))
        self.event = event
        self.allowed = tuple(allowed)
        self.reason = reason
        if reason:
            msg = Message("actor {0} may not {1!r}: {2}", who, event, reason)
        else:
            msg = Message("actor {0} may not {1!r}; allowed roles: {2}", who, event, _show(self.allowed))
        super().__init__(msg)


class NotFound(ComplaintEngineError, LookupError):
    """No object with that key."""

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        super().__init__(Message("no {0} {1!r}", kind, key))


class ConcurrencyError(ComplaintEngineError):
    """A save was based on a stale version."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        self.key = key
        self.expected = expected
        self.actual = actual
        super().__init__(Message("stale version of {0!r}: saved from version {1}, stored is {2}", key, expected,
                                 actual))


class StorageError(ComplaintEngineError):
    """A store could not be opened or used (bad path, newer schema, unreachable server)."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(message)


class ConnectionLost(StorageError):
    """The database server closed the connection in the middle of a call (a restart, a failover, an idle
    timeout). The unit of work in progress was not committed — unless the connection was lost during its
    COMMIT, when the server may have committed it. The repository connects again for the next call."""
