"""Model loading without transformers' per-load weight report: one line of our own instead, and real warnings kept.

transformers prints a "LOAD REPORT" table (and a "Loading weights" bar) on every `from_pretrained`; a fresh
classification head always shows up there as newly initialised, so each tuning trial repeated the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

_REPORT_LOGGER = "transformers.modeling_utils"  # where transformers.utils.loading_report logs the table


class _DropLoadReport(logging.Filter):
    """Drops the weight-loading report record only; any other record of the logger passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in str(record.msg)


@contextmanager
def quiet_weight_loading() -> Iterator[None]:
    """Inside: no transformers weight-loading report and no "Loading weights" bar; other warnings still show."""
    from transformers.utils import logging as hf_logging

    logger = logging.getLogger(_REPORT_LOGGER)
    drop = _DropLoadReport()
    bar_was_on = hf_logging.is_progress_bar_enabled()
    logger.addFilter(drop)
    if bar_was_on:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        logger.removeFilter(drop)
        if bar_was_on:
            hf_logging.enable_progress_bar()


def log_loading(model: Any, base: str, info: dict[str, Any]) -> None:
    """The load report in one line; a warning when weights of the base model itself (not the head) were missing."""
    prefix = getattr(model, "base_model_prefix", "") or "\0"
    missing = sorted(info.get("missing_keys") or [])
    in_base = [k for k in missing if k.startswith(prefix + ".")]
    unused = len(info.get("unexpected_keys") or [])
    resized = len(info.get("mismatched_keys") or [])
    if in_base:
        log.warning("%s: %d weight(s) of the base model were not in the checkpoint and start random (e.g. %s); "
                    "check model.base", base, len(in_base), in_base[0])
    log.info("loaded %s: %d new head weight(s), %d resized, %d checkpoint weight(s) unused",
             base, len(missing) - len(in_base), resized, unused)
