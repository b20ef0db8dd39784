"""Settings of ``fracturenet train``: flags, TOML configs whose keys mirror them, resolution.

Every setting that configures the model, the Trainer or the fit is a field of
:mod:`fracturenet.config` (:data:`FIELDS` says which) and takes its default from there, so the
CLI, the TOML files, the run folder's ``run.toml`` and the library share one set of defaults;
:func:`run_config` turns resolved settings into the :class:`~fracturenet.config.RunConfig`
the command trains with. The other settings (:data:`CLI_ONLY`: the data, the run folder, the
split, the test report's bootstrap) belong to the command.

Precedence: built-in defaults < ``--quick`` preset < the ``--config`` TOML file < flags given
on the command line. The resolved settings are saved in the run folder as ``run.toml``, which
``fracturenet train --config run.toml`` accepts again.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from fracturenet.commands._registry import UsageError
from fracturenet.config import DataConfig, ModelConfig, RunConfig, TrainerConfig, TrainingConfig

__all__ = [
    "CLI_ONLY",
    "FIELDS",
    "SETTINGS",
    "cli_value",
    "run_config",
    "QUICK",
    "KEEP_CHECKPOINTS",
    "add_setting_flags",
    "resolve_settings",
    "to_toml",
    "read_toml",
]

#: Help of --precision, shared with ``predict``.
PRECISION_HELP = (
    "compute precision: auto (bfloat16 on CPUs with AVX512-BF16/AMX, else float32), "
    "float32, mixed_float16 or mixed_bfloat16"
)
#: Setting -> the configuration field it sets, as ``"section.field"`` of a ``RunConfig``.
FIELDS: dict[str, str] = {
    "backbone": "model.backbone",
    "weights": "model.weights",
    "image_size": "model.input_shape",
    "resize_mode": "model.resize_mode",
    "dropout": "model.dropout",
    "epochs": "training.epochs",
    "fine_tune_epochs": "training.fine_tune_epochs",
    "unfreeze": "training.unfreeze",
    "lr": "training.lr",
    "fine_tune_lr": "training.fine_tune_lr",
    "batch_size": "training.batch_size",
    "augment": "training.augment",
    "early_stopping": "training.early_stopping",
    "on_error": "training.on_error",
    "class_weight": "training.class_weight",
    "decision_threshold": "training.decision_threshold",
    "positive_class": "training.positive_class",
    "precision": "trainer.precision",
    "seed": "trainer.seed",
    "keep_checkpoints": "trainer.keep_checkpoints",
}
#: Settings of the command itself, not of the library's configuration.
CLI_ONLY = (
    "data", "out", "val", "test", "group", "bootstrap", "metadata", "metadata_key",
    "metadata_label", "labels_from", "metadata_flags", "stratify_by", "group_by",
)  # fmt: skip
_DEFAULTS = RunConfig()


def cli_value(key: str, value: Any) -> Any:
    """A configuration value as the CLI writes it (``None`` weights -> ``"none"``...).

    Example:
        >>> cli_value("weights", None), cli_value("image_size", (64, 64, 3))
        ('none', 64)
    """
    if key == "image_size":
        return int(value[0])
    if key in ("weights", "augment", "decision_threshold"):
        return "none" if value is None else str(value)
    if key == "early_stopping":
        return 0 if value is None else value
    if key == "unfreeze":
        return str(value)
    return value


def _default(key: str) -> Any:
    section, name = FIELDS[key].split(".")
    return cli_value(key, getattr(getattr(_DEFAULTS, section), name))


# key -> (type, default, help); every key is a flag (--image-size) and a TOML key (image_size)
SETTINGS: dict[str, tuple[type, Any, str]] = {
    "data": (str, None, "dataset folder or CSV manifest"),
    "out": (str, None, "new run folder (default: fracturenet-runs/train-<time>)"),
    "backbone": (str, _default("backbone"), "registered backbone (see `fracturenet info`)"),
    "weights": (str, _default("weights"), "imagenet | none | PATH to a weights file"),
    "image_size": (int, _default("image_size"), "input side in pixels"),
    "resize_mode": (
        str,
        _default("resize_mode"),
        "how images are fitted to the input: letterbox | stretch | crop (saved with the "
        "model; evaluate, predict, explain and export use it)",
    ),
    "epochs": (int, _default("epochs"), "phase-1 epochs (head only when transferring)"),
    "fine_tune_epochs": (
        int,
        _default("fine_tune_epochs"),
        "epochs with the top of the backbone unfrozen (phase 2)",
    ),
    "unfreeze": (
        str,
        _default("unfreeze"),
        "phase 2: number of top blocks, a layer name, or 'all'",
    ),
    "lr": (
        float,
        _default("lr"),
        "phase-1 learning rate: the head's (transfer) or the peak of the scratch recipe (default: 1e-3 for both recipes)",
    ),
    "fine_tune_lr": (float, _default("fine_tune_lr"), "phase-2 learning rate"),
    "batch_size": (int, _default("batch_size"), "images per step"),
    "augment": (str, _default("augment"), "augmentation preset, or 'none'"),
    "precision": (str, _default("precision"), PRECISION_HELP),
    "seed": (int, _default("seed"), "seed for splits, weights and shuffling"),
    "val": (float, 0.2, "validation fraction of the images the layout does not assign"),
    "test": (float, 0.0, "test fraction (a test split of the layout is always kept)"),
    "group": (bool, True, "keep duplicate clusters in one split (--no-group to disable)"),
    "metadata": (
        str,
        None,
        "CSV describing the images (one row per file), joined by file name: its attributes "
        "can stratify (--stratify-by) and group (--group-by) the split",
    ),
    "metadata_key": (str, None, "the file-name column of --metadata (default: guessed)"),
    "metadata_label": (
        str,
        None,
        "a --metadata column repeating the label, e.g. fractured:1=Fractured,0=Non_fractured",
    ),
    "labels_from": (
        str,
        "layout",
        "which label wins where folder and --metadata-label disagree: layout | metadata",
    ),  # fmt: skip
    "metadata_flags": (
        str,
        None,
        "attributes from 0/1 flag columns of --metadata, e.g. region=hand,leg,hip "
        "(several: separated by ';')",
    ),
    "stratify_by": (
        str,
        None,
        "attribute(s) kept in proportion in every split, crossed with the class, e.g. region "
        "(comma-separated; from --metadata)",
    ),
    "group_by": (
        str,
        None,
        "attribute(s) whose images stay in one split, e.g. patient_id, or 'similar' (the "
        "audit's look-alikes); added to the duplicate clusters of --group (comma-separated)",
    ),
    "dropout": (float, _default("dropout"), "dropout rate of the head"),
    "early_stopping": (int, _default("early_stopping"), "patience in epochs (0 = off)"),
    "bootstrap": (int, 1000, "bootstrap resamples for the test metrics' 95%% intervals"),
    "on_error": (
        str,
        _default("on_error"),
        "unreadable images: raise | skip (listed in skipped.json)",
    ),
    "class_weight": (
        str,
        _default("class_weight"),
        "loss weights per class: auto (balanced when the largest class has >= 3x the "
        "images of the smallest, else none; the log says which) | balanced | sqrt | none",
    ),
    "decision_threshold": (
        str,
        _default("decision_threshold"),
        "two-class models: rule choosing the decision threshold on the validation split, "
        "saved in model.keras and used by predict and evaluate: youden | sensitivity:T | "
        "specificity:T | none (argmax)",
    ),
    "positive_class": (
        str,
        _default("positive_class"),
        "two-class models: the class the threshold detects (default: the minority class)",
    ),
    "keep_checkpoints": (
        str,
        _default("keep_checkpoints"),
        "checkpoints kept in the run folder: last (latest, previous and best; what resume "
        "needs) | all (every epoch) | none (deleted once model.keras is saved)",
    ),
}


def run_config(
    settings: dict[str, Any],
    *,
    num_classes: int,
    weights: str | None,
    overwrite: bool = False,
    resume: bool = False,
    verbose: int = 2,
) -> RunConfig:
    """The configuration that resolved settings describe (what ``fracturenet train`` runs).

    Args:
        settings: Resolved settings (:func:`resolve_settings`).
        num_classes: Classes found in the data.
        weights: The checked ``--weights`` (``None``, ``"imagenet"`` or a file).
        overwrite: ``--overwrite``. Defaults to `False`.
        resume: ``--resume``. Defaults to `False`.
        verbose: The Trainer's verbosity. Defaults to `2`.

    Returns:
        The :class:`~fracturenet.config.RunConfig`; its ``data`` section is the evaluation
        pipeline's batch size and error handling.
    """
    s = settings
    unfreeze = s["unfreeze"]
    return RunConfig(
        data=DataConfig(batch_size=s["batch_size"], on_error=s["on_error"]),
        model=ModelConfig(
            backbone=s["backbone"],
            num_classes=num_classes,
            input_shape=(s["image_size"], s["image_size"], 3),
            weights=weights,
            dropout=s["dropout"],
            resize_mode=s["resize_mode"],  # validated by build_classifier, kept by the model
        ),
        trainer=TrainerConfig(
            run_dir=s["out"],
            overwrite=overwrite,
            resume=resume,
            precision=s["precision"],
            seed=s["seed"],
            verbose=verbose,
            keep_checkpoints=s["keep_checkpoints"],
        ),
        training=TrainingConfig(
            epochs=s["epochs"],
            fine_tune_epochs=s["fine_tune_epochs"],
            unfreeze=int(unfreeze) if str(unfreeze).lstrip("-").isdigit() else unfreeze,
            lr=s["lr"],
            fine_tune_lr=s["fine_tune_lr"],
            batch_size=s["batch_size"],
            augment=None if s["augment"].lower() == "none" else s["augment"],
            early_stopping=s["early_stopping"] or None,
            on_error=s["on_error"],
            class_weight=s["class_weight"],
            decision_threshold=None
            if str(s["decision_threshold"]).lower() == "none"
            else s["decision_threshold"],
            positive_class=s["positive_class"],
        ),
    )


#: Values of ``keep_checkpoints``: ``Trainer``'s (not imported here: no TensorFlow at start-up).
KEEP_CHECKPOINTS = ("last", "all", "none")
#: Overrides applied by ``--quick`` (before the config file and explicit flags).
QUICK = {"image_size": 64, "epochs": 2, "fine_tune_epochs": 0, "batch_size": 16, "bootstrap": 200}


def _with_default(help_text: str, default: object) -> str:
    """The help text with its real default (flags default to None), stated once."""
    return help_text if "(default" in help_text else f"{help_text} (default: {default})"


def add_setting_flags(p: argparse.ArgumentParser) -> None:
    """Adds one flag per setting, all defaulting to ``None`` (= not given)."""
    for key, (kind, default, help_text) in SETTINGS.items():
        flag = "--" + key.replace("_", "-")
        if key == "data":
            p.add_argument("data", nargs="?", default=None, help=help_text)
        elif kind is bool:
            p.add_argument(
                flag,
                dest=key,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=_with_default(help_text, default),
            )
        else:
            p.add_argument(
                flag, dest=key, type=kind, default=None, help=_with_default(help_text, default)
            )


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads a TOML config; keys are the flag names with underscores (``image_size``).

    A ``[train]`` table is accepted too. Unknown keys and wrong types are usage errors.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError as err:
            raise UsageError(
                "Reading --config needs Python 3.11+ or `pip install tomli`. "
                f"Received: config={str(path)!r}"
            ) from err
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(
            f"Config file {str(path)!r} does not exist. Received: config={str(path)!r}"
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise UsageError(
            f"Config file {str(path)!r} is not valid TOML ({err}). Received: config={str(path)!r}"
        ) from None
    if isinstance(values.get("train"), dict) and len(values) == 1:
        values = values["train"]
    values = {k.replace("-", "_"): v for k, v in values.items()}
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        raise UsageError(
            f"Unknown keys {unknown} in {str(path)!r}. Valid keys: "
            f"{sorted(SETTINGS)}. Received: {unknown}"
        )
    for key, value in values.items():
        kind = SETTINGS[key][0]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if key == "unfreeze" and isinstance(value, int):
            ok = True
        if not ok:
            raise UsageError(
                f"Key {key!r} in {str(path)!r} must be a {kind.__name__}. Received: {key}={value!r}"
            )
    return values


def resolve_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Merges defaults, ``--quick``, ``--config`` and explicit flags into one dict."""
    resolved = {k: v[1] for k, v in SETTINGS.items()}
    if args.quick:
        resolved.update(QUICK)
    if args.config:
        resolved.update(read_toml(args.config))
    resolved.update({k: getattr(args, k) for k in SETTINGS if getattr(args, k) is not None})
    if not resolved["data"]:
        raise UsageError(
            "Pass the dataset as DATA or as `data = ...` in --config. Received: data=None"
        )
    resolved["unfreeze"] = str(resolved["unfreeze"])
    for key in ("image_size", "epochs", "batch_size", "lr", "fine_tune_lr"):
        if resolved[key] is not None and resolved[key] <= 0:
            raise UsageError(
                f"--{key.replace('_', '-')} must be > 0. Received: {key}={resolved[key]!r}"
            )
    for key in ("fine_tune_epochs", "early_stopping", "bootstrap"):
        if resolved[key] < 0:
            raise UsageError(
                f"--{key.replace('_', '-')} must be >= 0. Received: {key}={resolved[key]!r}"
            )
    if resolved["on_error"] not in ("raise", "skip"):
        raise UsageError(
            f"--on-error must be 'raise' or 'skip'. Received: on_error={resolved['on_error']!r}"
        )
    if resolved["keep_checkpoints"] not in KEEP_CHECKPOINTS:
        raise UsageError(
            f"--keep-checkpoints must be one of {', '.join(map(repr, KEEP_CHECKPOINTS))}. "
            f"Received: keep_checkpoints={resolved['keep_checkpoints']!r}"
        )
    for key in ("val", "test"):
        if not 0 <= resolved[key] < 1:
            raise UsageError(f"--{key} must be in [0, 1). Received: {key}={resolved[key]!r}")
    return resolved


def to_toml(settings: dict[str, Any]) -> str:
    """Writes flat scalar settings as TOML (``None`` values are left out).

    Example:
        >>> print(to_toml({"data": "d", "epochs": 2, "group": True, "lr": 0.001}), end="")
        data = "d"
        epochs = 2
        group = true
        lr = 0.001
    """
    import json

    lines = []
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        else:
            text = json.dumps(str(value))  # a JSON string is a valid TOML basic string
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
