#!/usr/bin/env bash
# Write bench/_gpu_assets (git-ignored, ~50 MB) for bench/gpu.sh: MiniLM saved in fp16 (45 MB; the device
# tool carries at most 64 MiB), its tokenizer, and the full profile's prepared tweets (train and test
# splits, JSON Lines) plus meta.json (max_length, batch size, optimiser settings from params-full.yaml).
# Runs here with the project's .venv: the device image lacks sftops' prepare dependencies and the
# packages that ship the model and the corpus. Then, through the device tool:
#   run(command="bash bench/gpu.sh", carry=["bench/_gpu_assets"], timeout_s=500)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
py=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$py" bench/gpu_assets.py bench/_gpu_assets --params "${PARAMS:-params-full.yaml}"
du -sh bench/_gpu_assets
git check-ignore -q bench/_gpu_assets || echo "warning: bench/_gpu_assets is not git-ignored; do not commit it" >&2
