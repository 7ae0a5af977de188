"""What the SQL backends share, by concern: statement text and dialects (``statements``), the document cache
(``cache``), the operations of a unit on one connection (``unit``), and transactions, snapshots and the
repository (``repository``). Backend-only behaviour lives in ``sqlite.py`` and ``postgres.py`` as overrides."""

from __future__ import annotations

from complaint_engine.storage.sql.cache import DocumentCache
from complaint_engine.storage.sql.repository import SQLRepository, SQLSnapshot, SQLTransaction
from complaint_engine.storage.sql.statements import Dialect
from complaint_engine.storage.sql.unit import SQLUnit

__all__ = ["Dialect", "DocumentCache", "SQLRepository", "SQLSnapshot", "SQLTransaction", "SQLUnit"]
