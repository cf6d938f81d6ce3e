"""A stable label map: the same label names always get the same ids."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import DataError


@dataclass(frozen=True)
class LabelMap:
    """Label names in id order; id i is `names[i]`."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise DataError(f"need at least 2 classes to train a classifier, found {list(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise DataError(f"label names must be unique, got {list(self.names)}")

    @classmethod
    def from_labels(cls, labels: Iterable[object], order: Sequence[str] | None = None) -> LabelMap:
        """Build from observed labels: the given `order`, or else sorted names (stable across runs)."""
        seen = sorted({str(label) for label in labels})
        if order is None:
            return cls(tuple(seen))
        unknown = sorted(set(seen) - set(order))
        if unknown:
            raise DataError(f"labels {unknown} are in the data but not in data.labels {list(order)}; add them or remove those rows")
        return cls(tuple(order))

    @property
    def label2id(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.names))

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, labels: Iterable[object]) -> list[int]:
        """Label names to ids; an unknown label is a DataError."""
        mapping = self.label2id
        try:
            return [mapping[str(label)] for label in labels]
        except KeyError as exc:
            raise DataError(f"label {exc.args[0]!r} is not in the label map {list(self.names)}") from None

    def to_json(self) -> dict[str, int]:
        return self.label2id

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, mapping: dict[str, int]) -> LabelMap:
        ids = sorted(mapping.values())
        if ids != list(range(len(ids))):
            raise DataError(f"label map ids must be 0..{len(ids) - 1}, got {ids}")
        return cls(tuple(sorted(mapping, key=mapping.__getitem__)))

    @classmethod
    def load(cls, path: str | Path) -> LabelMap:
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise DataError(f"{path}: label map not found; run `sftops prepare` first") from None
