"""Layering and the public face: checked statically (the AST of every module, so a core → storage import fails
even though the package ``__init__`` loads storage) and in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import complaint_engine as ce
import complaint_engine.rules as rules

DOMAIN = ["complaint_engine.model", "complaint_engine.lifecycle", "complaint_engine.rules",
          "complaint_engine.policy", "complaint_engine.clock", "complaint_engine.numbering",
          "complaint_engine.commands", "complaint_engine.stats"]
SRC = Path(__file__).resolve().parents[1] / "src" / "complaint_engine"


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
    # a refusal of the engine is no operating-system error: a host's ``except OSError`` must not swallow it
    assert not issubclass(ce.PermissionDenied, OSError)
    for err in (ce.InvalidTransition, ce.PermissionDenied, ce.NotFound, ce.ConcurrencyError, ce.PolicyError,
                ce.ValidationError, ce.StorageError, ce.ConnectionLost, ce.CalendarError):
        assert issubclass(err, ce.ComplaintEngineError)


def test_concurrency_error_carries_the_versions() -> None:
    err = ce.ConcurrencyError("c1", expected=3, actual=4)
    assert (err.expected, err.actual) == (3, 4)
    assert "version 3" in str(err)
    assert "4" in str(err)


# --- static layering -----------------------------------------------------------------------------------------
STORAGE = ("complaint_engine.storage", "complaint_engine.serialization", "sqlite3", "psycopg", "cattrs")
FILES = ("complaint_engine.tomlfile", "tomllib", "pathlib", "io", "shutil", "tempfile")
CORE = ["model", "lifecycle", "commands/verbs.py", "commands/fields.py", "rules", "clock", "numbering", "frozen",
        "instants", "period", "errors", "ids"]
# (module or package under src/complaint_engine, what it must not import)
LAYERS = [
    *((core, STORAGE + FILES) for core in CORE),  # the domain core: no storage, no files
    ("policy.py", STORAGE),  # reads its TOML file and notice at the edge (Policy.from_toml), stores nothing
    *((f"stats/{m}", (*STORAGE, "matplotlib", "complaint_engine.stats.plot", "complaint_engine.stats.render"))
      for m in ("frame.py", "pareto.py", "trend.py", "kpi.py", "counts.py", "recurrence.py", "report.py")),
]


def _modules(where: str) -> list[Path]:
    path = SRC / where
    if path.is_dir():
        return sorted(path.rglob("*.py"))
    return [path if path.suffix == ".py" else path.with_suffix(".py")]


def _imports(path: Path) -> list[tuple[int, str]]:
    return _imports_of(path.read_text(encoding="utf-8"),
                       ".".join(("complaint_engine", *path.relative_to(SRC).parent.parts)))


def _imports_of(source: str, package: str) -> list[tuple[int, str]]:
    """Every module a file imports — at the top, inside functions, anywhere — except under ``if TYPE_CHECKING``
    (annotations only). Relative imports are resolved."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names] + [(node.lineno, base)]
    return found


@pytest.mark.parametrize(("where", "forbidden"), LAYERS, ids=[w for w, _ in LAYERS])
def test_layers_import_nothing_they_must_not(where: str, forbidden: tuple[str, ...]) -> None:
    bad = [f"{path.relative_to(SRC)}:{line} imports {name}" for path in _modules(where)
           for line, name in _imports(path) if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert not bad, "\n".join(bad)


def test_the_static_check_catches_a_core_to_storage_import() -> None:
    """The check sees an import inside a function (as a lazy import would hide it from the fresh-interpreter
    test) and a relative one, and leaves annotation-only imports alone."""
    source = ((SRC / "model.py").read_text(encoding="utf-8")
              + "\n\ndef sneaky() -> None:\n    from .storage import sql\n    import sqlite3\n"
              + "\nif TYPE_CHECKING:\n    from complaint_engine.serialization import to_dict\n")
    names = {name for _, name in _imports_of(source, "complaint_engine")}
    assert {"complaint_engine.storage", "complaint_engine.storage.sql", "sqlite3"} <= names
    assert "complaint_engine.serialization" not in names


def test_no_module_reaches_into_another_modules_private_members() -> None:
    """``obj._name`` is used only where ``_name`` is defined (its own module), or on ``self``/``cls``: no module
    calls another's private member."""
    allowed = {"_value_", "_name_", "_replace", "_asdict", "_fields"}
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
        defined |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        defined |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and node.attr not in allowed and node.attr not in defined
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                    and not (isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "super")):
                bad.append(f"{path.relative_to(SRC)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("complaint_engine"):
                bad += [f"{path.relative_to(SRC)}:{node.lineno} imports {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad, "\n".join(bad)


def test_no_source_module_is_over_500_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, long


def test_the_package_carries_its_license_version_and_metadata() -> None:
    import importlib.metadata
    import subprocess
    import sys

    meta = importlib.metadata.metadata("complaint_engine")
    assert meta["Version"] == ce.__version__  # one source: the package's __version__
    assert meta.get("License-Expression") == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    shown = subprocess.run([sys.executable, "-m", "complaint_engine", "--version"], capture_output=True, text=True,
                           timeout=60)
    assert shown.stdout.strip() == f"complaint_engine {ce.__version__}"
