"""Complaint ids that sort by creation time: the RFC 9562 version-7 UUID layout, as 32 hex digits.

Why not ``uuid4``: every store keys complaint rows, facts and the transition log by id in B-trees. Random
ids scatter each new complaint's rows over the whole tree, so every verb dirties pages all over the file
and each checkpoint rewrites them. Time-ordered ids keep the rows of recent — that is, active —
complaints together at the tree's end. (``uuid.uuid7`` arrives only in Python 3.14.)
"""

from __future__ import annotations

import os
import time

__all__ = ["time_ordered_id"]

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0b10 << 62


def time_ordered_id() -> str:
    """A new UUIDv7 in hex: 48 bits of Unix milliseconds, the version, 74 random bits and the variant."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are kept
    value = ((millis & 0xFFFF_FFFF_FFFF) << 80) | _VERSION_7 | ((rand >> 68) << 64) | _VARIANT_RFC \
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    return f"{value:032x}"
