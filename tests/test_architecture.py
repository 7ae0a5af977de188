"""Layering and the public face."""

from __future__ import annotations

import subprocess
import sys

import pytest

import complaint_engine as ce
import complaint_engine.rules as rules

DOMAIN = ["complaint_engine.model", "complaint_engine.lifecycle", "complaint_engine.rules",
          "complaint_engine.policy", "complaint_engine.clock", "complaint_engine.numbering"]


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_import_no_storage_or_serialization(module: str) -> None:
    code = (f"import sys, {module}; bad = [m for m in ('sqlite3', 'cattrs', 'psycopg') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{module} imports {out}"


@pytest.mark.parametrize("package", [ce, rules])
def test_every_public_name_resolves_and_all_is_sorted(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    assert names == sorted(names)
    for name in names:
        assert getattr(package, name) is not None


def test_errors_subclass_the_matching_builtins() -> None:
    assert issubclass(ce.NotFound, LookupError)
    assert issubclass(ce.ValidationError, ValueError)
    assert issubclass(ce.PermissionDenied, PermissionError)
    for err in (ce.InvalidTransition, ce.PermissionDenied, ce.NotFound, ce.ConcurrencyError, ce.PolicyError,
                ce.ValidationError):
        assert issubclass(err, ce.ComplaintEngineError)


def test_concurrency_error_carries_the_versions() -> None:
    err = ce.ConcurrencyError("c1", expected=3, actual=4)
    assert (err.expected, err.actual) == (3, 4)
    assert "version 3" in str(err)
    assert "4" in str(err)
