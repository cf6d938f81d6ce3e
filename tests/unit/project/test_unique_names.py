"""One name, one type: no two classes (or type aliases) in sftops/ and serving/ share a name.

Two `ModelInfo`s (a trained folder's lineage vs the served version's registry facts) or two `Trigger`s
(a reason to retrain vs who made a champion decision) read alike in code and mean different things.
Read with `ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from sftops.testing.project import PROJECT_ROOT

_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]+")  # LIMIT, MODEL_INFO_FILE: constants, not types


def _type_names(tree: ast.Module) -> list[str]:
    """Top-level classes and type aliases (`Name = Literal[...]`, `Name: TypeAlias = ...`) of a module."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name) and t.id[:1].isupper() and not _CONSTANT.fullmatch(t.id)
                      and isinstance(node.value, (ast.Subscript, ast.BinOp, ast.Name, ast.Attribute))]
    return names


def defined_types(roots: tuple[str, ...] = ("sftops", "serving")) -> dict[str, list[str]]:
    """type name -> the modules defining it."""
    found: dict[str, list[str]] = defaultdict(list)
    for root in roots:
        for path in sorted((PROJECT_ROOT / root).rglob("*.py")):
            module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            for name in _type_names(ast.parse(path.read_text(encoding="utf-8"))):
                found[name].append(module)
    return found


def test_every_type_name_is_defined_once() -> None:
    clashes = {name: modules for name, modules in defined_types().items() if len(modules) > 1}
    assert not clashes, "give these types one definition, or names that say how they differ:\n  " + "\n  ".join(
        f"{name}: {', '.join(modules)}" for name, modules in sorted(clashes.items()))


def test_the_check_sees_classes_and_aliases() -> None:
    tree = ast.parse("class A: ...\nB = Literal['x', 'y']\nC: TypeAlias = int | None\nLIMIT = 3\nT = TypeVar('T')\n")
    assert _type_names(tree) == ["A", "B", "C"]
