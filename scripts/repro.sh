#!/usr/bin/env bash
# README command 1: set up, then run the whole pipeline on the embedded defaults (dvc repro).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PATH="$PWD/.venv/bin:$PATH"
dvc repro "$@"
python - <<'PY'
import json, pathlib
ev = pathlib.Path("metrics/eval.json")
if ev.is_file():
    d = json.loads(ev.read_text())
    m = d.get("primary_metric", "macro_f1")
    print(f"test {m}: " + ", ".join(f"{k} {d[k][m]:.3f}" for k in ("fine_tuned", "crf", "tfidf_logreg", "untuned") if k in d))
reg = pathlib.Path("models/registration.json")
if reg.is_file():
    r = json.loads(reg.read_text())
    print(f"registry: {r['name']} version {r['version']} {r['decision']} ({r['reason']}); champion = version {r['champion']}")
print("more: `dvc metrics show`, `dvc plots show`, `mlflow ui --backend-store-uri sqlite:///mlflow.db`")
PY
