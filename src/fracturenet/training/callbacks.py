"""Keras callback that records each epoch, checkpoints it, keeps the best weights and stops early."""

from __future__ import annotations

import time
from typing import Any

import keras

from fracturenet.training.checkpoint import save_checkpoint
from fracturenet.training.context import RunContext
from fracturenet.training.history import TrainingHistory

__all__ = ["EpochCallback"]


class EpochCallback(keras.callbacks.Callback):
    """Records history, checkpoints each epoch, keeps the best weights, stops early."""

    def __init__(
        self, context: RunContext, phase: str, history: TrainingHistory, patience: int | None
    ) -> None:
        super().__init__()
        self.context, self.phase, self.history_ = context, phase, history
        self.patience, self.wait = patience, 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        tr, h = self.context, self.history_
        row = {"epoch": epoch + 1, "phase": self.phase}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["time_s"] = round(time.perf_counter() - self.t0, 3)
        h.rows.append(row)
        value = row.get(h.monitor)
        minimise = h.monitor.endswith("loss")
        improved = value is not None and (
            h.best_value is None or (value < h.best_value if minimise else value > h.best_value)
        )
        if improved:
            h.best_epoch, h.best_value, self.wait = epoch + 1, float(value), 0
            if tr.run is None:
                tr.best_weights_in_memory = tr.model.get_weights()
        else:
            self.wait += 1
        if tr.run is not None:  # the best weights are published in the same record
            save_checkpoint(
                tr.run.checkpoints,
                tr.model,
                self.model.optimizer,
                {
                    "epoch": epoch + 1,
                    "phase": self.phase,
                    "history": h.rows,
                    "best_epoch": h.best_epoch,
                    "best_value": h.best_value,
                },
                best=improved,
                keep_all=tr.keep_checkpoints == "all",
            )
            tr.run.write_history(h.rows)
        metrics = " ".join(
            f"{k}={v:.4f}" for k, v in row.items() if k not in ("epoch", "phase", "time_s")
        )
        tr.log(
            f"epoch {epoch + 1} [{self.phase}] {metrics} ({row['time_s']:.1f}s)"
            + (" *best*" if improved else "")
        )
        if self.patience is not None and self.wait >= self.patience:
            tr.log(f"early stopping: no {h.monitor} improvement in {self.patience} epochs")
            self.model.stop_training = True
