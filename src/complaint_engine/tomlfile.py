"""Files at the edge: reading a TOML settings file (a policy, a calendar notice) with one kind of error for every
failure. Nothing in ``rules/`` or the domain core reads a file; they take the objects read here."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from complaint_engine.errors import ValidationError

__all__ = ["read_toml"]


def read_toml(path: str | Path, what: str, error: type[ValidationError]) -> dict[str, Any]:
    """The parsed file; an unreadable or malformed one raises ``error`` naming the path and the reason."""
    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise error.of(what, str(p), f"a readable UTF-8 TOML file ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error.of(what, str(p), f"valid TOML ({exc})") from exc

