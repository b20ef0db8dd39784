"""k-fold cross-validation of a training recipe: the fair way to compare backbones on ~1,000 images.

Each fold trains a fresh model through :class:`fracturenet.training.Trainer` on the other
folds and evaluates it with :func:`~fracturenet.evaluation.evaluate` on its held-out images.
Folds come from :func:`fracturenet.data.group_kfold`, so duplicate clusters (or the
manifest's own groups) never straddle training and test. The held-out fold is never used for
model selection: without ``val_fraction`` the Trainer monitors training metrics, with it an
inner group-aware validation split is carved out of the training folds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.config import ModelConfig
from fracturenet.data.manifest import Manifest
from fracturenet.evaluation.crossval_result import CrossValidationResult
from fracturenet.exceptions import DatasetError, RunDirectoryExistsError
from fracturenet.workflows._crossval_folds import FoldPlan, pool_out_of_fold, run_fold

__all__ = ["cross_validate"]

_GROUPS = ("auto", "manifest", None)
_RESERVED_TRAINER = ("model", "run_dir", "seed", "class_names")
_RESERVED_FIT = ("train", "val", "epochs", "fine_tune_epochs")


def _as_manifest(data: Any) -> Manifest:
    if isinstance(data, Manifest):
        return data
    if isinstance(data, (str, os.PathLike)):
        from fracturenet.data import discover

        return discover(data)
    raise TypeError(
        "`data` must be a Manifest or the path of a dataset folder / CSV manifest. "
        f"Received: data={type(data).__name__}"
    )


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an int >= {low}. Received: {name}={value!r}")
    return int(value)


def _check_reserved(name: str, kwargs: dict | None, reserved: tuple[str, ...]) -> dict:
    kwargs = dict(kwargs or {})
    clash = sorted(set(kwargs) & set(reserved))
    if clash:
        raise ValueError(
            f"`{name}` must not set {list(reserved)}: cross_validate sets them per fold "
            f"(use its own arguments instead). Received: {name} keys {clash}"
        )
    return kwargs


def _model_config(
    backbone: str | ModelConfig, num_classes: int, image_size: int | None, weights: str | None
) -> ModelConfig:
    if isinstance(backbone, ModelConfig):
        if backbone.num_classes != num_classes:
            raise ValueError(
                f"`backbone` ModelConfig has num_classes={backbone.num_classes} but the data "
                f"has {num_classes} classes. Received: backbone={backbone!r}"
            )
        if image_size is not None and tuple(backbone.input_shape[:2]) != (image_size,) * 2:
            raise ValueError(
                "`image_size` contradicts the ModelConfig's input_shape; pass one of them. "
                f"Received: image_size={image_size}, input_shape={backbone.input_shape}"
            )
        return backbone
    if not isinstance(backbone, str):
        raise TypeError(
            "`backbone` must be a registered backbone name or a ModelConfig. "
            f"Received: backbone={type(backbone).__name__}"
        )
    from fracturenet.models import get_backbone

    spec = get_backbone(backbone)  # raises UnknownBackboneError listing the names
    size = spec.default_input_size if image_size is None else image_size
    _check_int("image_size", size, 1)
    return ModelConfig(
        backbone=spec.name,
        num_classes=num_classes,
        input_shape=(size, size, 3),
        weights=weights,
    )


def _grouped(manifest: Manifest, groups: str | None) -> tuple[Manifest, str | None]:
    """Resolves ``groups="auto"`` once (the audit reads every image) for folds and inner splits."""
    if groups not in _GROUPS:
        raise ValueError(f"`groups` must be one of {list(_GROUPS)}. Received: groups={groups!r}")
    if groups != "auto":
        return manifest, groups
    from fracturenet.data import audit

    return manifest.with_groups(audit(manifest, progress=False).groups()), "manifest"


def cross_validate(
    data: Manifest | str | os.PathLike[str],
    *,
    backbone: str | ModelConfig = "resnet50",
    k: int = 5,
    groups: str | None = "auto",
    seed: int = 0,
    epochs: int = 5,
    fine_tune_epochs: int = 0,
    image_size: int | None = None,
    weights: str | None = "imagenet",
    val_fraction: float = 0.0,
    batch_size: int = 32,
    trainer_kwargs: dict[str, Any] | None = None,
    fit_kwargs: dict[str, Any] | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    bootstrap: int = 1000,
    model_name: str | None = None,
    verbose: int = 0,
) -> CrossValidationResult:
    """Trains and evaluates a fresh model on each of ``k`` group-stratified folds.

    Every fold's model is built from the same config and seed, trained by the
    :class:`~fracturenet.training.Trainer` (frozen-feature cache automatic for the head phase
    when there is no augmentation) and evaluated on the fold's held-out images. Images in the
    manifest's ``"test"`` split take no part. The same ``seed`` and ``groups`` give the same
    folds whatever the backbone, so two backbones' pooled reports are paired image by image.

    Args:
        data: A :class:`~fracturenet.data.Manifest`, or a dataset folder / CSV manifest path.
        backbone: Registered backbone name or a full :class:`~fracturenet.config.ModelConfig`.
            Defaults to `"resnet50"` (the library's one default backbone).
        k: Number of folds, at least 2. Defaults to `5`.
        groups: ``"auto"`` (duplicate clusters from the audit), ``"manifest"``
            (``Manifest.groups``) or ``None`` (every image alone: leaks copies across folds).
            Defaults to `"auto"`.
        seed: Seed of the folds, inner splits, weight initialisation and bootstrap.
            Defaults to `0`.
        epochs: Head-only epochs per fold. Defaults to `5`.
        fine_tune_epochs: Fine-tuning epochs per fold. Defaults to `0`.
        image_size: Model input side in pixels. Defaults to `None` (the backbone's default,
            or the ModelConfig's ``input_shape``).
        weights: Initial backbone weights for a backbone name (``"imagenet"``, ``None`` or a
            file). Ignored for a ModelConfig. Defaults to `"imagenet"`, as
            ``build_classifier`` and ``ModelConfig``.
        val_fraction: Fraction of each training fold held out (group-aware) as validation
            for best-epoch selection and early stopping; 0 selects on training metrics.
            Defaults to `0.0`.
        batch_size: Batch size for training and evaluation. Defaults to `32`.
        trainer_kwargs: Extra :class:`~fracturenet.training.Trainer` arguments (e.g.
            ``precision``); ``verbose`` defaults to 0. Defaults to `None`.
        fit_kwargs: Extra ``Trainer.fit`` arguments (``lr``, ``unfreeze``, ``augment``...).
            Defaults to `None`.
        run_dir: New folder for each fold's Trainer run (``fold-<i>/``) and the result
            (``crossval.json``, ``crossval.md``, ``oof_report.json``), or ``None`` for no
            files. Defaults to `None`.
        bootstrap: Bootstrap resamples for the pooled report's 95 % intervals (0 skips).
            Defaults to `1000`.
        model_name: Name of the result and pooled report. Defaults to the backbone name.
        verbose: 0 quiet, 1 one line per fold. Defaults to `0`.

    Returns:
        A :class:`~fracturenet.evaluation.CrossValidationResult`.

    Raises:
        TypeError: If ``data`` or ``backbone`` is of an unsupported type.
        ValueError: If an argument is outside its accepted values (named in the message).
        DatasetError: If there are fewer groups than ``k``, or a file is listed twice.
        RunDirectoryExistsError: If ``run_dir`` exists and is not empty.

    Example:
        >>> import tempfile
        >>> from fracturenet.phantoms import make_synthetic_fractures
        >>> m = make_synthetic_fractures(tempfile.mkdtemp(), images_per_class=4, image_size=32)
        >>> cv = cross_validate(m, backbone="vgg16", k=2, groups=None, epochs=1,
        ...                     image_size=32, weights=None, bootstrap=0)
        >>> cv.k, len(cv.oof.ids) == len(m.subset("train"))  # the Test split stays out
        (2, True)
    """
    manifest = _as_manifest(data)
    k = _check_int("k", k, 2)
    seed = _check_int("seed", seed, 0)
    epochs = _check_int("epochs", epochs, 0)
    fine_tune_epochs = _check_int("fine_tune_epochs", fine_tune_epochs, 0)
    batch_size = _check_int("batch_size", batch_size, 1)
    bootstrap = _check_int("bootstrap", bootstrap, 0)
    if epochs + fine_tune_epochs == 0:
        raise ValueError(
            "Nothing to train: `epochs` and `fine_tune_epochs` are both 0. "
            "Received: epochs=0, fine_tune_epochs=0"
        )
    if (
        isinstance(val_fraction, bool)
        or not isinstance(val_fraction, (int, float))
        or not (0 <= val_fraction < 1)
    ):
        raise ValueError(
            f"`val_fraction` must be a fraction in [0, 1). Received: val_fraction={val_fraction!r}"
        )
    if verbose not in (0, 1):
        raise ValueError(f"`verbose` must be 0 or 1. Received: verbose={verbose!r}")
    t_kw = _check_reserved("trainer_kwargs", trainer_kwargs, _RESERVED_TRAINER)
    f_kw = _check_reserved("fit_kwargs", fit_kwargs, _RESERVED_FIT + ("batch_size",))
    t_kw.setdefault("verbose", 0)
    config = _model_config(backbone, manifest.num_classes, image_size, weights)
    if len(set(manifest.paths)) != len(manifest.paths):
        raise DatasetError(
            "`data` lists the same file more than once; out-of-fold predictions need one entry "
            f"per file. Received: {len(manifest.paths) - len(set(manifest.paths))} repeated path(s)"
        )
    out = Path(run_dir) if run_dir is not None else None
    if out is not None and out.exists() and any(out.iterdir()):
        raise RunDirectoryExistsError(
            f"Cross-validation folder {str(out)!r} exists and is not empty; choose a new one. "
            f"Received: run_dir={str(out)!r}"
        )

    from fracturenet.data import group_kfold

    grouped, fold_groups = _grouped(manifest, groups)
    folds = group_kfold(grouped, k, seed=seed, groups=fold_groups)
    name = model_name or config.backbone
    plan = FoldPlan(
        config,
        seed,
        epochs,
        fine_tune_epochs,
        float(val_fraction),
        fold_groups,
        batch_size,
        t_kw,
        f_kw,
        out,
        name,
        verbose,
    )
    results = [run_fold(i, train, test, plan) for i, (train, test) in enumerate(folds)]
    oof = pool_out_of_fold(manifest, results, name, bootstrap, seed)
    settings = {
        "k": k,
        "groups": groups,
        "seed": seed,
        "epochs": epochs,
        "fine_tune_epochs": fine_tune_epochs,
        "image_size": int(config.input_shape[0]),  # the height; input_shape has both sides
        "input_shape": list(config.input_shape),
        "val_fraction": float(val_fraction),
        "batch_size": batch_size,
        "model": config.to_dict(),
        "fit_kwargs": {key: repr(v) for key, v in f_kw.items()},
        "data": manifest.root,
        "seconds": round(sum(f.seconds for f in results), 1),
    }
    result = CrossValidationResult(tuple(results), oof, name, settings)
    if out is not None:
        result.to_json(out / "crossval.json")
        oof.to_json(out / "oof_report.json")
        (out / "crossval.md").write_text(result.to_markdown(), encoding="utf-8")
    return result
