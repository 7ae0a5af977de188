"""Serial numbers (P-6.1.3): one sequence per office and year, gap-free, shared by register and notice.

The repository allocates the next number of a sequence inside the same unit of work that saves the
registration, so a rolled-back registration leaves no gap.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["format_serial", "sequence_key"]


def sequence_key(kind: str, office: str, local_year: int) -> str:
    """The name of a sequence: ``complaint:A:2024``, ``capa:A:2024``, ``announcement:A:2024``."""
    return f"{kind}:{office}:{local_year}"


def format_serial(fmt: str, office: str, at: dt.datetime, seq: int) -> str:
    return fmt.format(office=office, year=at.year, seq=seq)
