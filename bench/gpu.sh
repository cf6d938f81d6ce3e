#!/usr/bin/env bash
# The GPU benchmark (issue 14, item 4), for a session lent the H200 machine. Prints one JSON summary and,
# when $OUT is set (the device tool sets it), writes it to $OUT/gpu.json after every step.
#
#   here, once:     bash bench/gpu_prepare_assets.sh          (writes the ignored folder bench/_gpu_assets, ~50 MB)
#   on the device:  bash bench/gpu.sh [ASSETS_DIR]            (run tool: carry ["bench/_gpu_assets"], timeout_s ~500)
#   dry run here:   bash bench/gpu.sh --dry-run   (or DRY=1)  (CPU, tiny random BERT, < 60 s, same JSON keys)
#
# The device image's python3 is used as it is: nothing is installed, sftops comes from this checkout
# (PYTHONPATH), and gpu_bench.py imports only numpy, torch, transformers, onnx and onnxruntime.
# PYTHON overrides the interpreter (the dry run defaults to the project's .venv when there is one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

dry=${DRY:-0}
assets=bench/_gpu_assets
for arg in "$@"; do
  case $arg in
    --dry-run) dry=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) assets=$arg ;;
  esac
done
out_args=()
if [[ -n "${OUT:-}" ]]; then out_args=(--out "$OUT/gpu.json"); fi

if [[ $dry == 1 ]]; then
  default_py=python3
  [[ -x .venv/bin/python ]] && default_py=.venv/bin/python
  py=${PYTHON:-$default_py}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # the same asset writer as the real run, with a tiny random BERT and a few hundred rows
  "$py" bench/gpu_assets.py "$tmp/assets" --params params-full.yaml --tiny --max-rows 300 >&2
  exec "$py" bench/gpu_bench.py --dry-run --assets "$tmp/assets" --budget-s 120 "${out_args[@]}"
fi

py=${PYTHON:-python3}
if [[ ! -f "$assets/meta.json" ]]; then
  echo "bench/gpu.sh: $assets/meta.json is missing: run 'bash bench/gpu_prepare_assets.sh' on the dev machine first," \
       "then call the run tool with carry [\"$assets\"]" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv >&2 || true
# 420 s of steps plus start-up stays under the 8 minutes the issue allows; timeout is the backstop
exec timeout 470 "$py" bench/gpu_bench.py --assets "$assets" --budget-s 420 "${out_args[@]}"
