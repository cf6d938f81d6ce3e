"""DVC stage `register`: log and register the model, run the promotion gate, write models/registration.json."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sftops.atomic import write_json
from sftops.cli import run_guarded, stage_parser
from sftops.config import load_params
from sftops.paths import REGISTRATION_FILE


def main(argv: Sequence[str] | None = None) -> int:
    args = stage_parser("register", __doc__ or "").parse_args(argv)

    def run() -> None:
        from sftops.registry import register_model

        registration = register_model(load_params(args.params))
        write_json(REGISTRATION_FILE, registration.model_dump(mode="json"))
        print(f"{registration.name} version {registration.version}: {registration.decision} ({registration.reason})")

    return run_guarded("register", run)


if __name__ == "__main__":
    sys.exit(main())
