"""What a person sees in the terminal: one progress bar per long step (with an ETA), short log lines, quiet libraries.

On a terminal the bars are tqdm's; elsewhere (a CI log, `dvc repro > log`) tqdm would write carriage-return
frames, so a bar becomes a few plain lines instead (start, every 10 %, end), each with the elapsed time and ETA.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# libraries that log their per-call chatter at INFO (study created, trial finished, run links, DB migrations):
# shown from WARNING up. Child loggers where the library resets its own root logger's level on import (optuna).
_QUIET = ("optuna.study", "optuna.storages", "optuna.trial", "optuna.samplers", "optuna.pruners", "mlflow", "alembic",
          "urllib3", "httpx", "httpcore", "filelock", "fsspec", "datasets", "huggingface_hub", "matplotlib", "PIL",
          "git", "onnxruntime", "torch", "numexpr")


class ProgressBar(Protocol):
    """A bar advanced by hand (for steps that end in a callback, such as Optuna trials)."""

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by `n`; `postfix` values are shown after the bar (e.g. best=0.61)."""


def progress(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate `items` under one progress bar on stderr, with an ETA (see the module docstring)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar(total, desc=desc, unit=unit) as bar:
        for item in items:
            yield item
            bar.update()


@contextmanager
def progress_bar(total: int | None, *, desc: str, unit: str = "it") -> Iterator[ProgressBar]:
    """One progress bar of `total` steps (None: unknown), advanced with `.update()`; removed when done."""
    if sys.stderr.isatty():
        from tqdm.auto import tqdm  # type: ignore[import-untyped]

        with tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr) as bar:
            yield _TqdmBar(bar)
    else:
        yield _LineBar(total, desc, unit)


class _TqdmBar:
    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def update(self, n: int = 1, **postfix: Any) -> None:
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(n)


class _LineBar:
    """A bar as plain lines: at each tenth of `total` (every 10 steps when the total is unknown)."""

    def __init__(self, total: int | None, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done, self.start, self._next = 0, time.monotonic(), 1

    def update(self, n: int = 1, **postfix: Any) -> None:
        self.done += n
        if self.done < self._next and self.done != self.total:
            return
        step = max(1, (self.total or 100) // 10)
        self._next = (self.done // step + 1) * step
        elapsed = time.monotonic() - self.start
        line = f"{self.desc}: {self.done}" + (f"/{self.total} {self.unit}" if self.total else f" {self.unit}")
        line += f" [{_clock(elapsed)}"
        if self.total and self.done < self.total:
            line += f" < ETA {_clock(elapsed / self.done * (self.total - self.done))}"
        line += "]" + "".join(f" {k}={_short(v)}" for k, v in postfix.items())
        print(line, file=sys.stderr, flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# our packages, under their repo and their installed names (serving/ installs as sftops_serving)
_OWN_LOGGERS = ("sftops", "sftops_serving", "serving", "sftops_pipelines", "pipelines")


def setup_console() -> None:
    """Once per stage process: our own log lines short and at INFO, library chatter quiet, repeats collapsed.

    Python warnings go through logging too, so a warning repeated per trial shows once. Idempotent;
    `SFTOPS_LOG_LEVEL=INFO` (or DEBUG) shows every library's lines at that level."""
    root = logging.getLogger()
    if not any(getattr(h, "_sftops", False) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(_Formatter())
        handler.addFilter(_Once())
        handler._sftops = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.captureWarnings(True)
    level = os.environ.get("SFTOPS_LOG_LEVEL", "").upper()
    if level:
        root.setLevel(level)
    for own in _OWN_LOGGERS:  # libraries stay at the root's WARNING
        logging.getLogger(own).setLevel(level or logging.INFO)
    if not level:
        quiet_libraries()


def quiet_libraries() -> None:
    """Libraries' per-call INFO lines (Optuna trials, MLflow run links, DB migrations) hidden; their warnings kept."""
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is imported
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # read per download: 3 bars per register
    # transformers' per-load bars ("Loading weights", "Writing model shards": one leftover line per trial) follow the
    # Hub's switch, read on import; HF_HUB_DISABLE_PROGRESS_BARS=0 brings them (and download bars) back
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # Optuna's ExperimentalWarning for the heartbeat/retry and plot features the tune stage uses on purpose
    warnings.filterwarnings("ignore", message=r".* is experimental \(supported from v|.* is an experimental feature")
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (as logging's last-resort handler does), never a stale one."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _Formatter(logging.Formatter):
    """`HH:MM:SS message` for our INFO lines; level and logger name for warnings and anything from a library."""

    _ours = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    _other = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        ours = record.levelno == logging.INFO and (record.name == "sftops" or record.name.startswith("sftops."))
        return (self._ours if ours else self._other).format(record)


class _Once(logging.Filter):
    """Lets each distinct library warning through once per process (a per-trial warning is shown on the first trial)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("sftops") or record.levelno >= logging.ERROR:
            return True
        key = (record.name, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
