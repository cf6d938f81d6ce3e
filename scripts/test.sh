#!/usr/bin/env bash
# README command 2 (and CI's): set up, including the services the tests start, then lint, type-check and run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PATH="$PWD/.venv/bin:$PATH"
# Lint and type errors fail the run before any test starts (rules: [tool.ruff] and [tool.mypy] in pyproject.toml).
echo "[test] ruff check"
ruff check sftops serving pipelines tests bench
echo "[test] mypy (sftops, serving)"
mypy
exec python -m pytest -q --durations=20 "$@"
