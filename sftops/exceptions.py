"""Every error a user can cause, in one hierarchy.

SftopsError
 ├── ConfigError          bad params.yaml: unknown key, wrong type, impossible value
 ├── DataError            unreadable, empty, malformed or too-small dataset; missing column
 ├── ModelError           a base-model folder that is not a model, a bad checkpoint
 ├── TrackingError        MLflow tracking server unreachable or refusing
 ├── RegistryError        registry unreachable, no champion, missing artifact
 ├── ExportError          ONNX export or parity gate failed
 ├── InferenceError       a bundle's ONNX model or tokenizer cannot be loaded or run (sftops.inference)
 └── ServingError         the server cannot start (no model, no cache)

The CLI turns each into a one-line message and exit code 1; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class SftopsError(Exception):
    """Base of every error a user can cause; its message says what was wrong and what to do."""


class ConfigError(SftopsError):
    """params.yaml (or a CLI override) is invalid."""


class DataError(SftopsError):
    """The dataset cannot be read or used as asked."""


class ModelError(SftopsError):
    """A model folder or checkpoint cannot be used."""


class TrackingError(SftopsError):
    """The MLflow tracking server cannot be reached or refuses the request."""


class RegistryError(SftopsError):
    """The model registry cannot answer, or lacks what was asked for."""


class ExportError(SftopsError):
    """ONNX export, a variant, or its parity check failed."""


class InferenceError(SftopsError):
    """A serving bundle's ONNX model or tokenizer cannot be loaded or run; callers may re-raise it as their own kind."""


class ServingError(SftopsError):
    """The inference server cannot start or serve."""


__all__ = [
    "ConfigError",
    "DataError",
    "ExportError",
    "InferenceError",
    "ModelError",
    "RegistryError",
    "ServingError",
    "SftopsError",
    "TrackingError",
]
