"""No URL password in what this process writes: every log record (message and traceback) passes `scrub`.

Installed once per process by the CLI entry (`sftops.cli.run_guarded`), so it covers our loggers and
those of MLflow, Optuna, SQLAlchemy and uvicorn alike, whatever handlers they use.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from .dburl import scrub

_MARK = "_sftops_redacts"


def _redacting(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # bad format args: leave it to the handler, which reports them
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            # formatters reuse exc_text when set; fill it, scrubbed, before any of them formats the exception
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    setattr(make_record, _MARK, True)
    return make_record


def install_log_redaction() -> None:
    """Make every LogRecord created from now on carry a scrubbed message and traceback (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, _MARK, False):
        logging.setLogRecordFactory(_redacting(factory))


def redacted_traceback(exc: BaseException) -> str:
    """The traceback Python would print for `exc`, with URL passwords hidden."""
    return scrub("".join(traceback.format_exception(exc)))
