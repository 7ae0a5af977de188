"""Backends for the contract suite: memory, SQLite, and PostgreSQL when COMPLAINT_ENGINE_PG_DSN is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from complaint_engine.storage import InMemoryRepository, SQLiteRepository

PG_DSN = os.environ.get("COMPLAINT_ENGINE_PG_DSN")
BACKENDS = ["memory", "sqlite", *(["postgres"] if PG_DSN else [])]


def make_repository(kind: str, tmp_path: Path) -> object:
    if kind == "memory":
        return InMemoryRepository()
    if kind == "sqlite":
        return SQLiteRepository(tmp_path / f"store-{len(list(tmp_path.iterdir()))}.sqlite")
    from complaint_engine.storage.postgres import PostgresRepository

    assert PG_DSN is not None
    repo = PostgresRepository(PG_DSN)
    repo.drop_all_data_for_tests()
    return repo


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    r = make_repository(request.param, tmp_path)
    yield r
    close = getattr(r, "close", None)
    if close is not None:
        close()


@pytest.fixture
def repo_pg(tmp_path: Path) -> Iterator[object]:
    r = make_repository("postgres", tmp_path)
    yield r
    r.close()  # type: ignore[attr-defined]
