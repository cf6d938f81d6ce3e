"""A self-contained HTML report for a registered model version."""
