"""The record of a training run: one row per epoch, the best epoch, and a curve plot."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingHistory", "plot_history"]


@dataclass
class TrainingHistory:
    """What :meth:`Trainer.fit <fracturenet.training.Trainer.fit>` returns.

    Attributes:
        rows: One dict per completed epoch: ``epoch`` (1-based), ``phase`` (``"head"`` or
            ``"fine_tune"``), the Keras logs (``loss``, ``accuracy``, ``val_loss``, ...) and
            ``time_s``.
        monitor: The metric used to pick the best epoch.
        best_epoch: 1-based epoch whose weights were restored at the end, or ``None``.
        best_value: The monitored value at ``best_epoch``.
        feature_cache: How phase 1 ran: ``"memory"``, ``"disk"`` or ``"off"``.
        run_dir: The run directory, when there is one.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    monitor: str = "val_accuracy"
    best_epoch: int | None = None
    best_value: float | None = None
    feature_cache: str = "off"
    run_dir: str | None = None

    @property
    def history(self) -> dict[str, list[Any]]:
        """Keras-style ``{metric: [value per epoch]}``."""
        out: dict[str, list[Any]] = {}
        for r in self.rows:
            for k, v in r.items():
                out.setdefault(k, []).append(v)
        return out

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "rows": self.rows,
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "feature_cache": self.feature_cache,
            "run_dir": self.run_dir,
        }


def plot_history(history: TrainingHistory, path: str | os.PathLike[str]) -> str:
    """Saves loss and accuracy curves (train and validation, phases shaded) as a PNG.

    Args:
        history: The training history.
        path: Output PNG path (replaced atomically if it exists; it belongs to the run).

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    from fracturenet.training.rundir import atomic_write

    h = history.history
    epochs = h.get("epoch", [])
    fig = Figure(figsize=(9, 3.6), dpi=100)
    for i, metric in enumerate(("loss", "accuracy")):
        ax = fig.add_subplot(1, 2, i + 1)
        for key, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            if key in h:
                ax.plot(epochs, h[key], style, ms=3, label=key)
        phases = h.get("phase", [])
        if "fine_tune" in phases:
            start = epochs[phases.index("fine_tune")]
            ax.axvspan(start - 0.5, epochs[-1] + 0.5, color="0.9", label="fine-tune")
        if history.best_epoch:
            ax.axvline(history.best_epoch, color="tab:green", lw=0.8, label="best")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    return str(path)
