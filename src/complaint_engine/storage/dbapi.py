"""The typed shape of what the SQL backends use of a DB-API driver (sqlite3 and psycopg alike): values, rows,
cursors and connections."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

__all__ = ["BatchCursor", "Connection", "Cursor", "Params", "Row", "Value"]

Value = str | int | float | bytes | None
"""What a column of ours holds."""
Row = tuple[Value, ...]
"""A row as stored and read back."""
Params = Sequence[Value]
"""A statement's parameters."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> list[Row]: ...

    def __iter__(self) -> Iterator[Row]: ...


class BatchCursor(Protocol):
    def executemany(self, statement: str, rows: Sequence[Params], /) -> object: ...


class Connection(Protocol):
    def execute(self, statement: str, args: Params = ..., /) -> Cursor: ...

    def cursor(self) -> BatchCursor: ...

    def close(self) -> None: ...
