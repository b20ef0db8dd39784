"""What the Trainer writes to its run directory at the start and at the end of ``fit``."""

from __future__ import annotations

from typing import Any

from fracturenet.training.checkpoint import load_checkpoint
from fracturenet.training.history import TrainingHistory, plot_history
from fracturenet.training.provenance import write_provenance
from fracturenet.training.setup import environment_info, load_weights_quietly

__all__ = ["finish_run", "start_run"]


def start_run(
    trainer: Any,
    config: dict[str, Any],
    history: TrainingHistory,
    data: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Writes ``config.json``, ``environment.json`` and the provenance (file lists of
    ``data``, split name -> manifest; see :mod:`~fracturenet.training.provenance`); on
    resume, loads the last checkpoint.

    Returns:
        The checkpoint state to resume from, or ``None`` (no run directory, or a new run).
    """
    run, model = trainer.run, trainer.model
    if run is None:
        return None
    state = load_checkpoint(run.checkpoints, model) if trainer.resume else None
    if state:
        history.rows = list(state.get("history", []))
        history.best_epoch = state.get("best_epoch")
        history.best_value = state.get("best_value")
        trainer.log(f"resume: continuing {run.path} after epoch {state['epoch']}")
    else:
        run.write_json(
            "config.json",
            {
                "model": trainer.model_config.to_dict()
                if trainer.model_config
                else {"name": model.name, "input_shape": list(model.input_shape[1:])},
                "fit": config,
                "class_names": list(trainer.class_names or []),
            },
        )
    run.write_json(
        "environment.json", environment_info(trainer.plan, trainer.hardware, trainer.seed)
    )
    write_provenance(run, model, data or {})
    return state


def finish_run(trainer: Any, history: TrainingHistory) -> None:
    """Restores the best weights; writes the history, the curves and ``model.keras``."""
    run, model = trainer.run, trainer.model
    best = run.checkpoints / "best.weights.h5" if run else None
    restored = True
    if best is not None and best.exists():
        load_weights_quietly(model, best)
    elif trainer.best_weights_in_memory is not None:
        model.set_weights(trainer.best_weights_in_memory)
    else:
        restored = False
    if restored:
        trainer.log(
            f"restored the best weights: epoch {history.best_epoch} "
            f"({history.monitor}={history.best_value:.4f})"
        )
    if run is None:
        return
    run.write_history(history.rows)
    plot_history(history, run.file("training_curves.png"))
    from fracturenet.models import save_model

    save_model(
        model,
        run.file("model.keras"),
        overwrite=True,
        class_names=list(trainer.class_names or []),
        resize_mode="letterbox",
        training=history.to_dict(),
    )
    trainer.log(f"saved {run.file('model.keras')}")
