"""sftops: supervised fine-tuning of pretrained transformers, wired into DVC, MLflow, Optuna and ONNX Runtime."""

__version__ = "0.1.0"
