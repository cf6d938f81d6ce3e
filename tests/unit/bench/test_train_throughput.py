"""bench/train_throughput.py: one whole run on a tiny BERT prints every lever's row and the ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

from sftops.testing.project import PROJECT_ROOT
from sftops.training._precision import cpu_has_bf16


def test_a_whole_run_prints_every_lever_and_its_ratio(tmp_path: Path, tiny_bert_dir: Path, prepared_dir: Path,
                                                     capsys, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("train_throughput", PROJECT_ROOT / "bench" / "train_throughput.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_throughput", bench)  # its dataclass looks its module up there
    spec.loader.exec_module(bench)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"model": {"base": str(tiny_bert_dir)}}))
    bench.main(["--params", str(params), "--prepared", str(prepared_dir), "--train", "32", "--validation", "16",
                "--test", "16", "--epochs", "1", "--max-length", "24", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert "32 train / 16 validation / 16 test tweets" in out
    assert "plain HF (pad to max_len, fp32)" in out and "+ dynamic pad, grouped (fp32)" in out
    assert ("+ bf16 autocast" in out) if cpu_has_bf16() else ("skipped '+ bf16 autocast'" in out)
    assert "time to val macro-F1" in out
