"""docs/traceability.md stays true: every SPEC ID has a row, and every test a row names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = (ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
SPEC = ROOT.parent / "shared" / "SPEC.md"  # the shared folder beside the project (present for CI too)


def _rows() -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in TABLE.splitlines()
            if line.startswith("| ") and not line.startswith("| ID ")]
    return [row for row in rows if len(row) >= 4]


def _named_tests() -> list[tuple[str, str]]:
    """(file, name) for every test a row names: ``tests/x.py::name`` sets the file for the bare names after it."""
    named = []
    for row in _rows():
        current = None
        for token in re.findall(r"`([^`]+)`", row[-1]):
            path, _, name = token.partition("::")
            if path.startswith("tests/") and path.endswith(".py"):
                current, name = path, name
            elif re.fullmatch(r"[A-Za-z_][\w*]*", token):
                name = token
            else:
                continue
            assert current is not None, f"{token!r} names no file before it: {row[0]}"
            if name:
                named.append((current, name))
    return named


# The IDs of ../shared/SPEC.md, kept here so the row check runs wherever the tests run; where the shared
# folder sits beside the project (as on the development and CI machines), the next test checks the copy.
SPEC_IDS = ("P-6.1.1", "E-intake-24h", "E-classify", "P-6.1.2", "E-records", "P-6.1.3", "P-6.2.1", "P-6.2.2",
            "E-major", "P-6.2.3", "P-5.2", "P-6.2.4", "P-6.2", "P-6.3.4", "E-reply", "E-repair-arrive",
            "E-repair-minor", "E-repair-urgent", "E-accountability", "E-defer", "E-callback", "E-announce",
            "P-6.3.1", "P-6.3.2", "P-6.3.3", "P-7")


def test_every_spec_id_has_a_row() -> None:
    first_cells = " ".join(row[0] for row in _rows())
    missing = [spec_id for spec_id in SPEC_IDS
               if not re.search(rf"(?<![\w.-]){re.escape(spec_id)}(?![\w.-])", first_cells)]
    assert missing == []


def test_the_spec_ids_are_those_of_the_spec() -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside this checkout; SPEC_IDS was copied from it")
    first = re.findall(r"^\| ((?:P|E)-[^|]+)\|", SPEC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    ids = [spec_id.strip() for cell in first for spec_id in cell.split("/")]  # "P-6.2.2 / E-major": both
    assert tuple(ids) == SPEC_IDS


@pytest.mark.parametrize(("path", "name"), _named_tests(), ids=lambda value: str(value))
def test_every_test_a_row_names_exists(path: str, name: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    pattern = re.escape(name).replace(r"\*", r"\w*")
    assert re.search(rf"^\s*(?:async )?def {pattern}\b|^\s*{pattern} = ", source, flags=re.MULTILINE), \
        f"{path} has no {name}"
