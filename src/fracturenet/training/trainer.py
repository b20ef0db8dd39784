"""The :class:`Trainer`: two-phase transfer learning that is fast, resumable and hardware-aware."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import keras

from fracturenet.config import ModelConfig
from fracturenet.data.manifest import Manifest
from fracturenet.hardware import HardwareInfo, detect_hardware, is_chief
from fracturenet.models.weights import weights_info
from fracturenet.training.callbacks import EpochCallback
from fracturenet.training.checkpoint import restore_optimizer
from fracturenet.training.context import RunContext, context_attribute
from fracturenet.training.decision import check_decision_arguments, choose_after_training
from fracturenet.training.distributed import fit_distributed
from fracturenet.training.fit_arguments import (
    check_fit_arguments,
    fit_config,
    resolve_class_weight_choice,
)
from fracturenet.training.frozen_features import frozen_features
from fracturenet.training.head_start import PROBE_REFINE_LR, start_head
from fracturenet.training.history import TrainingHistory
from fracturenet.training.model_building import (
    build_under_plan,
    model_builder,
    plan_for_built_model,
)
from fracturenet.training.precise_bn import PreciseBatchNorm
from fracturenet.training.recipes import (
    BlowUpGuard,
    recipe_loss,
    recipe_optimizer,
    resolve_recipe,
    steps_per_epoch,
)
from fracturenet.training.run_cleanup import discard_new_run_dir
from fracturenet.training.run_lifecycle import finish_run, start_run
from fracturenet.training.rundir import RunDirectory

__all__ = ["KEEP_CHECKPOINTS", "Trainer"]

#: Accepted values of ``Trainer(keep_checkpoints=...)`` (``fracturenet train --keep-checkpoints``).
KEEP_CHECKPOINTS = ("last", "all", "none")


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

    The model records the SHA-256 of each training and validation file's bytes, and which set
    picked the best epoch (see :func:`~fracturenet.models.provenance.training_data_of`):
    ``model.keras`` saves the record, and :func:`~fracturenet.evaluation.evaluate` tells from
    it whether evaluated images selected the model or leaked from its training set.

    The device, distribution strategy and precision are chosen from the hardware
    (see :func:`~fracturenet.hardware.plan_execution`) when the Trainer builds the
    model itself, i.e. when ``model`` is a :class:`~fracturenet.config.ModelConfig` or a
    zero-argument callable. A model that is already built is used as it is (default
    strategy, its own precision). Under ``MultiWorkerMirroredStrategy`` both phases run in
    ``fracturenet.training.distributed.fit_distributed`` (Keras' ``fit`` cannot run there), and
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
        keep_checkpoints: Which checkpoints ``run_dir/checkpoints`` keeps. ``"last"``: the
            latest complete checkpoint (with the optimizer state), the one before it (a
            fallback if the latest is damaged) and the best weights, with what did not
            change (a frozen backbone, say) stored once. ``"all"``: every epoch's
            checkpoint, loadable with :func:`~fracturenet.training.load_checkpoint`
            (``epoch=N``); optimizer state only for the latest. ``"none"``: as ``"last"``
            while training, so a killed run resumes, then deleted once ``fit`` has saved
            ``model.keras`` (like Keras' ``BackupAndRestore(delete_checkpoint=True)``); the
            finished run cannot be continued with more epochs. Defaults to `"last"`.

    Example:
        >>> import numpy as np
        >>> from fracturenet.config import ModelConfig
        >>> config = ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> trainer = Trainer(config, precision="float32", verbose=0)
        >>> x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
        >>> y = np.array([0, 1] * 4)
        >>> trainer.fit((x, y), (x, y), epochs=1).epochs
        1
    """

    model = context_attribute("model", "The Keras model being trained.")
    model_config = context_attribute("model_config", "The ModelConfig, or None.")
    plan = context_attribute("plan", "The ExecutionPlan: device, precision, strategy.")
    hardware = context_attribute("hardware", "The HardwareInfo the plan was made for.")
    strategy = context_attribute("strategy", "The live distribution strategy, or None.")
    run = context_attribute("run", "The RunDirectory, or None.")
    seed = context_attribute("seed", "Seed of weights initialisation and shuffling.")
    verbose = context_attribute("verbose", "0 silent, 1 progress bars, 2 a line an epoch.")
    resume = context_attribute("resume", "Whether this run continues the one in run_dir.")
    keep_checkpoints = context_attribute("keep_checkpoints", "Checkpoints kept in run_dir.")
    multi_worker = context_attribute("multi_worker", "Whether this is one of several workers.")
    class_names = context_attribute("class_names", "The class names, once known.")
    best_weights_in_memory = context_attribute(
        "best_weights_in_memory", "The best weights when there is no run folder."
    )

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
        keep_checkpoints: str = "last",
    ) -> None:

        if verbose not in (0, 1, 2):
            raise ValueError(f"Argument `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        if keep_checkpoints not in KEEP_CHECKPOINTS:
            raise ValueError(
                "Argument `keep_checkpoints` must be one of "
                f"{', '.join(map(repr, KEEP_CHECKPOINTS))}. "
                f"Received: keep_checkpoints={keep_checkpoints!r}"
            )
        self.context = RunContext()  # what the helpers share; the attributes below live in it
        self.keep_checkpoints = keep_checkpoints
        self.seed = int(seed)
        self.verbose = verbose
        self.class_names = tuple(class_names) if class_names else None
        self.hardware = hardware or detect_hardware()
        self.run: RunDirectory | None = None
        self.input_spec: Any = None  # the model's InputSpec, resolved by fit
        self.resume = resume
        self.best_weights_in_memory: list[Any] | None = None
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
    def log(self, message: str) -> None:
        """Prints ``message`` (unless quiet) and appends it to the run's ``train.log``."""
        self.context.log(message)

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

        spec = self.input_spec
        return make_dataset(
            manifest,
            image_size=spec.size,
            batch_size=batch_size,
            training=training,
            augment=augment if training else None,
            shuffle=training,
            seed=self.seed,
            channels=spec.channels,
            resize_mode=spec.resize_mode,
            on_error=on_error,
        )

    def _use_resize_mode(self, resize_mode: str | None) -> Any:
        """Resolves ``fit(resize_mode=...)`` (``None``: the model's) into the model's input
        description and records it there, so ``model.keras`` saves the mode it trained with."""
        from fracturenet.models.input_spec import _remember_input_spec, resolve_input_spec

        spec = resolve_input_spec(self.model, resize_mode)
        _remember_input_spec(self.model, spec)
        return spec

    def _compile(self, model: Any, lr: float, *, steps: int | None = None, epochs: int = 0) -> None:
        """Compiles ``model`` for one phase; ``epochs > 0`` schedules the rate over them."""
        recipe = self.recipe
        binary = model.output_shape[-1] == 1
        with self.context.scope():
            model.compile(
                optimizer=recipe_optimizer(
                    recipe,
                    self.plan.scale_learning_rate(lr),
                    steps,
                    epochs,
                    end_to_end=epochs > 0,
                ),
                loss=recipe_loss(binary, int(model.output_shape[-1]), recipe.label_smoothing),
                metrics=["accuracy"],
            )

    # ------------------------------------------------------------------ fit
    def _pretrained(self) -> bool | None:
        """Whether the backbone starts from pretrained weights; None when nothing says.

        A ``ModelConfig`` says it with ``weights``; a model built by ``build_classifier`` or
        loaded by ``load_model`` carries its provenance (``weights_info``), so a model built
        with ``weights=None`` outside the Trainer trains end to end too.
        """
        if self.model_config is not None:
            return self.model_config.weights is not None
        info = weights_info(self.model)
        if info is None:
            return None
        return info.get("source") != "none"

    def fit(
        self,
        train: Any,
        val: Any = None,
        *,
        epochs: int = 10,
        fine_tune_epochs: int = 0,
        unfreeze: int | str = 2,
        lr: float | None = None,
        fine_tune_lr: float = 1e-5,
        class_weight: str | dict[int, float] | None = "auto",
        early_stopping: int | None = None,
        monitor: str = "val_accuracy",
        feature_cache: str = "auto",
        feature_cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 32,
        augment: Any = None,
        train_batchnorm: bool | None = None,
        on_error: str = "raise",
        recipe: str = "auto",
        label_smoothing: float | None = None,
        warmup_epochs: int | None = None,
        resize_mode: str | None = None,
        decision_threshold: str | None = "youden",
        positive_class: str | int | None = None,
    ) -> TrainingHistory:
        """Trains the model with the recipe that fits its weights (see ``recipe``).

        With pretrained weights (the ``"transfer"`` recipe) phase 1 trains the head on the
        frozen backbone (on cached features it starts from the linear probe of
        :func:`~fracturenet.training.linear_probe.fit_linear_probe`: features standardised
        by the training set's statistics, L2 penalty chosen by a grouped inner
        cross-validation, kept for its epochs) and phase 2 (``fine_tune_epochs > 0``)
        starts from phase 1's best weights, unfreezes the top blocks (BatchNorm in inference mode) and trains at
        ``fine_tune_lr`` with a warm-up and a cosine decay; a blown-up validation loss is
        detected and recovered from (best weights restored, rate divided by 10). From random
        weights (the ``"scratch"`` recipe) there is nothing to transfer: all layers train end
        to end for ``epochs + fine_tune_epochs`` epochs at ``lr`` (AdamW, warm-up, cosine
        decay, label smoothing 0.1). The log and ``config.json`` say which recipe ran and why.

        Args:
            train: Training data: a :class:`~fracturenet.data.Manifest` (the Trainer builds
                the pipeline), a ``tf.data.Dataset`` of ``(images, labels)`` batches, or a
                tuple ``(x, y)`` of arrays. Images are raw pixels 0-255.
            val: Validation data of the same kinds, or ``None``. Defaults to `None`.
            epochs: Head-only epochs (transfer) or end-to-end epochs (scratch).
                Defaults to `10`.
            fine_tune_epochs: Epochs with the top of the backbone unfrozen (transfer); added
                to ``epochs`` by the scratch recipe. Defaults to `0`.
            unfreeze: Phase-2 policy for :func:`~fracturenet.models.set_trainable`: number of
                top blocks, a layer name, or ``"all"``. Defaults to `2`.
            lr: Phase-1 learning rate (scaled by the number of replicas): the head's
                (transfer) or the peak rate of the scratch recipe. Defaults to `None`: the
                recipe's: 1e-3, or :data:`~fracturenet.training.head_start.PROBE_REFINE_LR`
                (1e-4) for a head that starts from the linear probe on cached features.
            fine_tune_lr: Peak phase-2 learning rate. Defaults to `1e-5`.
            class_weight: ``"auto"``, ``"balanced"``, ``"sqrt"`` or ``"none"`` (computed
                from the training labels by :func:`fracturenet.data.class_weights`), an
                explicit ``{class: weight}`` dict or ``None``. ``"auto"`` is ``"balanced"``
                when the classes are skewed (largest/smallest class >=
                :data:`fracturenet.data.SKEW_RATIO`), else no weights; the log and
                ``config.json`` (``resolved.class_weight``) say what was chosen and why.
                Defaults to `"auto"`.
            early_stopping: Stop a phase after this many epochs without improvement of
                ``monitor``, or ``None``. Defaults to `None`.
            monitor: Metric that picks the best epoch (``val_*`` needs ``val``); ``*loss``
                metrics are minimised, others maximised. Defaults to `"val_accuracy"`.
            feature_cache: ``"auto"`` caches backbone features in phase 1 when the Trainer
                builds the training pipeline and it has no augmentation; ``"memory"`` or
                ``"disk"`` opt in for any input (augmentation in a given dataset is then
                frozen into the features); ``"off"`` never caches. The scratch recipe has no
                frozen phase and never caches. Defaults to `"auto"`.
            feature_cache_dir: Folder for ``"disk"`` caching. Defaults to the run
                directory's ``cache/`` folder.
            batch_size: Per-replica batch size for pipelines the Trainer builds.
                Defaults to `32`.
            augment: Augmentation preset for a ``Manifest`` training input. Defaults to `None`.
            train_batchnorm: Let BatchNormalization layers train in phase 2 of the transfer
                recipe. Defaults to `None`: no (the Keras transfer-learning rule; pretrained
                statistics are kept). The scratch recipe always trains them.
            recipe: ``"auto"`` (``"scratch"`` for a ``ModelConfig`` with ``weights=None``,
                ``"transfer"`` otherwise), ``"transfer"`` or ``"scratch"``.
                Defaults to `"auto"`.
            label_smoothing: Label smoothing of the loss. Defaults to `None`: 0.1 for the
                scratch recipe, 0 for transfer.
            warmup_epochs: Epochs of linear warm-up of the scheduled phases. Defaults to
                `None`: 1.
            on_error: Unreadable images in a ``Manifest`` input: ``"raise"`` stops with an
                error naming the file; ``"skip"`` leaves them out, logs each and lists them
                in the run folder's ``skipped.json``. Defaults to `"raise"`.
            resize_mode: How the pipelines the Trainer builds from a ``Manifest`` fit images
                to the input: ``"letterbox"``, ``"stretch"`` or ``"crop"``. The mode is
                recorded in the model's :class:`~fracturenet.models.InputSpec` and saved in
                ``model.keras``, so evaluation, prediction, explanation and export fit images
                the same way (for dataset or array inputs, say which mode made them).
                Defaults to `None`: the model's (``build_classifier(resize_mode=...)``,
                ``ModelConfig.resize_mode``; ``"letterbox"`` for a model that has none).
            decision_threshold: For a two-class model, the rule that chooses its decision
                threshold on ``val`` after training (on the restored best weights):
                ``"youden"``, ``"sensitivity:T"`` or ``"specificity:T"`` (see
                :func:`~fracturenet.models.choose_threshold`); the model carries it and
                ``model.keras`` saves it, and the Predictor, ``predict`` and ``evaluate``
                use it. ``None``, or no ``val``: none (argmax decides). Defaults to
                `"youden"`.
            positive_class: Name or index of the positive class (the finding) for the
                threshold. Defaults to `None`: the minority class of the validation labels.

        Returns:
            The :class:`~fracturenet.training.TrainingHistory`.

        Raises:
            ValueError: For arguments outside their accepted values (named in the message).
        """
        check_fit_arguments(feature_cache, epochs, fine_tune_epochs)
        check_decision_arguments(decision_threshold, positive_class)
        # the model's InputSpec as this fit uses it (the pipelines it builds, model.keras)
        self.input_spec = self._use_resize_mode(resize_mode)
        resize_mode = self.input_spec.resize_mode  # recorded in config.json
        pretrained = self._pretrained()
        self.recipe = resolve_recipe(
            recipe,
            pretrained=pretrained,
            label_smoothing=label_smoothing,
            warmup_epochs=warmup_epochs,
            lr=lr,
        )
        asked_lr, lr = lr, self.recipe.lr
        if self.recipe.name == "scratch" and feature_cache in ("memory", "disk"):
            raise ValueError(
                "The scratch recipe trains every layer from the first epoch, so there are no "
                "frozen features to cache: pass feature_cache='auto' or 'off', or "
                f"recipe='transfer'. Received: feature_cache={feature_cache!r}"
            )
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
        self.context.decode_reports = [
            getattr(d, "decode_report", None) for d in (train_ds, val_ds)
        ]
        mode = feature_cache
        if mode == "auto":
            mode = "memory" if isinstance(train, Manifest) and augment is None else "off"
        if self.recipe.name == "scratch":
            mode = "off"
        # the head starts from the fitted probe where the training features can be computed
        # once: a cache, or un-augmented images or arrays (a tf.data pipeline may be endless)
        probe_start = self.recipe.name == "transfer" and (
            mode != "off" or (augment is None and isinstance(train, (Manifest, tuple)))
        )
        if asked_lr is None and probe_start:
            lr = PROBE_REFINE_LR
        if mode == "disk" and feature_cache_dir is None and self.run is None:
            raise ValueError(
                "feature_cache='disk' needs feature_cache_dir or a run_dir. "
                "Received: feature_cache_dir=None"
            )
        outputs = int(self.model.output_shape[-1])
        weights, weights_why = resolve_class_weight_choice(
            class_weight, train, 2 if outputs == 1 else outputs
        )
        history = TrainingHistory(
            monitor=monitor, feature_cache=mode, run_dir=str(self.run.path) if self.run else None
        )
        config = fit_config(locals())
        # the resolved rate is fit.lr already; recorded once, so resume lists it once
        config["recipe"] = {k: v for k, v in self.recipe.to_dict().items() if k != "lr"}
        self.log(f"recipe: {self.recipe.name} ({self.recipe.reason})")
        self.log(f"class weights: {weights_why}: {weights}")
        self._record_training_data(train, val, monitor, fine_tune_epochs)
        state = start_run(
            self.context,
            config,
            history,
            {"train": train, "val": val},
            resolved={"class_weight": {"weights": weights, "reason": weights_why}},
        )
        done = int(state["epoch"]) if state else 0
        steps = steps_per_epoch(train, gbatch)
        if self.recipe.name == "scratch":
            self._fit_scratch(
                train_ds, val_ds, state, done, epochs + fine_tune_epochs, lr, steps, weights,
                early_stopping, history, train_batchnorm,
            )  # fmt: skip
        else:
            if done < epochs:
                threshold_decides = (
                    bool(decision_threshold) and val is not None and (outputs == 1 or outputs == 2)
                )  # the validation threshold, not shifted priors, sets the operating point
                self._fit_head(
                    train, val, train_ds, val_ds, state, done, epochs, lr, mode,
                    feature_cache_dir, weights, early_stopping, history,
                    None if threshold_decides else weights, probe_start,
                )  # fmt: skip
                done = history.epochs
            if fine_tune_epochs and done < epochs + fine_tune_epochs:
                self._fit_fine_tune(
                    train_ds, val_ds, state, max(done, epochs), epochs + fine_tune_epochs,
                    unfreeze, fine_tune_lr, steps, weights, early_stopping, history,
                    bool(train_batchnorm),
                )  # fmt: skip
        finish_run(
            self.context,
            history,
            after_restore=lambda: choose_after_training(
                self.model,
                val_ds,
                rule=decision_threshold,
                positive_class=positive_class,
                class_names=self.class_names,
                log=self.log,
                batch_size=gbatch,
            ),
        )
        return history

    def _record_training_data(
        self, train: Any, val: Any, monitor: str, fine_tune_epochs: int
    ) -> None:
        """Attaches to the model the content digests of its training and selection images.

        The set ``monitor`` reads picks the best epoch (and stops early); with validation
        data, the transfer recipe's fine-tuning also reads ``val_loss`` to catch a blow-up.
        ``model.keras`` saves the record, and ``evaluate`` compares evaluated images with it.
        """
        from fracturenet.models.provenance import remember_training_data
        from fracturenet.training.provenance import training_data_record

        selection = {"val" if monitor.startswith("val_") else "train"}
        if val is not None and self.recipe.name == "transfer" and fine_tune_epochs > 0:
            selection.add("val")
        record = training_data_record({"train": train, "val": val}, selection)
        remember_training_data(self.model, record)

    # ------------------------------------------------------------------ recipes
    def _fit_scratch(
        self, train_ds: Any, val_ds: Any, state: Any, done: int, total: int, lr: float,
        steps: int | None, weights: Any, patience: int | None, history: TrainingHistory,
        train_batchnorm: bool | None,
    ) -> None:  # fmt: skip
        """The scratch recipe: every layer (BatchNorm included) trains from the first epoch."""
        from fracturenet.models import set_trainable

        if done >= total:
            return
        set_trainable(self.model, "all", train_batchnorm=train_batchnorm is not False)
        r = self.recipe
        self.log(
            f"scratch: all layers train end to end for {total} epochs; AdamW "
            f"(weight decay {r.weight_decay}) at peak lr={lr}, {r.warmup_epochs} warm-up "
            f"epoch(s) then cosine decay; label smoothing {r.label_smoothing}"
        )
        self._compile(self.model, lr, steps=steps, epochs=total)
        self._restore_optimizer(self.model, state, "scratch")
        fit_x, fit_kw = self._fit_input(train_ds, self._global_batch)[1:]
        self._run_phase(
            self.model, "scratch", fit_x, fit_kw, val_ds, done, total, weights, patience, history
        )

    def _fit_head(
        self, train: Any, val: Any, train_ds: Any, val_ds: Any, state: Any, done: int,
        epochs: int, lr: float, mode: str, cache_dir: Any, weights: Any,
        patience: int | None, history: TrainingHistory, prior_weights: Any,
        probe_start: bool,
    ) -> None:  # fmt: skip
        """Transfer phase 1: the head on the frozen backbone (on cached features if allowed).

        ``prior_weights``: the class weights the probe start turns into shifted intercepts
        (``None`` for a two-class model whose validation threshold sets the operating point);
        ``probe_start``: start from the linear probe (also without a cache, after one pass
        over the un-augmented training data).
        """
        from fracturenet.models import set_trainable, split_feature_extractor

        gbatch = self._global_batch
        set_trainable(self.model, "none")
        if mode != "off":
            extractor, head = split_feature_extractor(self.model)
            x_tr, y_tr = frozen_features(self.context, extractor, train_ds, train, mode, cache_dir)
            val_arg = (
                frozen_features(self.context, extractor, val_ds, val, mode, cache_dir)
                if val_ds is not None
                else None
            )
            self.context.folded_extractor = None  # the folded copy is only for extraction
            penalty = start_head(
                self.context, head, x_tr, y_tr, train, prior_weights, state, self.seed
            )
            active, fit_x, fit_kw = head, x_tr, {"y": y_tr, "batch_size": gbatch, "shuffle": True}
        else:
            penalty, val_arg = None, val_ds
            active, fit_x, fit_kw = self._fit_input(train_ds, gbatch)
            if probe_start:  # one pass over the un-augmented training data for the probe
                extractor, head = split_feature_extractor(self.model)
                x_tr, y_tr = frozen_features(self.context, extractor, train_ds, train,
                                             "memory", None)  # fmt: skip
                self.context.folded_extractor = None
                penalty = start_head(
                    self.context, head, x_tr, y_tr, train, prior_weights, state, self.seed
                )
        self._compile(active, lr)
        self._restore_optimizer(active, state, "head")
        with penalty or contextlib.nullcontext():
            self._run_phase(active, "head", fit_x, fit_kw, val_arg, done, epochs, weights,
                            patience, history)  # fmt: skip

    def _fit_fine_tune(
        self, train_ds: Any, val_ds: Any, state: Any, start: int, stop: int,
        unfreeze: int | str, lr: float, steps: int | None, weights: Any,
        patience: int | None, history: TrainingHistory, train_batchnorm: bool,
    ) -> None:  # fmt: skip
        """Transfer phase 2: from phase 1's best weights, top blocks at a low, warmed-up rate."""
        from fracturenet.models import set_trainable

        if not (state and state.get("phase") == "fine_tune"):
            self._restore_best("phase 2 starts from phase 1's best weights")
        set_trainable(self.model, unfreeze, train_batchnorm=train_batchnorm)
        self.log(
            f"phase 2: fine-tuning with unfreeze={unfreeze!r}, BatchNorm "
            f"{'training' if train_batchnorm else 'in inference mode'}, peak lr={lr} "
            f"({self.recipe.warmup_epochs} warm-up epoch(s), then cosine decay)"
        )
        reference = _best_val_loss(history.rows)
        fit_x, fit_kw = self._fit_input(train_ds, self._global_batch)[1:]
        self._compile(self.model, lr, steps=steps, epochs=stop - start)
        self._restore_optimizer(self.model, state, "fine_tune")
        retries = 0
        while start < stop:
            guard = BlowUpGuard(reference) if reference is not None and val_ds is not None else None
            self._run_phase(
                self.model, "fine_tune", fit_x, fit_kw, val_ds, start, stop, weights, patience,
                history, extra_callbacks=[guard] if guard else [],
            )  # fmt: skip
            start = history.epochs
            if guard is None or guard.tripped is None:
                return
            epoch, value = guard.tripped
            if retries == 2 or start >= stop:
                self.log(
                    f"fine-tune: val_loss {value:.3f} at epoch {epoch} is above "
                    f"{guard.limit:.3f} (1.5x phase 1's best {reference:.3f} + 0.1) again; "
                    "stopping phase 2 with the best weights"
                )
                return
            retries += 1
            lr /= 10
            self._restore_best(
                f"fine-tune: val_loss {value:.3f} at epoch {epoch} blew up (limit "
                f"{guard.limit:.3f} = 1.5x phase 1's best {reference:.3f} + 0.1): restored the "
                f"best weights and lowered the peak lr to {lr:g}"
            )
            self._compile(self.model, lr, steps=steps, epochs=stop - start)

    def _restore_best(self, why: str) -> None:
        """Loads the best weights so far (file or memory) into the model, and logs ``why``."""
        from fracturenet.training.checkpoint import load_best_weights

        if self.run is not None and load_best_weights(self.run.checkpoints, self.model) is not None:
            pass
        elif self.best_weights_in_memory is not None:
            self.model.set_weights(self.best_weights_in_memory)
        else:
            return
        self.log(why)

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
        extra_callbacks: list[Any] | None = None,
    ) -> None:
        callbacks = [
            EpochCallback(self.context, phase, history, patience),
            *(extra_callbacks or []),
        ]
        if phase != "head" and not self.multi_worker:
            # first: the checkpoint written at the epoch's end holds recalibrated statistics
            data = (x, fit_kw["y"]) if "y" in fit_kw else x
            callbacks.insert(0, PreciseBatchNorm(data, batch_size=self._global_batch))
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
                callbacks=callbacks,
                seed=self.seed,
            )
            return
        bars = self.verbose == 1 and sys.stdout.isatty()
        with self.context.scope():
            active.fit(
                x,
                validation_data=val,
                epochs=stop,
                initial_epoch=start,
                class_weight=class_weight,
                # Keras' bar first, so it ends its line before our epoch line prints; no bar
                # when stdout is a file or pipe (its \r and \b codes garble logs; our epoch
                # line says the same)
                callbacks=[keras.callbacks.ProgbarLogger(), *callbacks] if bars else callbacks,
                verbose=1 if bars else 0,
                **fit_kw,
            )


def _best_val_loss(rows: list[dict[str, Any]]) -> float | None:
    """The lowest ``val_loss`` among the recorded epochs, or ``None`` without validation."""
    values = [float(r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    return min(values) if values else None
