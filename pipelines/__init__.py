"""The DVC stages ' commands: `python -m pipelines.<stage> --params params.yaml` (installed as sftops_pipelines)."""
