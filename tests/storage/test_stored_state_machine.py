"""Random verbs by random actors on a desk persisting to SQLite (and PostgreSQL when configured).

After every step, a *fresh* connection — no document cache, no shared state with the desk — must see
exactly what the desk sees: the same complaints, the indexed query columns (status, serial, next due
instant) and every fact column agreeing with the documents, and the append-only transition table
holding each history.
This is what lets a save write only the columns that changed since the row it wrote before.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis.stateful import invariant
from tests.storage.conftest import BACKENDS, make_repository
from tests.test_state_machine import DeskMachine

import complaint_engine as ce
from complaint_engine.facts import columns, facts_of
from complaint_engine.rules import ClockState
from complaint_engine.storage import SQLiteRepository


def _reader(kind: str, store: Any) -> Any:
    if kind == "sqlite":
        return SQLiteRepository(store.path)
    from tests.storage.conftest import PG_DSN

    from complaint_engine.storage.postgres import PostgresRepository

    assert PG_DSN is not None
    return PostgresRepository(PG_DSN)


def stored_machine(kind: str, examples: int) -> type[DeskMachine]:
    class StoredDeskMachine(DeskMachine):
        def new_repository(self) -> Any:
            self._folder = Path(tempfile.mkdtemp(prefix="ce-machine-"))  # one per example, removed in teardown
            self._store: Any = make_repository(kind, self._folder)
            return self._store

        @invariant()
        def a_fresh_connection_sees_what_the_desk_sees(self) -> None:
            if not hasattr(self, "desk"):
                return
            mine = {c.id: c for c in self.desk.repository.find()}
            reader = _reader(kind, self._store)
            try:
                with reader.snapshot() as view:  # one read transaction: fewer round trips to PostgreSQL
                    assert {c.id: c for c in view.find()} == mine
                    for status in ce.Status:
                        assert {c.id for c in view.find(status=status)} == \
                            {k for k, c in mine.items() if c.status is status}, status
                    now = self.clock.now()
                    due = {k for k, c in mine.items()
                           if any(d.state is ClockState.RUNNING and d.due < now for d in c.deadlines.values())}
                    assert set(view.due_ids(now)) == due
                    for k, c in mine.items():
                        rows = view.history(k)
                        assert [(r[0], r[1], r[3]) for r in rows] == \
                            [(i, t.event, t.target.value) for i, t in enumerate(c.history)]
                    stored = view.frame()  # every fact column, as the analysis reads it
                expected = columns(facts_of(c) for c in sorted(mine.values(), key=lambda c: (c.received_at, c.id)))
                for name, values in expected.items():
                    assert stored[name].tolist() == values.tolist(), name
            finally:
                reader.close()

        def teardown(self) -> None:
            super().teardown()
            if hasattr(self, "_store"):
                self._store.close()
            if hasattr(self, "_folder"):
                shutil.rmtree(self._folder)

    StoredDeskMachine.TestCase.settings = settings(settings.default, max_examples=examples, stateful_step_count=60)
    return StoredDeskMachine


test_sqlite_desk_state_machine = stored_machine("sqlite", 60).TestCase
if "postgres" in BACKENDS:
    test_postgres_desk_state_machine = stored_machine("postgres", 30).TestCase  # a server round trip per check
