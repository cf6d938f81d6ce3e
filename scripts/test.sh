#!/usr/bin/env bash
# README command 2 (and CI's): set up, including the services the tests start, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PATH="$PWD/.venv/bin:$PATH"
exec python -m pytest -q --durations=20 "$@"
