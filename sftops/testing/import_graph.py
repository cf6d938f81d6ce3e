"""The first-party import graph of this project, read from source with `ast` (nothing is imported).

Tests use it to check dvc.yaml's code deps, the import rules between packages and the declared
dependencies. Every `import` counts, at module level or inside a function, and so does
`importlib.import_module("<constant>")`; importing `a.b.c` also runs `a` and `a.b`.

`closure` tells a module that is only *loaded* (its module-level code runs, e.g. a package `__init__`
re-exporting all its submodules) from one that is *used* (its functions may be called, so the imports
inside them run too). A module is used when it is the entry, or when a used module imports a name
defined in it (followed through re-exports), or when a loaded module's own top-level code refers to
such a name. So `from sftops.stages import prepare` follows the imports inside `prepare`'s module,
not those inside every stage that `sftops/stages/__init__.py` happens to import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .project import PROJECT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FIRST_PARTY = ("sftops", "pipelines", "serving")


@dataclass(frozen=True)
class Import:
    """One import statement (or import_module call) in a first-party file, with the module name resolved."""

    importer: str  # the importing module, e.g. "sftops.training._stage"
    target: str  # absolute dotted name, e.g. "sftops.tracking._runs" or "numpy.linalg"
    names: tuple[str, ...]  # for `from target import a, b`: ("a", "b"); else ()
    lineno: int
    by_string: bool = False  # importlib.import_module("...") rather than an import statement
    top_level: bool = True  # runs when the module is imported (not inside a function)
    bound: tuple[str, ...] = ()  # the local names it binds, in the order of `names` (`import a.b` binds "a")


_FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _is_import_module_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name in ("import_module", "__import__")


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _walk(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under `node` that can run, with whether it sits inside a function body (decorators and defaults do not).

    The body of `if TYPE_CHECKING:` never runs, so it is left out."""
    skipped = {id(n) for n in _body(node)} if _is_type_checking(node) else set()
    body = {id(n) for n in _body(node)} if isinstance(node, _FUNCTION) else set()
    for child in ast.iter_child_nodes(node):
        if id(child) in skipped:
            continue
        inside = in_function or id(child) in body
        yield child, inside
        yield from _walk(child, inside)


def _body(node: ast.AST) -> list[ast.AST]:
    body = getattr(node, "body", [])
    return body if isinstance(body, list) else [body]  # a Lambda's body is one expression


def _top_level_names(tree: ast.Module) -> set[str]:
    """Names the module's own top-level code reads when it runs (not inside functions, not in annotations)."""
    annotations: set[int] = set()
    for node in ast.walk(tree):
        for ann in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if ann is not None:
                annotations.update(id(n) for n in ast.walk(ann))
    return {node.id for node, inside in _walk(tree)
            if isinstance(node, ast.Name) and not inside and id(node) not in annotations}


def _defined_names(tree: ast.Module) -> set[str]:
    """Names the module defines itself at top level (functions, classes, assignments)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


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
            for path in sorted((self.root / package).rglob("*.py")):
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
    def _trees(self) -> dict[str, ast.Module]:
        return {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in self.modules.items()}

    @cached_property
    def _imports(self) -> dict[str, tuple[Import, ...]]:
        return {module: tuple(self._parse(module)) for module in self.modules}

    def imports(self, module: str) -> tuple[Import, ...]:
        """Every import in `module`'s source (first- and third-party), in order of the walk."""
        return self._imports[module]

    def _parse(self, module: str) -> Iterator[Import]:
        package = self.is_package(module)
        for node, inside in _walk(self._trees[module]):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    yield Import(module, self.canonical(alias.name), (), node.lineno, top_level=not inside, bound=(bound,))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    target = _resolve_relative(module, package, node.level, node.module)
                else:
                    target = self.canonical(node.module or "")
                yield Import(module, target, tuple(a.name for a in node.names), node.lineno, top_level=not inside,
                             bound=tuple(a.asname or a.name for a in node.names))
            elif isinstance(node, ast.Call) and _is_import_module_call(node) and node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    continue
                name = first.value
                if name.startswith("."):  # import_module(".x", package=...): relative to this module's package
                    level = len(name) - len(name.lstrip("."))
                    name = _resolve_relative(module, package, level, name.lstrip(".") or None)
                yield Import(module, self.canonical(name), (), node.lineno, by_string=True, top_level=not inside)

    def _with_parents(self, modules: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for module in modules:
            parts = module.split(".")
            out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in self.modules)
        return out

    def first_party_targets(self, imp: Import) -> set[str]:
        """The first-party modules an import runs: the target, its parent packages and any submodules named."""
        if imp.target.split(".")[0] not in self.packages:
            return set()
        return self._with_parents(m for m in (imp.target, *(f"{imp.target}.{n}" for n in imp.names)) if m in self.modules)

    def _definers(self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> set[str]:
        """The modules that define `name` as `module` exposes it (following re-exports); `module` itself when unsure."""
        if (module, name) in seen:
            return {module}
        seen = seen | {(module, name)}
        if f"{module}.{name}" in self.modules:
            return {f"{module}.{name}"}
        if name in _defined_names(self._trees[module]):
            return {module}
        for imp in self.imports(module):
            if not imp.top_level or name not in imp.bound:
                continue
            if not imp.names:  # `import x.y as name`
                return {imp.target} if imp.target in self.modules else set()
            original = imp.names[imp.bound.index(name)]
            if imp.target.split(".")[0] not in self.packages or imp.target not in self.modules:
                return set()
            return self._definers(imp.target, original, seen)
        return {module}

    def _used_by(self, imp: Import, name_filter: set[str] | None = None) -> set[str]:
        """The modules whose functions an import makes callable: the names it binds, followed to where they are defined."""
        if imp.target.split(".")[0] not in self.packages:
            return set()
        if not imp.names:  # a plain import or import_module: the whole module is callable
            return {imp.target} if imp.target in self.modules else set()
        used: set[str] = set()
        for original, bound in zip(imp.names, imp.bound):
            if name_filter is not None and bound not in name_filter:
                continue
            if original == "*" or imp.target not in self.modules:
                used.update({imp.target} & set(self.modules))
            else:
                used.update(self._definers(imp.target, original))
        return used

    def closure(self, entry: str) -> set[str]:
        """Every first-party module that running `entry` (as `python -m entry`) can import (see the module docstring)."""
        entry = self.canonical(entry)
        if entry not in self.modules:
            raise KeyError(f"{entry} is not a first-party module under {self.root}")
        if self.is_package(entry) and f"{entry}.__main__" in self.modules:
            entry = f"{entry}.__main__"
        loaded: set[str] = set()
        used: set[str] = set()
        todo: list[tuple[str, bool]] = [(m, False) for m in self._with_parents([entry])] + [(entry, True)]
        while todo:
            module, use = todo.pop()
            if module in (used if use else loaded):
                continue
            (used if use else loaded).add(module)
            loaded.add(module)
            top_names = _top_level_names(self._trees[module])
            for imp in self.imports(module):
                if not (imp.top_level or use):
                    continue
                todo.extend((m, False) for m in self.first_party_targets(imp) - loaded)
                callable_here = self._used_by(imp, None if use else top_names)
                todo.extend((m, True) for m in callable_here - used)
        return loaded

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
