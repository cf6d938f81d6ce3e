#!/usr/bin/env bash
# Set up (or refresh) the project's virtualenv in .venv. Idempotent and quick when nothing changed.
#   bash scripts/setup.sh          runtime + dev dependencies
#   bash scripts/setup.sh --test   also the services the tests start (PostgreSQL server binaries)
# PyTorch: on a machine with an NVIDIA GPU (nvidia-smi works) pip's default CUDA build is
# installed; otherwise the CPU build of torch 2.13.0 (taken from local disk where the machine
# provides it). SFTOPS_TORCH_INDEX=<url> installs torch from another wheel index (e.g. PyTorch's
# CPU-only index), SFTOPS_TORCH_SPEC overrides the requirement.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
VPY=.venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

stamp=.venv/.sftops-setup
digest=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat "$stamp")" != "$digest" ]]; then
  if ! $VPY -c "import torch" 2>/dev/null; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
      spec=${SFTOPS_TORCH_SPEC:-"torch>=2.4,<2.15"}
    else
      spec=${SFTOPS_TORCH_SPEC:-"torch==2.13.0"}
    fi
    echo "[setup] installing $spec"
    if [[ -n "${SFTOPS_TORCH_INDEX:-}" ]]; then
      $VPY -m pip install -q "$spec" --index-url "$SFTOPS_TORCH_INDEX"
    else
      $VPY -m pip install -q "$spec"
    fi
  fi
  echo "[setup] installing sftops and its dependencies"
  $VPY -m pip install -q -e ".[dev]" 2>&1 | grep -v "is ignored: it is neither" || true
  $VPY -c "import sftops, torch, transformers, mlflow, optuna, onnxruntime" \
    || { echo "[setup] install failed: see pip's messages above" >&2; exit 1; }
  echo "$digest" > "$stamp"
fi

if [[ $want_test == 1 ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  echo "[setup] installing PostgreSQL (Debian package) for the distributed-tuning tests"
  SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  # Debian starts a cluster on install; the tests run their own on a free port.
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
echo "[setup] ready: $(.venv/bin/python -c 'import torch; print("torch", torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"
