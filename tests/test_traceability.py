"""docs/traceability.md stays true: every SPEC ID has a row, and every test a row names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLE = (ROOT / "docs" / "traceability.md").read_text(encoding="utf-8")
REQUIREMENTS = ROOT / "docs" / "requirements.md"  # the project's own requirement list
SPEC = ROOT.parent / "shared" / "SPEC.md"  # the source it was copied from, where it sits beside the project


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


def _ids(text: str) -> tuple[str, ...]:
    first = re.findall(r"^\| ((?:P|E)-[^|]+)\|", text, flags=re.MULTILINE)
    return tuple(spec_id.strip() for cell in first for spec_id in cell.split("/"))  # "P-6.2.2 / E-major": both


SPEC_IDS = _ids(REQUIREMENTS.read_text(encoding="utf-8"))


def test_the_requirement_list_has_every_id() -> None:
    assert len(SPEC_IDS) == 26
    assert len(set(SPEC_IDS)) == 26


def test_every_spec_id_has_a_row() -> None:
    first_cells = " ".join(row[0] for row in _rows())
    missing = [spec_id for spec_id in SPEC_IDS
               if not re.search(rf"(?<![\w.-]){re.escape(spec_id)}(?![\w.-])", first_cells)]
    assert missing == []


def test_the_requirement_list_has_the_ids_of_its_source() -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside this checkout; docs/requirements.md was copied from it")
    assert _ids(SPEC.read_text(encoding="utf-8")) == SPEC_IDS


@pytest.mark.parametrize(("path", "name"), _named_tests(), ids=lambda value: str(value))
def test_every_test_a_row_names_exists(path: str, name: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    pattern = re.escape(name).replace(r"\*", r"\w*")
    assert re.search(rf"^\s*(?:async )?def {pattern}\b|^\s*{pattern} = ", source, flags=re.MULTILINE), \
        f"{path} has no {name}"
