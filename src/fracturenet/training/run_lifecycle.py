"""What the Trainer writes to its run directory at the start and at the end of ``fit``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fracturenet.exceptions import CheckpointError, DiskFullError
from fracturenet.training.checkpoint import load_best_weights, load_checkpoint
from fracturenet.training.checkpoint_record import discard_checkpoints
from fracturenet.training.context import RunContext
from fracturenet.training.history import TrainingHistory, plot_history
from fracturenet.training.model_building import environment_info
from fracturenet.training.provenance import write_provenance
from fracturenet.training.resume_check import check_resume, data_fingerprint
from fracturenet.training.rundir import free_bytes

__all__ = ["finish_run", "run_record", "start_run"]


def run_record(
    context: RunContext,
    config: dict[str, Any],
    data: dict[str, Any] | None = None,
    resolved: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``config.json`` records: model, fit arguments, classes, precision and data,
    and under ``resolved`` what the Trainer made of "auto" settings (e.g. class weights)."""
    model = context.model
    extra = {"resolved": resolved} if resolved else {}
    return {
        **extra,
        "model": context.model_config.to_dict()
        if context.model_config
        else {"name": model.name, "input_shape": list(model.input_shape[1:])},
        "fit": config,
        "class_names": list(context.class_names or []),
        "precision": context.plan.precision,
        "data": {k: data_fingerprint((data or {}).get(k)) for k in ("train", "val")},
    }


def start_run(
    context: RunContext,
    config: dict[str, Any],
    history: TrainingHistory,
    data: dict[str, Any] | None = None,
    resolved: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Writes ``config.json``, ``environment.json`` and the provenance (file lists of
    ``data``, split name -> manifest; see :mod:`~fracturenet.training.provenance`); on
    resume, loads the last checkpoint.

    On resume the new settings and data are first compared with the saved ``config.json``
    (see :mod:`~fracturenet.training.resume_check`): a difference outside the keys that are
    safe to change is refused before anything is loaded or written.

    Args:
        context: The Trainer's :class:`~fracturenet.training.context.RunContext`.
        config: The fit arguments (``fit_config``).
        history: The history to fill from the checkpoint.
        data: ``{"train": ..., "val": ...}`` inputs, fingerprinted and listed in the
            provenance. Defaults to `None`.
        resolved: What "auto" settings resolved to, recorded under ``resolved``.
            Defaults to `None`.

    Returns:
        The checkpoint state to resume from, or ``None`` (no run directory, or a new run).

    Raises:
        ResumeMismatchError: If resuming with other settings or data.
        CheckpointError: If no complete checkpoint can be read (names the file).
    """
    run = context.run
    if run is None:
        return None
    stale = run.lock.describe_stale()
    if stale:
        context.log(stale)
    record = run_record(context, config, data, resolved)
    state = None
    if context.resume:
        try:
            state = _check_and_load(context, record)
        except BaseException:
            run.release()  # nothing was written: leave the folder free
            raise
    if state:
        history.rows = list(state.get("history", []))
        history.best_epoch = state.get("best_epoch")
        history.best_value = state.get("best_value")
        context.log(f"resume: continuing {run.path} after epoch {state['epoch']}")
    run.write_json("config.json", record)
    run.write_json(
        "environment.json", environment_info(context.plan, context.hardware, context.seed)
    )
    write_provenance(run, context.model, data or {})
    return state


def _check_and_load(context: RunContext, record: dict[str, Any]) -> dict[str, Any] | None:
    run = context.run
    try:
        saved = run.read_json("config.json")
    except ValueError as exc:
        raise CheckpointError(
            f"cannot resume: {str(run.file('config.json'))!r} is not valid JSON ({exc})"
        ) from exc
    check_resume(saved, record, path=str(run.path))
    state = load_checkpoint(run.checkpoints, context.model, log=context.log)
    if state is None and run.file("model.keras").exists():
        raise CheckpointError(
            f"cannot resume: the run in {str(run.path)!r} finished and its checkpoints were "
            "deleted (keep_checkpoints='none'), so there is nothing to continue from. Start "
            "a new run (another folder), or fine-tune its model.keras in one."
        )
    return state


def _skipped_images(context: RunContext) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for report in context.decode_reports:
        if report is not None:
            out.update(report.skipped)
    return list(out.items())


def finish_run(
    context: RunContext,
    history: TrainingHistory,
    after_restore: Callable[[], Any] | None = None,
) -> None:
    """Restores the best weights; writes the history, the curves and ``model.keras``.

    ``after_restore`` runs on the restored model before anything is saved (the Trainer
    chooses a binary model's decision threshold there, so ``model.keras`` carries it).
    With ``Trainer(keep_checkpoints="none")`` the checkpoints are then deleted.
    """
    run, model = context.run, context.model
    restored = True
    if run is not None and load_best_weights(run.checkpoints, model) is not None:
        pass
    elif context.best_weights_in_memory is not None:
        model.set_weights(context.best_weights_in_memory)
    else:
        restored = False
    if restored:
        context.log(
            f"restored the best weights: epoch {history.best_epoch} "
            f"({history.monitor}={history.best_value:.4f})"
        )
    if after_restore is not None:
        after_restore()
    skipped = _skipped_images(context)
    for path, reason in skipped:
        context.log(f"skipped unreadable image {path!r}: {reason}")
    if run is None:
        return
    if skipped:
        run.write_json("skipped.json", [{"path": p, "reason": r} for p, r in skipped])
    run.write_history(history.rows)
    plot_history(history, run.file("training_curves.png"))
    from fracturenet.models import save_model

    needed = 2 * sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)
    needed += 2**20
    if free_bytes(run.path) < needed:  # Keras' HDF5 writer may crash on a full disk
        raise DiskFullError(str(run.file("model.keras")), needed, free_bytes(run.path))
    save_model(
        model,
        run.file("model.keras"),
        overwrite=True,
        class_names=list(context.class_names or []),
        training=history.to_dict(),  # the input description (resize mode) is the model's
    )
    context.log(f"saved {run.file('model.keras')}")
    if context.keep_checkpoints == "none":
        freed = discard_checkpoints(run.checkpoints)
        if run.checkpoints.is_dir() and not any(run.checkpoints.iterdir()):
            run.checkpoints.rmdir()
        context.log(
            f"deleted the checkpoints ({freed / 2**20:.1f} MB; keep_checkpoints='none'): "
            "model.keras is the result of this run"
        )
    run.release()
