"""Figures as inline images: draw with sftops.evaluation's plot functions, embed the PNG as a base64 data URI."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from pathlib import Path


def data_uri(draw: Callable[[Path], Path]) -> str:
    """Call `draw(path)` (it saves a PNG at `path`) and return the PNG as a `data:image/png;base64,...` URI."""
    with tempfile.TemporaryDirectory(prefix="sftops-figure-") as tmp:
        path = draw(Path(tmp) / "figure.png")
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
