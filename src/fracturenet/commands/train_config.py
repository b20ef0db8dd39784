"""Settings of ``fracturenet train``: flags, TOML configs whose keys mirror them, resolution.

Precedence: built-in defaults < ``--quick`` preset < the ``--config`` TOML file < flags given
on the command line. The resolved settings are saved in the run folder as ``run.toml``, which
``fracturenet train --config run.toml`` accepts again.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from fracturenet.commands._registry import UsageError

__all__ = [
    "SETTINGS",
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
# key -> (type, default, help); every key is a flag (--image-size) and a TOML key (image_size)
SETTINGS: dict[str, tuple[type, Any, str]] = {
    "data": (str, None, "dataset folder or CSV manifest"),
    "out": (str, None, "new run folder (default: fracturenet-runs/train-<time>)"),
    "backbone": (str, "resnet50", "registered backbone (see `fracturenet info`)"),
    "weights": (str, "imagenet", "imagenet | none | PATH to a weights file"),
    "image_size": (int, 224, "input side in pixels"),
    "resize_mode": (
        str,
        "letterbox",
        "how images are fitted to the input: letterbox | stretch | crop (saved with the "
        "model; evaluate, predict, explain and export use it)",
    ),
    "epochs": (int, 10, "head-only epochs (phase 1)"),
    "fine_tune_epochs": (int, 0, "epochs with the top of the backbone unfrozen (phase 2)"),
    "unfreeze": (str, "2", "phase 2: number of top blocks, a layer name, or 'all'"),
    "lr": (
        float,
        None,
        "phase-1 learning rate: the head's (transfer) or the peak of the scratch recipe (default: the recipe's, 3e-3 head, 1e-3 scratch)",
    ),
    "fine_tune_lr": (float, 1e-5, "phase-2 learning rate"),
    "batch_size": (int, 32, "images per step"),
    "augment": (str, "none", "augmentation preset, or 'none'"),
    "precision": (str, "auto", PRECISION_HELP),
    "seed": (int, 42, "seed for splits, weights and shuffling"),
    "val": (float, 0.2, "validation fraction of the images the layout does not assign"),
    "test": (float, 0.0, "test fraction (a test split of the layout is always kept)"),
    "group": (bool, True, "keep duplicate clusters in one split (--no-group to disable)"),
    "dropout": (float, 0.3, "dropout rate of the head"),
    "early_stopping": (int, 0, "patience in epochs (0 = off)"),
    "bootstrap": (int, 1000, "bootstrap resamples for the test metrics' 95%% intervals"),
    "on_error": (str, "raise", "unreadable images: raise | skip (listed in skipped.json)"),
    "keep_checkpoints": (
        str,
        "last",
        "checkpoints kept in the run folder: last (latest, previous and best; what resume "
        "needs) | all (every epoch) | none (deleted once model.keras is saved)",
    ),
}
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
