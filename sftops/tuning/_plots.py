"""Optuna's plots as PNG files (matplotlib backend): history, parameter importances, intermediate values."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

log = logging.getLogger(__name__)


def save_study_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """Write the plots that the study has enough trials for; skip (and log) the others."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    folder.mkdir(parents=True, exist_ok=True)
    plots: dict[str, Callable[[optuna.Study], Any]] = {
        "optimization_history": ovm.plot_optimization_history,
        "param_importances": ovm.plot_param_importances,
        "intermediate_values": ovm.plot_intermediate_values,
    }
    written = []
    for name, plot in plots.items():
        try:
            with warnings.catch_warnings():  # few trials: importances come out equal, as the plot then shows
                warnings.filterwarnings("ignore", message="The number of trials is too small to compute importances")
                axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            log.info("skipped the %s plot: %s", name, exc)
            continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        path = folder / f"{name}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
