"""The commands of the DVC stages: `python -m pipelines.<stage> --params params.yaml` (installed as sftops_pipelines)."""
