"""The :class:`Trainer`: two-phase transfer learning that is fast, resumable and hardware-aware."""

from __future__ import annotations

import os
import sys
from typing import Any

import keras

from fracturenet.config import ModelConfig
from fracturenet.data.manifest import Manifest
from fracturenet.training.callbacks import EpochCallback
from fracturenet.training.checkpoint import restore_optimizer
from fracturenet.training.distributed import fit_distributed
from fracturenet.training.frozen_features import frozen_features
from fracturenet.training.hardware import (
    HardwareInfo,
    detect_hardware,
    is_chief,
)
from fracturenet.training.history import TrainingHistory
from fracturenet.training.run_cleanup import discard_new_run_dir
from fracturenet.training.run_files import finish_run, start_run
from fracturenet.training.rundir import RunDirectory
from fracturenet.training.setup import (
    build_under_plan,
    check_fit_arguments,
    fit_config,
    model_builder,
    plan_for_built_model,
    resolve_class_weight,
)

__all__ = ["Trainer"]


def _is_multi_worker(instance: Any, strategy: Any, hw: HardwareInfo) -> bool:
    """Whether training will run under MultiWorkerMirroredStrategy (as planned from ``hw``)."""
    if instance is not None:
        return type(instance).__name__.startswith("MultiWorkerMirroredStrategy")
    return strategy == "multi_worker" or (strategy == "auto" and bool(hw.tf_config))


class Trainer:
    """Fits a classifier in two phases: head only, then the top of the backbone.

    Phase 1 trains the head with the backbone frozen. When the backbone's input cannot change
    between epochs (no augmentation), the backbone runs once over the data and the head is
    trained on the cached features (``feature_cache``). Phase 2 (``fine_tune_epochs > 0``)
    unfreezes the top blocks at a lower learning rate, with BatchNormalization layers kept in
    inference mode. The best weights by ``monitor`` are restored at the end.

    The device, distribution strategy and precision are chosen from the hardware
    (see :func:`~fracturenet.training.hardware.plan_execution`) when the Trainer builds the
    model itself, i.e. when ``model`` is a :class:`~fracturenet.config.ModelConfig` or a
    zero-argument callable. A model that is already built is used as it is (default
    strategy, its own precision). Under ``MultiWorkerMirroredStrategy`` both phases run in
    :func:`~fracturenet.training.fit_distributed` (Keras' ``fit`` cannot run there), and
    only the chief worker writes ``run_dir``.

    Args:
        model: A ``ModelConfig``, a callable returning a new ``keras.Model``, or a built
            ``keras.Model`` from :func:`~fracturenet.models.build_classifier`.
        run_dir: Folder for config, logs and checkpoints, or ``None`` for no files.
            Defaults to `None`.
        overwrite: Reuse an existing non-empty ``run_dir``. Defaults to `False`.
        resume: Continue the run in ``run_dir`` from its last completed epoch.
            Defaults to `False`.
        precision: ``"auto"``, ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
            Defaults to `"auto"`.
        strategy: ``"auto"``, ``"default"``, ``"mirrored"``, ``"multi_worker"`` or a
            ``tf.distribute.Strategy`` instance. Defaults to `"auto"`.
        seed: Seed for weight initialisation and shuffling. Defaults to `42`.
        verbose: 0 quiet, 1 Keras progress bars (on a terminal) plus one line per epoch, 2
            the epoch lines only; both report feature extraction with totals and ETA.
            Defaults to `1`.
        class_names: Class names stored with the saved model (taken from a ``Manifest``
            passed to ``fit`` when not given). Defaults to `None`.
        hardware: A hardware description to plan for instead of detecting this machine's.
            Defaults to `None`.

    Example:
        >>> import numpy as np
        >>> from fracturenet.config import ModelConfig
        >>> trainer = Trainer(ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3)),
        ...                   precision="float32", verbose=0)
        >>> x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
        >>> y = np.array([0, 1] * 4)
        >>> trainer.fit((x, y), (x, y), epochs=1).epochs
        1
    """

    def __init__(
        self,
        model: Any,
        *,
        run_dir: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        resume: bool = False,
        precision: str = "auto",
        strategy: Any = "auto",
        seed: int = 42,
        verbose: int = 1,
        class_names: list[str] | tuple[str, ...] | None = None,
        hardware: HardwareInfo | None = None,
    ) -> None:

        if verbose not in (0, 1, 2):
            raise ValueError(f"Argument `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        self.seed = int(seed)
        self.verbose = verbose
        self.class_names = tuple(class_names) if class_names else None
        self.hardware = hardware or detect_hardware()
        self.run: RunDirectory | None = None
        self.resume = resume
        self.best_weights_in_memory: list[Any] | None = None
        self._folded_extractor: tuple[Any, Any] | None = None
        multi_worker = not isinstance(model, keras.Model) and _is_multi_worker(
            strategy if not isinstance(strategy, str) else None, strategy, self.hardware
        )
        if resume and multi_worker:
            raise ValueError(
                "resume=True is not supported with strategy='multi_worker' (TF_CONFIG set) "
                "yet: resume the run on one machine, or start a new run. Received: resume=True"
            )
        fresh = bool(run_dir) and not os.path.lexists(run_dir)
        if run_dir and (not multi_worker or is_chief(self.hardware.tf_config)):
            # before building the model, so a run_dir in use fails fast
            self.run = RunDirectory(run_dir, overwrite=overwrite, resume=resume)
        keras.utils.set_random_seed(self.seed)
        self.model_config = model if isinstance(model, ModelConfig) else None
        try:
            if isinstance(model, keras.Model):
                self.plan = plan_for_built_model(model, self.hardware, strategy)
                self.strategy, self.model = None, model
            else:
                self.plan, self.strategy, self.model = build_under_plan(
                    model_builder(model), self.hardware, precision, strategy
                )
        except BaseException:
            if fresh and self.run is not None:  # leave no folder behind that blocks a retry
                discard_new_run_dir(run_dir)
            raise
        self.multi_worker = multi_worker
        for reason in self.plan.reasons:
            self.log(reason)
        if run_dir and self.run is None:
            self.log("multi_worker: this worker is not the chief; only the chief writes run_dir")

    # ------------------------------------------------------------------ helpers
    def _scope(self) -> Any:
        import contextlib

        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def log(self, message: str) -> None:
        """Prints ``message`` (unless quiet) and appends it to the run's ``train.log``."""
        if self.verbose:
            print(f"[fracturenet] {message}", flush=True)
        if self.run is not None:
            self.run.append_log(message)

    def _make_dataset(
        self,
        manifest: Manifest,
        *,
        training: bool,
        batch_size: int,
        augment: Any,
        on_error: str = "raise",
    ) -> Any:
        from fracturenet.data import make_dataset

        h, w, c = self.model.input_shape[1:]
        return make_dataset(
            manifest,
            image_size=(h, w) if h != w else h,
            batch_size=batch_size,
            training=training,
            augment=augment if training else None,
            shuffle=training,
            seed=self.seed,
            channels=c,
            on_error=on_error,
        )

    def _compile(self, model: Any, lr: float) -> None:

        binary = model.output_shape[-1] == 1
        with self._scope():
            model.compile(
                optimizer=keras.optimizers.Adam(self.plan.scale_learning_rate(lr)),
                loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train: Any,
        val: Any = None,
        *,
        epochs: int = 10,
        fine_tune_epochs: int = 0,
        unfreeze: int | str = 2,
        lr: float = 1e-3,
        fine_tune_lr: float = 1e-5,
        class_weight: str | dict[int, float] | None = "balanced",
        early_stopping: int | None = None,
        monitor: str = "val_accuracy",
        feature_cache: str = "auto",
        feature_cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 32,
        augment: Any = None,
        train_batchnorm: bool | None = None,
        on_error: str = "raise",
    ) -> TrainingHistory:
        """Runs phase 1 (head only) and optionally phase 2 (fine-tuning).

        Args:
            train: Training data: a :class:`~fracturenet.data.Manifest` (the Trainer builds
                the pipeline), a ``tf.data.Dataset`` of ``(images, labels)`` batches, or a
                tuple ``(x, y)`` of arrays. Images are raw pixels 0-255.
            val: Validation data of the same kinds, or ``None``. Defaults to `None`.
            epochs: Head-only epochs. Defaults to `10`.
            fine_tune_epochs: Epochs with the top of the backbone unfrozen. Defaults to `0`.
            unfreeze: Phase-2 policy for :func:`~fracturenet.models.set_trainable`: number of
                top blocks, a layer name, or ``"all"``. Defaults to `2`.
            lr: Phase-1 learning rate (scaled by the number of replicas). Defaults to `1e-3`.
            fine_tune_lr: Phase-2 learning rate. Defaults to `1e-5`.
            class_weight: ``"balanced"``, an explicit ``{class: weight}`` dict or ``None``.
                Defaults to `"balanced"`.
            early_stopping: Stop a phase after this many epochs without improvement of
                ``monitor``, or ``None``. Defaults to `None`.
            monitor: Metric that picks the best epoch (``val_*`` needs ``val``); ``*loss``
                metrics are minimised, others maximised. Defaults to `"val_accuracy"`.
            feature_cache: ``"auto"`` caches backbone features in phase 1 when the Trainer
                builds the training pipeline and it has no augmentation; ``"memory"`` or
                ``"disk"`` opt in for any input (augmentation in a given dataset is then
                frozen into the features); ``"off"`` never caches. Defaults to `"auto"`.
            feature_cache_dir: Folder for ``"disk"`` caching. Defaults to the run
                directory's ``cache/`` folder.
            batch_size: Per-replica batch size for pipelines the Trainer builds.
                Defaults to `32`.
            augment: Augmentation preset for a ``Manifest`` training input. Defaults to `None`.
            train_batchnorm: Let BatchNormalization layers train in phase 2. ``None`` does so
                only for a model the Trainer built from random weights (``weights=None``),
                whose statistics carry nothing to preserve; pretrained backbones keep
                BatchNorm in inference mode. Defaults to `None`.
            on_error: Unreadable images in a ``Manifest`` input: ``"raise"`` stops with an
                error naming the file; ``"skip"`` leaves them out, logs each and lists them
                in the run folder's ``skipped.json``. Defaults to `"raise"`.

        Returns:
            The :class:`~fracturenet.training.TrainingHistory`.

        Raises:
            ValueError: For arguments outside their accepted values (named in the message).
        """
        from fracturenet.models import set_trainable, split_feature_extractor

        check_fit_arguments(feature_cache, epochs, fine_tune_epochs)
        if monitor.startswith("val_") and val is None:
            monitor = monitor[4:]
        if isinstance(train, Manifest) and self.class_names is None:
            self.class_names = train.class_names
        gbatch = self._global_batch = self.plan.scale_batch_size(batch_size)
        train_ds = (
            self._make_dataset(
                train, training=True, batch_size=gbatch, augment=augment, on_error=on_error
            )
            if isinstance(train, Manifest)
            else train
        )
        val_ds = (
            self._make_dataset(
                val, training=False, batch_size=gbatch, augment=None, on_error=on_error
            )
            if isinstance(val, Manifest)
            else val
        )
        self._decode_reports = [getattr(d, "decode_report", None) for d in (train_ds, val_ds)]
        mode = feature_cache
        if mode == "auto":
            mode = "memory" if isinstance(train, Manifest) and augment is None else "off"
        if mode == "disk" and feature_cache_dir is None and self.run is None:
            raise ValueError(
                "feature_cache='disk' needs feature_cache_dir or a run_dir. "
                "Received: feature_cache_dir=None"
            )
        weights = resolve_class_weight(class_weight, train)
        history = TrainingHistory(
            monitor=monitor, feature_cache=mode, run_dir=str(self.run.path) if self.run else None
        )
        state = start_run(self, fit_config(locals()), history, {"train": train, "val": val})
        done = int(state["epoch"]) if state else 0

        if done < epochs:
            set_trainable(self.model, "none")
            if mode != "off":
                extractor, head = split_feature_extractor(self.model)
                x_tr, y_tr = frozen_features(
                    self, extractor, train_ds, train, mode, feature_cache_dir
                )
                val_arg = (
                    frozen_features(self, extractor, val_ds, val, mode, feature_cache_dir)
                    if val_ds is not None
                    else None
                )
                self._folded_extractor = None  # the folded copy is only for extraction
                active, fit_x, fit_kw = (
                    head,
                    x_tr,
                    {"y": y_tr, "batch_size": gbatch, "shuffle": True},
                )
            else:
                val_arg = val_ds
                active, fit_x, fit_kw = self._fit_input(train_ds, gbatch)
            self._compile(active, lr)
            self._restore_optimizer(active, state, "head")
            self._run_phase(
                active,
                "head",
                fit_x,
                fit_kw,
                val_arg,
                done,
                epochs,
                weights,
                early_stopping,
                history,
            )
            done = history.epochs
        if fine_tune_epochs and done < epochs + fine_tune_epochs:
            if train_batchnorm is None:
                train_batchnorm = (
                    self.model_config is not None and self.model_config.weights is None
                )
            set_trainable(self.model, unfreeze, train_batchnorm=train_batchnorm)
            self.log(f"phase 2: fine-tuning with unfreeze={unfreeze!r} at lr={fine_tune_lr}")
            self._compile(self.model, fine_tune_lr)
            self._restore_optimizer(self.model, state, "fine_tune")
            fit_x, fit_kw = self._fit_input(train_ds, gbatch)[1:]
            self._run_phase(
                self.model,
                "fine_tune",
                fit_x,
                fit_kw,
                val_ds,
                max(done, epochs),
                epochs + fine_tune_epochs,
                weights,
                early_stopping,
                history,
            )
        finish_run(self, history)
        return history

    # ------------------------------------------------------------------ phases
    def _fit_input(self, data: Any, gbatch: int) -> tuple[Any, Any, dict[str, Any]]:
        if isinstance(data, tuple):
            return self.model, data[0], {"y": data[1], "batch_size": gbatch, "shuffle": True}
        return self.model, data, {"shuffle": False}  # a dataset shuffles itself (make_dataset)

    def _restore_optimizer(self, active: Any, state: dict[str, Any] | None, phase: str) -> None:
        if state and state.get("phase") == phase and state.get("optimizer_values"):
            ok = restore_optimizer(
                active.optimizer, active.trainable_variables, state["optimizer_values"]
            )
            self.log(
                "resume: optimizer state restored"
                if ok
                else "resume: optimizer state did not fit; starting it fresh"
            )

    def _run_phase(
        self,
        active: Any,
        phase: str,
        x: Any,
        fit_kw: dict[str, Any],
        val: Any,
        start: int,
        stop: int,
        class_weight: Any,
        patience: int | None,
        history: TrainingHistory,
    ) -> None:
        callback = EpochCallback(self, phase, history, patience)
        if self.multi_worker:  # model.fit fails there (see distributed.py)
            fit_distributed(
                active,
                self.strategy,
                x,
                y=fit_kw.get("y"),
                validation_data=val,
                initial_epoch=start,
                epochs=stop,
                global_batch=self._global_batch,
                class_weight=class_weight,
                callbacks=[callback],
                seed=self.seed,
            )
            return
        bars = self.verbose == 1 and sys.stdout.isatty()
        with self._scope():
            active.fit(
                x,
                validation_data=val,
                epochs=stop,
                initial_epoch=start,
                class_weight=class_weight,
                # Keras' bar first, so it ends its line before our epoch line prints; no bar
                # when stdout is a file or pipe (its \r and \b codes garble logs; our epoch
                # line says the same)
                callbacks=[keras.callbacks.ProgbarLogger(), callback] if bars else [callback],
                verbose=1 if bars else 0,
                **fit_kw,
            )
