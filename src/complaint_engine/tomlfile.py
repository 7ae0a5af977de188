"""Files at the edge: reading a TOML settings file (a policy, a calendar notice) with one kind of error for every
failure. Nothing in ``rules/`` or the domain core reads a file; they take the objects read here."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from complaint_engine.errors import ValidationError
from complaint_engine.messages import Message

__all__ = ["read_toml"]


# A settings file is a few kilobytes; a bound keeps a path such as /dev/zero or a huge file from exhausting memory.
MAX_BYTES = 1 << 20


def read_toml(path: str | Path, what: str, error: type[ValidationError]) -> dict[str, Any]:
    """The parsed file; an unreadable, oversized, too deeply nested or malformed one raises ``error`` naming the
    path and the reason. Only a regular file of at most ``MAX_BYTES`` is read."""
    p = Path(path)
    try:
        if p.exists() and not p.is_file():
            raise error.of(what, str(p), "a regular file (not a directory, device or pipe)")
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise error.of(what, str(p), Message("a settings file of at most {MAX_BYTES} bytes", MAX_BYTES=MAX_BYTES))
        return tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error.of(what, str(p), Message("a readable UTF-8 TOML file ({exc})", exc=exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error.of(what, str(p), Message("valid TOML ({exc})", exc=exc)) from exc
    except RecursionError as exc:  # tomllib parses nested arrays and tables recursively
        raise error.of(what, str(p), "TOML nested less deeply") from exc
