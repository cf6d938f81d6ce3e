"""The inference server: `sftops serve` (installed as sftops_serving)."""
