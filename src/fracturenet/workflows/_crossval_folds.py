"""The work of one cross-validation fold, and the pooling of the folds' predictions.

Private helpers of :func:`fracturenet.workflows.cross_validate`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.config import ModelConfig
from fracturenet.data.manifest import Manifest
from fracturenet.evaluation.crossval_result import FoldResult
from fracturenet.evaluation.evaluate import evaluate
from fracturenet.evaluation.report import EvaluationReport

__all__ = ["FoldPlan", "run_fold", "pool_out_of_fold"]


@dataclass(frozen=True)
class FoldPlan:
    """What every fold shares: the model recipe and the training settings."""

    config: ModelConfig
    seed: int
    epochs: int
    fine_tune_epochs: int
    val_fraction: float
    groups: str | None
    batch_size: int
    trainer_kwargs: dict[str, Any]
    fit_kwargs: dict[str, Any]
    out: Path | None
    name: str
    verbose: int


def run_fold(index: int, train: Manifest, test: Manifest, plan: FoldPlan) -> FoldResult:
    """Trains a fresh model on ``train`` and evaluates it on ``test``."""
    import keras

    from fracturenet.data import make_dataset, train_val_test_split
    from fracturenet.training import Trainer

    t0 = time.perf_counter()
    val = None
    if plan.val_fraction > 0:
        inner = train_val_test_split(
            train, val=plan.val_fraction, seed=plan.seed, groups=plan.groups
        )
        train, val = inner.subset("train"), inner.subset("val")
    trainer = Trainer(
        plan.config,
        run_dir=plan.out / f"fold-{index}" if plan.out is not None else None,
        seed=plan.seed,
        class_names=train.class_names,
        **plan.trainer_kwargs,
    )
    history = trainer.fit(
        train,
        val,
        epochs=plan.epochs,
        fine_tune_epochs=plan.fine_tune_epochs,
        batch_size=plan.batch_size,
        **plan.fit_kwargs,
    )
    spec = trainer.input_spec  # as the fold trained: size (any aspect), channels, resize mode
    test_ds = make_dataset(
        test,
        image_size=spec.size,
        batch_size=plan.batch_size,
        training=False,
        shuffle=False,
        channels=spec.channels,
        resize_mode=spec.resize_mode,
    )
    report = evaluate(
        trainer.model,
        test_ds,
        class_names=test.class_names,
        ids=test.paths,
        bootstrap=0,
        seed=plan.seed,
        batch_size=plan.batch_size,
        model_name=f"{plan.name} fold {index}",
        split=f"fold {index} held-out",
        used_for_selection=False,
    )
    del trainer
    keras.backend.clear_session()
    seconds = round(time.perf_counter() - t0, 2)
    if plan.verbose:
        print(
            f"[fracturenet] {plan.name} fold {index}: trained on {len(train)} images, "
            f"accuracy {report.metrics['accuracy']:.3f} on {len(test)} held out "
            f"({seconds:.0f}s)",
            flush=True,
        )
    return FoldResult(
        index,
        len(train) + (len(val) if val is not None else 0),
        len(test),
        report,
        history.best_epoch,
        seconds,
    )


def pool_out_of_fold(
    manifest: Manifest, folds: list[FoldResult], name: str, bootstrap: int, seed: int
) -> EvaluationReport:
    """Out-of-fold predictions of all folds, in the manifest's order, as one report."""
    position = {p: i for i, p in enumerate(manifest.paths)}
    order, y_true, y_prob = [], [], []
    for f in folds:
        order += [position[p] for p in f.report.ids]
        y_true.append(f.report.y_true)
        y_prob.append(f.report.y_prob)
    idx = np.argsort(order, kind="stable")
    ids = [manifest.paths[order[i]] for i in idx]
    return EvaluationReport.from_predictions(
        np.concatenate(y_true)[idx],
        np.concatenate(y_prob)[idx],
        class_names=manifest.class_names,
        ids=ids,
        model_name=name,
        bootstrap=bootstrap,
        seed=seed,
        info={
            "source": "cross_validate out-of-fold",
            "k": len(folds),
            "split": "out-of-fold",
            "used_for_selection": False,  # each fold picks its epoch on an inner val split
        },
    )
