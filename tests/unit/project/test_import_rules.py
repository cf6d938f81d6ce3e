"""Import rules between packages: sftops/ sits below pipelines/ and serving/, and no package reaches into another's private modules.

A package is `sftops.<name>` (or a top-level module `sftops.<name>`), `pipelines` or `serving`; a private module is one
whose name (or a folder on its path below the package) starts with `_` (`__init__` aside). Read with `ast`, so
`importlib.import_module("serving.x")` counts as well as `import serving.x`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sftops.testing.import_graph import Import, ImportGraph

UPPER = ("pipelines", "serving")
# a string naming a module of the upper packages, e.g. "pipelines.prepare" or "serving.cli:main" (import_module/entry-point style)
_UPPER_NAME = re.compile(r"^(?:sftops_)?(?:pipelines|serving)(?:\.\w+)+(?::\w+)?$")


def package_of(module: str) -> str:
    """The package a module belongs to: `sftops.<name>`, or the top-level package for pipelines/serving."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "sftops" and len(parts) > 1 else parts[0]


def _private(module: str) -> bool:
    return any(p.startswith("_") and not p.startswith("__") for p in module.split(".")[len(package_of(module).split(".")):])


def upward_imports(graph: ImportGraph) -> list[str]:
    """Imports in sftops/ of pipelines or serving: by statement, or by a module-name string (for importlib)."""
    found = []
    for module in graph.modules:
        if module.split(".")[0] != "sftops":
            continue
        found += [f"{graph.rel_path(module)}:{imp.lineno} imports {imp.target}"
                  for imp in graph.imports(module) if imp.target.split(".")[0] in UPPER and not imp.by_string]
        tree = ast.parse(graph.modules[module].read_text(encoding="utf-8"))
        found += [f"{graph.rel_path(module)}:{node.lineno} names {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and _UPPER_NAME.match(node.value)]
    return sorted(found, key=lambda line: (line.split(":")[0], int(line.split(":")[1].split()[0])))


def _targets(graph: ImportGraph, imp: Import) -> list[str]:
    """The first-party modules (or module.name for a private name) an import names."""
    if imp.target.split(".")[0] not in graph.packages:
        return []
    named = [f"{imp.target}.{n}" for n in imp.names if n != "*"]
    return [imp.target, *named]


def private_reaches(graph: ImportGraph) -> list[str]:
    """Imports of another package's private module (or private name), e.g. `from ..tracking._runs import x` in training."""
    found = []
    for module in graph.modules:
        own = package_of(module)
        for imp in graph.imports(module):
            for target in _targets(graph, imp):
                if package_of(target) != own and _private(target):
                    found.append(f"{graph.rel_path(module)}:{imp.lineno} imports {target}")
                    break
    return found


def test_sftops_never_imports_pipelines_or_serving() -> None:
    found = upward_imports(ImportGraph())
    assert not found, "sftops/ must not import the packages above it:\n  " + "\n  ".join(found)


def test_no_package_imports_another_packages_private_module() -> None:
    found = private_reaches(ImportGraph())
    assert not found, ("import these from the owning package's __init__ (export them there) instead:\n  "
                       + "\n  ".join(found))


# --- the checks themselves, on a small project -------------------------------------------------------------------


@pytest.fixture()
def small_project(tmp_path: Path) -> Path:
    files = {
        "sftops/__init__.py": "",
        "sftops/cli.py": (
            "import importlib\nCOMMANDS = {'prepare': 'pipelines.prepare'}\n"
            "def main():\n    importlib.import_module('serving.cli')\n    from pipelines import train\n"
        ),
        "sftops/training/__init__.py": "from ._stage import train\n",
        "sftops/training/_stage.py": "from ..tracking._runs import start\nfrom ._data import load\nfrom ..tracking import connect\n",
        "sftops/training/_data.py": "",
        "sftops/tracking/__init__.py": "from ._runs import start, connect\n",
        "sftops/tracking/_runs.py": "def start(): pass\ndef connect(): pass\ndef _helper(): pass\n",
        "sftops/registry/__init__.py": "",
        "sftops/registry/x.py": "from sftops.tracking import _runs\nfrom sftops.tracking._runs import _helper\n",
        "serving/__init__.py": "",
        "serving/cli.py": "from sftops.cli import main\nfrom sftops.tracking import start\n",
        "serving/app.py": "def f():\n    from sftops.tracking._runs import start\n",
        "pipelines/__init__.py": "",
        "pipelines/train.py": "import serving.cli\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_checks_find_upward_and_private_imports(small_project: Path) -> None:
    graph = ImportGraph(small_project)
    assert upward_imports(graph) == [
        "sftops/cli.py:2 names 'pipelines.prepare'",
        "sftops/cli.py:4 names 'serving.cli'",
        "sftops/cli.py:5 imports pipelines",
    ]
    assert sorted(private_reaches(graph)) == [
        "serving/app.py:2 imports sftops.tracking._runs",
        "sftops/registry/x.py:1 imports sftops.tracking._runs",
        "sftops/registry/x.py:2 imports sftops.tracking._runs",
        "sftops/training/_stage.py:1 imports sftops.tracking._runs",
    ]
