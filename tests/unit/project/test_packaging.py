"""What `pip install sftops` puts in site-packages: sftops, sftops_pipelines, sftops_serving, and nothing generic."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

from sftops.testing.project import PROJECT_ROOT

ROOT = PROJECT_ROOT
INSTALL_NAMES = {"sftops": "sftops", "sftops_pipelines": "pipelines", "sftops_serving": "serving"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_installed_under_a_name_that_cannot_clash() -> None:
    config = _setuptools()
    assert {k: v for k, v in config["package-dir"].items()} == {"sftops_pipelines": "pipelines", "sftops_serving": "serving"}
    expected = set()
    for name, folder in INSTALL_NAMES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            expected.add(".".join((name, *parts)))
    assert set(config["packages"]) == expected  # a new package folder must be listed in pyproject.toml


def test_wheel_holds_only_the_three_install_names(tmp_path: Path) -> None:
    source = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    for folder in INSTALL_NAMES.values():
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("sftops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == set(INSTALL_NAMES)
    assert {"sftops_pipelines/train.py", "sftops_serving/cli.py", "sftops_serving/routes/__init__.py",
            "sftops/stages/__init__.py"} <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[sftops.commands]" in text and "train = sftops_pipelines.train:main" in text
    assert "serve = sftops_serving.cli:main" in text
