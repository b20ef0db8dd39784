"""What a report's numbers were measured on, and with which model: split, n, provenance.

Every report, table and verdict states the split it was computed on, n, and whether that
split was used for model selection (early stopping or best-epoch choice), because numbers on
a selection split are optimistic and must not be read as test results. A model trained from
random weights says so next to its numbers.

Example:
    >>> describe_split({"split": "val", "used_for_selection": True}, 198)
    'val split, n = 198 images, used for model selection (early stopping / best epoch): optimistic, not a test result'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "PROVENANCE_KEYS",
    "describe_split",
    "provenance_lines",
    "random_weights_warning",
    "used_for_selection",
]


def used_for_selection(info: dict[str, Any]) -> bool | None:
    """``True``/``False`` when a report records whether its split picked the model, else None.

    Example:
        >>> used_for_selection({"split": "test", "used_for_selection": False})
        False
    """
    value = info.get("used_for_selection")
    return None if value is None else bool(value)


def describe_split(info: dict[str, Any], n: int) -> str:
    """One phrase naming the split, n and whether the split was used for model selection.

    Args:
        info: A report's ``info`` (keys ``split`` and ``used_for_selection``, maybe absent).
        n: Number of images the numbers were computed on.

    Returns:
        E.g. ``"test split, n = 140 images, not used for model selection"``.

    Example:
        >>> describe_split({}, 5)
        'split not recorded, n = 5 images, use for model selection not recorded'
    """
    split = info.get("split")
    where = f"{split} split" if split else "split not recorded"
    selection = used_for_selection(info)
    if selection is None:
        tail = "use for model selection not recorded"
    elif selection:
        tail = (
            "used for model selection (early stopping / best epoch): optimistic, not a test result"
        )
    else:
        tail = "not used for model selection"
    return f"{where}, n = {n} images, {tail}"


def random_weights_warning(info: dict[str, Any]) -> str | None:
    """The warning a report of a model without (complete) pretrained weights carries.

    Example:
        >>> random_weights_warning({"weights": {"source": "none"}})
        'Warning: this model was trained from random weights (no pretrained weights).'
    """
    weights = info.get("weights") or {}
    if weights.get("source") == "none":
        return "Warning: this model was trained from random weights (no pretrained weights)."
    if weights.get("partial"):
        return (
            f"Warning: only {weights.get('matched_fraction', 0):.1%} of the backbone's layers "
            f"were loaded from {weights.get('path')}; the rest started from random weights."
        )
    return None


#: ``info`` keys rendered by :func:`provenance_lines` rather than as plain settings.
PROVENANCE_KEYS: tuple[str, ...] = (
    "split",
    "used_for_selection",
    "backbone",
    "input_shape",
    "resize_mode",
    "precision",
    "weights",
    "versions",
    "data",
)


def _weights_text(weights: dict[str, Any]) -> str:
    source = weights.get("source", "unknown")
    if source == "none":
        return "none (random initialisation)"
    text = source if source != "file" else f"file {weights.get('path')}"
    if weights.get("sha256"):
        text += f" (sha256 {weights['sha256'][:16]}…)"
    if weights.get("partial"):
        text += f", PARTIAL: {weights.get('matched_fraction', 0):.1%} of layers matched"
    return text


def provenance_lines(info: dict[str, Any], n: int) -> list[str]:
    """Markdown lines stating the split, n, selection use, weights and model provenance.

    Example:
        >>> provenance_lines({"split": "test", "used_for_selection": False}, 3)[0]
        'Evaluated on: test split, n = 3 images, not used for model selection.'
    """
    lines = [f"Evaluated on: {describe_split(info, n)}."]
    warning = random_weights_warning(info)
    if warning:
        lines.append(f"**{warning}**")
    parts = [
        f"{k}={info[k]}"
        for k in ("backbone", "input_shape", "resize_mode", "precision")
        if info.get(k) is not None
    ]
    if info.get("weights"):
        parts.append(f"weights={_weights_text(info['weights'])}")
    if info.get("data"):
        parts.append("data=" + ", ".join(f"{k} {v}" for k, v in info["data"].items()))
    if info.get("versions"):
        parts.append("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    if parts:
        lines.append("Model: " + "; ".join(parts))
    return lines
