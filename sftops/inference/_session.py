"""ONNX Runtime sessions, configured one way for every caller (server, promotion gate, export evaluation)."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from ..bundle import Device
from ..exceptions import InferenceError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def make_session(path: str | Path, device: Device = "cpu", intra_op_threads: int = 0) -> ort.InferenceSession:
    """An InferenceSession on `device`; an unloadable file, or a CUDA session that fell back to CPU, is an InferenceError."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: ORT's warnings (e.g. node placement) are noise in logs
    if intra_op_threads:
        options.intra_op_num_threads = intra_op_threads
    # ORT's pool threads busy-wait between runs by default; in a server that steals the cores
    # the event loop needs to parse requests and serialise answers (measured in bench/serve_load.py)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [CUDA, CPU] if device == "cuda" else [CPU]
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types for bad files and providers
        raise InferenceError(f"{path}: ONNX Runtime cannot load this model ({str(exc).strip()[:300]}); re-export it") from None
    if device == "cuda" and session.get_providers()[0] != CUDA:
        raise InferenceError(f"{path}: CUDA execution provider did not start; serve with device=cpu")
    return session
