"""What importing a module drags in, seen from a fresh interpreter (the current one has imported everything already)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def loaded_by_import(modules: Sequence[str], watched: Sequence[str]) -> list[str]:
    """Which of `watched` are in sys.modules after a fresh Python imports `modules`, sorted (e.g. torch for a server)."""
    code = f"import sys, {', '.join(modules)}; print(','.join(sorted(m for m in {tuple(watched)!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [name for name in out.stdout.strip().split(",") if name]
