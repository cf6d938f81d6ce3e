"""The batcher and HTTP tests (classification and NER) run without torch: neither they, their fixtures nor the code they test import it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
HEAVY = ("torch", "transformers")

# pytest in-process in a fresh interpreter, then which of the heavy modules that run left in sys.modules
_RUN = """
import sys, pytest
rc = pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]])
print("HEAVY", ",".join(m for m in {heavy!r} if m in sys.modules))
sys.exit(rc)
"""


def test_the_batcher_and_http_tests_never_import_torch() -> None:
    files = [str(HERE / "test_batcher.py"), str(HERE / "test_app.py"), str(HERE / "test_ner.py")]
    out = subprocess.run([sys.executable, "-c", _RUN.format(heavy=HEAVY), *files], cwd=ROOT, env=os.environ.copy(),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode in (0, 1), out.stdout[-3000:] + out.stderr[-3000:]  # 1: a test failed, reported on its own
    assert " passed" in out.stdout, out.stdout[-3000:]
    heavy = next(line for line in out.stdout.splitlines() if line.startswith("HEAVY")).removeprefix("HEAVY").strip()
    assert heavy == "", f"the serving tests imported {heavy}"
