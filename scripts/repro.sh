#!/usr/bin/env bash
# README command 1: set up, then run the whole pipeline on the embedded defaults (dvc repro).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PATH="$PWD/.venv/bin:$PATH"
dvc repro "$@"
dvc metrics show
