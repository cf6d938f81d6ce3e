"""The first-party import graph of this project, read from source with `ast` (nothing is imported).

Tests use it to check dvc.yaml's code deps, the import rules between packages and the declared
dependencies. Every `import` counts, at module level or inside a function, and so does
`importlib.import_module("<constant>")`; importing `a.b.c` also runs `a` and `a.b`.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .project import PROJECT_ROOT

FIRST_PARTY = ("sftops", "pipelines", "serving")


@dataclass(frozen=True)
class Import:
    """One import statement (or import_module call) in a first-party file, with the module name resolved."""

    importer: str  # the importing module, e.g. "sftops.training._stage"
    target: str  # absolute dotted name, e.g. "sftops.tracking._runs" or "numpy.linalg"
    names: tuple[str, ...]  # for `from target import a, b`: ("a", "b"); else ()
    lineno: int
    by_string: bool = False  # importlib.import_module("...") rather than an import statement


def _is_import_module_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


class ImportGraph:
    """Modules of the first-party packages under `root` and what each imports."""

    def __init__(self, root: Path = PROJECT_ROOT, packages: Iterable[str] = FIRST_PARTY) -> None:
        self.root = root
        self.packages = tuple(packages)
        self.aliases = self._install_aliases()

    def _install_aliases(self) -> dict[str, str]:
        """Install names mapped onto source folders (pyproject's [tool.setuptools.package-dir]), e.g. sftops_serving -> serving."""
        pyproject = self.root / "pyproject.toml"
        if not pyproject.is_file():
            return {}
        setuptools = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("setuptools", {})
        mapping = setuptools.get("package-dir") or {}
        return {name: folder.strip("/").replace("/", ".") for name, folder in mapping.items()
                if name and folder.strip("/").replace("/", ".") in self.packages and name != folder}

    def canonical(self, name: str) -> str:
        """A dotted name with an install alias replaced by the source package name."""
        head, _, rest = name.partition(".")
        head = self.aliases.get(head, head)
        return f"{head}.{rest}" if rest else head

    @cached_property
    def modules(self) -> dict[str, Path]:
        """Every first-party module name -> its file (a package's name -> its __init__.py)."""
        found: dict[str, Path] = {}
        for package in self.packages:
            folder = self.root / package
            for path in sorted(folder.rglob("*.py")):
                rel = path.relative_to(self.root).with_suffix("")
                if "__pycache__" in rel.parts:
                    continue
                parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
                found[".".join(parts)] = path
        return found

    def is_package(self, module: str) -> bool:
        return self.modules[module].name == "__init__.py"

    def rel_path(self, module: str) -> str:
        """The module's file relative to the project root, with forward slashes."""
        return self.modules[module].relative_to(self.root).as_posix()

    @cached_property
    def _imports(self) -> dict[str, tuple[Import, ...]]:
        return {module: tuple(self._parse(module)) for module in self.modules}

    def imports(self, module: str) -> tuple[Import, ...]:
        """Every import in `module`'s source (first- and third-party), in order."""
        return self._imports[module]

    def _parse(self, module: str) -> Iterator[Import]:
        tree = ast.parse(self.modules[module].read_text(encoding="utf-8"), filename=str(self.modules[module]))
        package = self.is_package(module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, self.canonical(alias.name), (), node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    target = _resolve_relative(module, package, node.level, node.module)
                else:
                    target = self.canonical(node.module or "")
                yield Import(module, target, tuple(a.name for a in node.names), node.lineno)
            elif isinstance(node, ast.Call) and _is_import_module_call(node) and node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    continue
                name = first.value
                if name.startswith("."):  # import_module(".x", package=...): relative to this module's package
                    level = len(name) - len(name.lstrip("."))
                    name = _resolve_relative(module, package, level, name.lstrip(".") or None)
                yield Import(module, self.canonical(name), (), node.lineno, by_string=True)

    def first_party_targets(self, imp: Import) -> set[str]:
        """The first-party modules an import runs: the target, its parent packages and any submodules named."""
        if imp.target.split(".")[0] not in self.packages:
            return set()
        named = [f"{imp.target}.{n}" for n in imp.names]
        run = {m for m in (imp.target, *named) if m in self.modules}
        for module in list(run):
            parts = module.split(".")
            run.update(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in self.modules)
        return run

    def closure(self, entry: str) -> set[str]:
        """Every first-party module that running `entry` (as `python -m entry`) can import."""
        entry = self.canonical(entry)
        if entry not in self.modules:
            raise KeyError(f"{entry} is not a first-party module under {self.root}")
        parts = entry.split(".")
        todo = [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in self.modules]
        if self.is_package(entry) and f"{entry}.__main__" in self.modules:
            todo.append(f"{entry}.__main__")
        seen: set[str] = set()
        while todo:
            module = todo.pop()
            if module in seen:
                continue
            seen.add(module)
            for imp in self.imports(module):
                todo.extend(self.first_party_targets(imp) - seen)
        return seen

    def third_party_tops(self) -> dict[str, list[Import]]:
        """Top-level names of non-first-party, non-stdlib imports -> where they are imported."""
        out: dict[str, list[Import]] = {}
        for module in self.modules:
            for imp in self.imports(module):
                top = imp.target.split(".")[0]
                if not top or top in self.packages or top in sys.stdlib_module_names or top == "__future__":
                    continue
                out.setdefault(top, []).append(imp)
        return out
