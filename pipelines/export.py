"""`sftops export`: models/model -> models/onnx/ (ONNX + parity gate + variants + drift reference)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.cli import run_guarded, stage_parser


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("export", "export the model to ONNX, check parity, build variants").parse_args(argv)

    def run() -> None:
        from sftops.atomic import write_json
        from sftops.config import load_params
        from sftops.data.prepared import load_prepared
        from sftops.export import export_bundle, log_export
        from sftops.paths import METRICS_DIR, MODEL_DIR, ONNX_DIR
        from sftops.tracking import connect

        params = load_params(args.params)
        connect(params.tracking)  # an unreachable tracking server fails before the export work
        report = export_bundle(MODEL_DIR, load_prepared(), params.export, max_length=params.model.max_length, target=ONNX_DIR)
        run_id = log_export(report, params)
        write_json(METRICS_DIR / "export.json", {**report.metrics(), "mlflow_run_id": run_id})

    return run_guarded("export", run)


if __name__ == "__main__":
    sys.exit(main())
