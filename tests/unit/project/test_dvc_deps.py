"""dvc.yaml tells the truth about code: each stage's deps cover every first-party file its command imports.

The import graph is read from source (sftops.testing.import_graph), so a stale dvc.yaml fails here
instead of leaving `dvc status` clean after a change that alters a stage's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sftops.testing.import_graph import ImportGraph
from sftops.testing.project import PROJECT_ROOT

CODE_ROOTS = ("sftops/", "pipelines/", "serving/")


def _stages() -> dict[str, dict]:
    return yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def _entry_module(stage: str, cmd: str) -> str:
    match = re.search(r"\bpython3?\s+-m\s+([\w.]+)", cmd)
    assert match, f"dvc.yaml stage {stage!r}: cannot find `python -m <module>` in its cmd {cmd!r}"
    return match.group(1)


def _dep_paths(spec: dict) -> list[str]:
    """A stage's deps as paths (a dep may be a plain string or a one-key mapping)."""
    return [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps") or []]


def _covers(dep: str, path: str) -> bool:
    dep = dep.rstrip("/")
    return path == dep or path.startswith(dep + "/")


def stage_code_gaps(graph: ImportGraph, stages: dict[str, dict]) -> dict[str, list[str]]:
    """For each stage: the first-party files its command imports that no dep covers."""
    gaps: dict[str, list[str]] = {}
    for stage, spec in stages.items():
        deps = _dep_paths(spec)
        files = sorted(graph.rel_path(m) for m in graph.closure(_entry_module(stage, spec["cmd"])))
        missing = [f for f in files if not any(_covers(d, f) for d in deps)]
        if missing:
            gaps[stage] = missing
    return gaps


def stale_code_deps(graph: ImportGraph, stages: dict[str, dict]) -> dict[str, list[str]]:
    """For each stage: code deps (under sftops/, pipelines/, serving/) covering no file its command imports."""
    stale: dict[str, list[str]] = {}
    for stage, spec in stages.items():
        files = [graph.rel_path(m) for m in graph.closure(_entry_module(stage, spec["cmd"]))]
        extra = [d for d in _dep_paths(spec) if d.startswith(CODE_ROOTS) and not any(_covers(d, f) for f in files)]
        if extra:
            stale[stage] = extra
    return stale


def suggested_code_deps(graph: ImportGraph, entry: str) -> list[str]:
    """The code deps to write for a stage: each subpackage it imports as its folder, each top-level module as its file."""
    deps = set()
    for module in graph.closure(entry):
        parts = graph.rel_path(module).split("/")
        deps.add("/".join(parts[:2]) if len(parts) > 2 else "/".join(parts))
    return sorted(deps)


def test_every_stage_depends_on_the_code_it_imports() -> None:
    graph, stages = ImportGraph(), _stages()
    gaps = stage_code_gaps(graph, stages)
    assert not gaps, "dvc.yaml deps miss code the stage imports:\n" + "\n".join(
        f"  {stage}: {', '.join(files)}\n    (its code deps could read: "
        f"{', '.join(suggested_code_deps(graph, _entry_module(stage, stages[stage]['cmd'])))})"
        for stage, files in gaps.items()
    )


def test_no_stage_depends_on_code_it_does_not_import() -> None:
    stale = stale_code_deps(ImportGraph(), _stages())
    assert not stale, "dvc.yaml lists code deps the stage never imports (needless reruns):\n" + "\n".join(
        f"  {stage}: {', '.join(deps)}" for stage, deps in stale.items()
    )


# --- the checker itself, on a small project ---------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.fixture()
def small_project(tmp_path: Path) -> Path:
    _write(tmp_path, {
        "pipelines/__init__.py": "",
        "pipelines/export.py": "from sftops.export import run\n",
        "sftops/__init__.py": "",
        "sftops/exceptions.py": "",
        "sftops/export/__init__.py": "from .run import run\n",
        "sftops/export/run.py": (
            "from .. import exceptions\n"
            "def run():\n"
            "    from ..modeling import load  # a function-level import counts\n"
            "    import importlib\n"
            "    importlib.import_module('sftops.evaluation.metrics')\n"
        ),
        "sftops/modeling/__init__.py": "from ._load import load\n",
        "sftops/modeling/_load.py": "import numpy\n",
        "sftops/evaluation/__init__.py": "",
        "sftops/evaluation/metrics.py": "",
        "sftops/unused/__init__.py": "",
    })
    return tmp_path


def test_closure_follows_relative_function_level_and_string_imports(small_project: Path) -> None:
    graph = ImportGraph(small_project)
    assert {graph.rel_path(m) for m in graph.closure("pipelines.export")} == {
        "pipelines/__init__.py", "pipelines/export.py", "sftops/__init__.py", "sftops/exceptions.py",
        "sftops/export/__init__.py", "sftops/export/run.py", "sftops/modeling/__init__.py",
        "sftops/modeling/_load.py", "sftops/evaluation/__init__.py", "sftops/evaluation/metrics.py",
    }


def test_a_missing_dep_is_named_with_its_stage(small_project: Path) -> None:
    graph = ImportGraph(small_project)
    stages = {"export": {"cmd": "python -m pipelines.export --params params.yaml",
                         "deps": ["pipelines", "sftops/__init__.py", "sftops/exceptions.py", "sftops/export/",
                                  "sftops/evaluation", "sftops/unused", "models/model"]}}
    assert stage_code_gaps(graph, stages) == {
        "export": ["sftops/modeling/__init__.py", "sftops/modeling/_load.py"]}
    assert stale_code_deps(graph, stages) == {"export": ["sftops/unused"]}
    assert suggested_code_deps(graph, "pipelines.export") == [
        "pipelines/__init__.py", "pipelines/export.py", "sftops/__init__.py", "sftops/evaluation",
        "sftops/exceptions.py", "sftops/export", "sftops/modeling"]


def test_install_names_map_onto_source_folders(small_project: Path) -> None:
    (small_project / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\nsftops_pipelines = "pipelines"\n'
    )
    graph = ImportGraph(small_project)
    assert graph.closure("sftops_pipelines.export") == graph.closure("pipelines.export")
