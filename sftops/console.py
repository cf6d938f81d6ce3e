"""What a person sees in the terminal: one progress bar per long step, with an ETA."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate `items` under a tqdm bar on stderr (ETA included); a plain iteration when stderr is no terminal."""
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, unit=unit, disable=not sys.stderr.isatty(), leave=False,
                    dynamic_ncols=True)
