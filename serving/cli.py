"""`sftops serve --model NAME[@ALIAS|/VERSION]|models:/... [--host H] [--port P] [--params params.yaml]`."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sftops.cli import run_guarded, stage_parser

COMMAND_HELP = {"serve": "Serve a registered model over HTTP with ONNX Runtime"}  # for `sftops --help`

log = logging.getLogger(__name__)


def serve(argv: Sequence[str]) -> None:
    """Load the model (failing fast with a clear message), then run uvicorn until stopped."""
    parser = stage_parser("serve", "Serve a registered model over HTTP with ONNX Runtime.")
    parser.add_argument("--model", help="NAME[@ALIAS|/VERSION] or models:/... in the registry (MLFLOW_REGISTRY_URI "
                        "when set, else the tracking URI), or a local bundle folder such as "
                        "models/onnx (default: serve.model, else registry.model_name@serve.alias)")
    parser.add_argument("--host", help="bind address (default: serve.host)")
    parser.add_argument("--port", type=int, help="port (default: serve.port)")
    args = parser.parse_args(argv)
    # the server logs to files and journals: MLflow's download progress bars would fill them with \r-lines
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    import uvicorn

    from sftops.config import load_params
    from sftops.dburl import resolve
    from sftops.feedback import FeedbackStore
    from sftops.registry import ModelRef
    from sftops.tracking import resolve_tracking_uri

    from .app import create_app
    from .model_store import ModelStore, limit_registry_retries
    from .settings import load_settings

    params = load_params(args.params)
    params_file = Path(args.params).resolve()
    project_dir = params_file.parent  # where `sftops retrain` runs and finds the feedback and drift status
    overrides = {k: v for k, v in {"model": args.model, "host": args.host, "port": args.port}.items() if v is not None}
    settings = load_settings(params.serve, **overrides)
    spec = settings.model or params.registry.model_name
    device, variant, threads, aggregation = settings.device, settings.variant, settings.session_threads(), settings.aggregation
    if Path(spec).is_dir():
        store = ModelStore.from_folder(spec, device=device, variant=variant, intra_op_threads=threads, aggregation=aggregation)
    else:
        limit_registry_retries(settings.registry_timeout_s)
        store = ModelStore(
            ModelRef.parse(spec, default_alias=settings.alias), tracking_uri=resolve_tracking_uri(params.tracking),
            cache_dir=settings.cache_dir, device=device, variant=variant, intra_op_threads=threads, aggregation=aggregation,
        )
    ref = store.ref
    loaded = store.load_initial()
    log.info("model %s version %s ready (%s, %s on %s)", ref, loaded.info.version, loaded.runtime.task, loaded.runtime.variant,
             loaded.runtime.provider)
    if store.degraded:
        log.warning("DEGRADED: %s", store.degraded)
    feedback = FeedbackStore(resolve(settings.expanded_feedback_db(), project_dir))
    app = create_app(settings, store, feedback, drift_config=params.drift, project_dir=project_dir, params_file=params_file)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False,
                timeout_graceful_shutdown=int(settings.drain_timeout_s))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_guarded("serve", lambda: serve(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
