"""Processes writing one SQLite file take turns: a lock file next to it, locked (``flock``) around each unit of
work, before SQLite's own write lock is asked for.

SQLite makes a writer that finds the file locked sleep and try again, its sleeps growing to 100 ms: a process
that has waited long sleeps long while the others take the lock in turn (four desks on one file: one completed
1,080 verbs while another completed 9,784). A waiter on ``flock`` sleeps in the kernel instead and is woken as
soon as the lock is released, so each waiting process gets the lock about as often as the others, at no cost
while it waits. SQLite's lock still decides who writes: this only orders the waiting. Where ``fcntl`` does not
exist (Windows) SQLite's own waiting is kept.
"""

from __future__ import annotations

import os
import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Turns", "turns_for"]

_mine = threading.local()  # the lock files this thread holds (by path): a unit nested in another on the same
# file, through another repository, must not wait for its own thread — it waits in SQLite and times out, as before


def _held() -> set[str]:
    held: set[str] = _mine.__dict__.setdefault("held", set())
    return held


class Turns:
    """The turn lock of one database file, for one repository's connection."""

    def __init__(self, path: str) -> None:
        self.path = path + "-turns"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._guard = threading.Lock()
        self.held = False

    def take(self, timeout: float) -> None:
        """Wait for this file's turn (at most ``timeout`` seconds; then go on, and SQLite's busy timeout decides)."""
        held = _held()
        if self.path in held:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not self._wait(timeout):
                return
        self.held = True
        held.add(self.path)

    def _wait(self, timeout: float) -> bool:
        """The blocking ``flock`` in a helper thread, so that the wait is bounded: a turn not had in time is given
        back by the helper as soon as it comes."""
        got = threading.Event()
        abandoned = [False]

        def wait() -> None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except OSError:  # the repository was closed while this waited for a turn it had given up
                return
            with self._guard:
                if abandoned[0]:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                else:
                    got.set()

        threading.Thread(target=wait, name="complaint_engine-turn", daemon=True).start()
        if got.wait(timeout):
            return True
        with self._guard:
            if got.is_set():
                return True
            abandoned[0] = True
            return False

    def give(self) -> None:
        """End this unit's turn."""
        if self.held:
            self.held = False
            _held().discard(self.path)
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.give()
        os.close(self._fd)


def turns_for(path: str) -> Turns | None:
    """The turn lock of a database file (None in memory, where ``flock`` does not exist, or where the lock file
    cannot be made)."""
    if fcntl is None or path == ":memory:":
        return None
    try:
        return Turns(path)
    except OSError:  # a folder where no lock file can be made: SQLite's own waiting decides
        return None
