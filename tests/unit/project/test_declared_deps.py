"""Every third-party package the code imports is declared in pyproject.toml (a transitive install is not a promise).

Library code (sftops/, serving/, pipelines/) against [project] dependencies; test support (sftops/testing/),
tests/ and bench/ against those plus the `dev` extra. Imports are read with `ast` (function-level ones too) and
mapped to distributions with importlib.metadata.packages_distributions().
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from sftops.testing.import_graph import FIRST_PARTY, ImportGraph
from sftops.testing.project import PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TEST_SUPPORT = "sftops.testing"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str:
    """The distribution name at the start of a PEP 508 requirement line."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    assert match, f"pyproject.toml: cannot read a requirement name in {line!r}"
    return match.group(1)


def declared(root: Path, extras: Iterable[str] = ()) -> set[str]:
    """Normalised names of the distributions pyproject.toml declares: [project] dependencies plus the given extras."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project.get("dependencies", []))
    for extra in extras:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    return {_norm(_requirement_name(line)) for line in lines}


def undeclared(graph: ImportGraph, modules: Iterable[str], names: set[str], local: set[str] = frozenset()) -> list[str]:
    """`module:line imports top` for each third-party import in `modules` that no declared distribution provides."""
    providers = importlib.metadata.packages_distributions()
    skip = {*FIRST_PARTY, *graph.packages, *ImportGraph().aliases, *local, "__future__"}
    found = []
    for module in modules:
        for imp in graph.imports(module):
            top = imp.target.split(".")[0]
            if not top or top in skip or top in sys.stdlib_module_names:
                continue
            dists = {_norm(d) for d in providers.get(top, [])} or {_norm(top)}
            if not dists & names:
                found.append(f"{graph.rel_path(module)}:{imp.lineno} imports {top} "
                             f"(distribution {', '.join(sorted(dists))})")
    return found


def test_library_imports_are_declared_dependencies() -> None:
    graph = ImportGraph()
    library = [m for m in graph.modules if not (m == TEST_SUPPORT or m.startswith(TEST_SUPPORT + "."))]
    missing = undeclared(graph, library, declared(PROJECT_ROOT))
    assert not missing, "add these to [project] dependencies in pyproject.toml:\n  " + "\n  ".join(missing)


def test_test_and_bench_imports_are_declared_dev_dependencies() -> None:
    names = declared(PROJECT_ROOT, extras=["dev"])
    support = ImportGraph()
    missing = undeclared(support, [m for m in support.modules if m.startswith(TEST_SUPPORT)], names)
    tests = ImportGraph(packages=("tests", "bench"))
    bench_scripts = {p.stem for p in (PROJECT_ROOT / "bench").glob("*.py")}  # bench scripts import each other
    missing += undeclared(tests, list(tests.modules), names, local=bench_scripts)
    assert not missing, "add these to the dev extra in pyproject.toml:\n  " + "\n  ".join(missing)


def test_the_check_maps_imports_to_distributions(tmp_path: Path) -> None:
    (tmp_path / "sftops").mkdir()
    (tmp_path / "sftops/__init__.py").write_text("import yaml\nimport os\nfrom . import x\n")
    (tmp_path / "sftops/x.py").write_text("def f():\n    import sklearn.metrics\n    import nosuchdist_xyz\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\ndependencies = ["PyYAML>=6", "numpy"]\n')
    graph = ImportGraph(tmp_path)
    assert undeclared(graph, graph.modules, declared(tmp_path)) == [
        "sftops/x.py:2 imports sklearn (distribution scikit-learn)",
        "sftops/x.py:3 imports nosuchdist_xyz (distribution nosuchdist-xyz)",
    ]


@pytest.mark.parametrize("line, name", [("onnxruntime-gpu>=1.20; sys_platform == 'linux'", "onnxruntime-gpu"),
                                        ("Prometheus_Client>=0.20", "prometheus-client")])
def test_declared_names_are_normalised(tmp_path: Path, line: str, name: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "p"\ndependencies = ["{line}"]\n')
    assert declared(tmp_path) == {name}
