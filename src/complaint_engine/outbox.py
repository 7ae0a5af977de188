"""Reading the outbox: subscriptions with a durable cursor, and hooks called after commit.

A consumer runs beside the host application (a thread, a process, a cron or systemd timer): it polls its
subscription, handles each event, and acknowledges the last position it handled. Delivery is at least once —
a consumer that stops between handling and acknowledging sees the same events again — so a handler makes
itself idempotent with the event's position (for example, remembers the last position it sent).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Collection, Iterable

from complaint_engine.errors import ValidationError
from complaint_engine.events import KINDS, DomainEvent
from complaint_engine.messages import Message
from complaint_engine.storage import Repository

__all__ = ["HookFailed", "Hooks", "Subscription", "check_kinds", "check_position"]

MAX_NAME = 200


class HookFailed(UserWarning):
    """A host's handler raised after a commit: the change stands; the failure is reported (``Hooks.failures``)."""


def check_position(after: object) -> int:
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValidationError.of("after", after, "None or a non-negative integer position")
    return after


def check_kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    if kinds is None:
        return None
    chosen = frozenset([kinds] if isinstance(kinds, str) else kinds)
    unknown = sorted(k for k in chosen if k not in KINDS)
    if unknown:
        raise ValidationError.of("event kind", unknown[0], Message("one of {0}", list(KINDS)))
    return chosen


class Subscription:
    """A named, durable cursor over the outbox, stored in the same database: ``poll`` returns the events after
    the acknowledged position, ``ack`` moves it. A new subscription starts at the beginning of the log."""

    def __init__(self, repository: Repository, name: str) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ValidationError.of("subscription name", name, Message("a non-empty name of at most {MAX_NAME} "
                                                                        "characters", MAX_NAME=MAX_NAME))
        self.repository = repository
        self.name = name

    @property
    def position(self) -> int:
        """The last position acknowledged."""
        return self.repository.cursor(self.name)

    def poll(self, limit: int = 1000, *, kinds: Collection[str] | None = None) -> list[DomainEvent]:
        return self.repository.events(self.position, kinds=check_kinds(kinds), limit=limit)

    def ack(self, position: int) -> None:
        """Everything up to ``position`` is handled (a position already acknowledged further is kept)."""
        check_position(position)
        with self.repository.unit_of_work() as uow:
            if position > uow.cursor(self.name):
                uow.set_cursor(self.name, position)
            uow.commit()

    def wait(self, timeout: float) -> list[DomainEvent]:
        """The next events, waiting up to ``timeout`` seconds for some to arrive: on PostgreSQL woken by the
        commit's notification (``LISTEN/NOTIFY``), elsewhere polling with a short back-off; an empty list when
        none came."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.poll()
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            self.repository.wait_for_events(left)


Handler = Callable[[DomainEvent], object]


class Hooks:
    """Handlers by event kind, called after commit (never inside the transaction); one that raises does not undo
    the verb — its failure is kept in ``failures`` and warned."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self.failures: list[tuple[DomainEvent, BaseException]] = []

    def on(self, kind: str, handler: Handler) -> None:
        if kind != "*":
            check_kinds([kind])
        if not callable(handler):
            raise ValidationError.of("handler", handler, "a callable taking the event")
        self._handlers.setdefault(kind, []).append(handler)

    def deliver(self, events: Iterable[DomainEvent]) -> None:
        if not self._handlers:
            return
        for event in events:
            for handler in (*self._handlers.get(event.kind, ()), *self._handlers.get("*", ())):
                try:
                    handler(event)
                except Exception as exc:  # the host's code: report it, keep the committed change
                    self.failures.append((event, exc))
                    warnings.warn(f"a handler of {event.kind} failed: {exc!r}", HookFailed, stacklevel=3)
