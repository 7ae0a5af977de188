"""A transition table: edges as data, guards as typed callables, one effect per event — validated when built.

python-statemachine's lesson: the whole table fits on one screen, and building it lists every offender
(one initial state, nothing leaves a final state — an edge back to itself only annotates it — every state
reaches a final state). Here each event also
has exactly one effect, bound to the command class that carries the event's arguments, so a guard or an
effect reads typed fields, never a name-keyed dictionary.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from complaint_engine.commands.verbs import Command
from complaint_engine.errors import InvalidTransition
from complaint_engine.messages import Message
from complaint_engine.model import Actor

if TYPE_CHECKING:
    from complaint_engine.policy import Policy
    from complaint_engine.rules.calendar import WorkingCalendar

__all__ = ["Changes", "Context", "Edge", "Effect", "Guard", "TransitionTable"]

S = TypeVar("S", bound=enum.Enum)
Sub = TypeVar("Sub")
C = TypeVar("C", bound=Command[object])

Changes = dict[str, object]
"""What an effect returns: the fields it changes. The step applies them, with the status and the history, in
one copy of the subject."""


class Context(Generic[Sub]):
    """What a guard or an effect may look at: the subject (a complaint or a CAPA report), the command, who
    acts, when, under which policy and calendar. A plain slotted class: one is built per step."""

    __slots__ = ("actor", "at", "calendar", "command", "policy", "serial", "subject")

    def __init__(self, subject: Sub, command: Command[object], actor: Actor, policy: Policy,
                 calendar: WorkingCalendar, at: dt.datetime, serial: str | None = None) -> None:
        self.subject = subject
        self.command = command
        self.actor = actor
        self.policy = policy
        self.calendar = calendar
        self.at = at
        self.serial = serial  # the number the register allocated, for a registration


Guard = Callable[[Context[Sub]], str | None]
"""A guard returns None to allow, or the reason it refuses (shown in the error)."""


@attrs.frozen
class Edge(Generic[S, Sub]):
    event: str
    source: S
    target: S
    guards: tuple[Guard[Sub], ...] = ()


@attrs.frozen
class Effect(Generic[Sub]):
    """What an event does to its subject, and the command class that carries its arguments. Made by
    :meth:`of`, which checks the command's class before the typed function sees it."""

    event: str
    command: type[Command[object]]
    apply: Callable[[Sub, Context[Sub]], Changes]

    @classmethod
    def of(cls, command: type[C], apply: Callable[[Sub, C, Context[Sub]], Changes]) -> Effect[Sub]:
        def run(subject: Sub, ctx: Context[Sub]) -> Changes:
            given = ctx.command
            if not isinstance(given, command):
                raise TypeError(f"the effect of {command.event!r} takes {command.__name__}, not "
                                f"{type(given).__name__}")
            return apply(subject, given, ctx)

        return cls(command.event, command, run)


@attrs.frozen
class TransitionTable(Generic[S, Sub]):
    """A validated state machine. Construction fails listing every offender."""

    name: str
    states: type[S]
    initial: S
    finals: frozenset[S]
    edges: tuple[Edge[S, Sub], ...]
    effects: tuple[Effect[Sub], ...] = ()
    _index: Mapping[tuple[str, S], tuple[Edge[S, Sub], ...]] = attrs.field(init=False, repr=False)
    _effects: Mapping[str, Effect[Sub]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"invalid {self.name} table: " + "; ".join(problems))
        index: dict[tuple[str, S], list[Edge[S, Sub]]] = {}
        for edge in self.edges:
            index.setdefault((edge.event, edge.source), []).append(edge)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_effects", {e.event: e for e in self.effects})

    def problems(self) -> list[str]:
        """One initial state, nothing leaves a final state, every state reaches a final state; every event has
        exactly one effect, whose command class carries that event."""
        problems: list[str] = []
        states = set(self.states)
        if self.initial not in states:
            problems.append(Message("initial state {initial!r} is not a state", initial=self.initial))
        if not self.finals:
            problems.append("no final state")
        for edge in self.edges:
            # a final state may be annotated (evidence appended to a closed record) but never left
            if edge.source in self.finals and edge.target != edge.source:
                problems.append(Message("final state {value!r} has exit {event!r}",
                                        value=edge.source.value, event=edge.event))
        targets = {e.target for e in self.edges}
        for state in sorted(states - targets - {self.initial}, key=lambda s: s.value):
            problems.append(Message("state {value!r} is unreachable", value=state.value))
        reaches = set(self.finals)
        changed = True
        while changed:
            changed = False
            for edge in self.edges:
                if edge.target in reaches and edge.source not in reaches:
                    reaches.add(edge.source)
                    changed = True
        for state in sorted(states - reaches, key=lambda s: s.value):
            problems.append(Message("state {value!r} cannot reach a final state", value=state.value))
        return problems + self._effect_problems()

    def _effect_problems(self) -> list[str]:
        problems: list[str] = []
        events = sorted({str(e.event) for e in self.edges})
        bound: dict[str, int] = {}
        for effect in self.effects:
            bound[str(effect.event)] = bound.get(str(effect.event), 0) + 1
            if effect.command.event != effect.event:
                problems.append(Message("effect of {0!r} takes {kind}, a command of {1!r}",
                                        str(effect.event), str(effect.command.event), kind=effect.command.__name__))
        for event in events:
            if bound.get(event, 0) != 1:
                problems.append(Message("event {event!r} has {0} effects, not one", bound.get(event, 0), event=event))
        for event in sorted(set(bound) - set(events)):
            problems.append(Message("effect of {event!r}, an event no edge takes", event=event))
        return problems

    def events_from(self, state: S) -> list[str]:
        return sorted({str(e.event) for e in self.edges if e.source is state})

    def effect(self, command: Command[object]) -> Effect[Sub]:
        """The effect of the command's event (every event of the table has one)."""
        return self._effects[command.event]

    def resolve(self, event: str, state: S, ctx: Context[Sub], subject: Callable[[], str]) -> Edge[S, Sub]:
        """The edge to take, or InvalidTransition naming the state, the allowed events or the guard's reason."""
        edges = self._index.get((event, state))
        if not edges:
            raise InvalidTransition(str(event), subject(), state.value, self.events_from(state))
        reason = None
        for edge in edges:
            for guard in edge.guards:
                reason = guard(ctx)
                if reason is not None:
                    break
            else:
                return edge
        raise InvalidTransition(str(event), subject(), state.value, self.events_from(state), reason=reason)

    def to_markdown(self) -> str:
        """The table as Markdown: a Mermaid state diagram and one row per edge with its guards."""
        lines = [f"## {self.name}", "", "```mermaid", "stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        seen = set()
        for e in self.edges:
            key = (e.source, e.target, e.event)
            if key not in seen:
                seen.add(key)
                lines.append(f"    {e.source.value} --> {e.target.value}: {e.event}")
        lines += [f"    {f.value} --> [*]" for f in sorted(self.finals, key=lambda s: s.value)]
        lines += ["```", "", "| event | from | to | guards |", "|---|---|---|---|"]
        for e in self.edges:
            guards = "; ".join((g.__doc__ or g.__name__).strip().splitlines()[0] for g in e.guards) or "—"
            lines.append(f"| `{e.event}` | {e.source.value} | {e.target.value} | {guards} |")
        return "\n".join(lines) + "\n"
