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
    "check_selection",
    "describe_split",
    "leakage_warning",
    "provenance_lines",
    "random_weights_warning",
    "used_for_selection",
]


def check_selection(training_data: dict[str, Any], digests: list[str | None]) -> dict[str, Any]:
    """Compares evaluated images with the images a model was trained and selected on.

    Args:
        training_data: The model's record (see
            :func:`~fracturenet.models.provenance.training_data_of`).
        digests: SHA-256 of each evaluated file's bytes
            (:func:`~fracturenet.data.fingerprint.file_digest`; ``None``: unreadable).

    Returns:
        The report's ``selection_check``: ``{"basis", "n", "sha256" (of the evaluated files'
        digests, as the sets' own), "sets": {name: {"n", "sha256",
        "used_for_selection", "shared"}}, "used_for_selection"}``, where ``shared`` counts the
        evaluated images whose content is in that set (``None`` when the set has no
        digests) and ``used_for_selection`` is ``True`` when any evaluated image is in a
        selection set, ``False`` when none is and every selection set could be checked,
        else ``None``.

    Example:
        >>> record = {"sets": {"val": {"n": 2, "sha256": "ab", "digests": "",
        ...                            "used_for_selection": True}}}
        >>> check = check_selection(record, ["00" * 32])
        >>> check["sets"]["val"]["shared"], check["used_for_selection"]
        (0, False)
    """
    from fracturenet.data.fingerprint import count_shared

    sets: dict[str, Any] = {}
    for name, record in (training_data.get("sets") or {}).items():
        known = record.get("digests") is not None
        sets[name] = {
            "n": record.get("n"),
            "sha256": record.get("sha256"),
            "used_for_selection": bool(record.get("used_for_selection")),
            "shared": count_shared(record, digests) if known else None,
        }
    selecting = [s for s in sets.values() if s["used_for_selection"]]
    if any(s["shared"] for s in selecting):
        verdict: bool | None = True
    elif all(s["shared"] is not None for s in selecting) and None not in digests:
        verdict = False
    else:
        verdict = None
    import hashlib

    complete = None not in digests
    return {
        "basis": "file content (SHA-256)",
        "n": len(digests),
        # the evaluated set's fingerprint, comparable with each set's sha256
        "sha256": hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
        if complete
        else None,
        "sets": sets,
        "used_for_selection": verdict,
    }


def _shared(info: dict[str, Any]) -> list[tuple[str, int, bool]]:
    """``(set name, images shared, set used for selection)`` for each set sharing images."""
    sets = (info.get("selection_check") or {}).get("sets") or {}
    return [(k, int(v["shared"]), bool(v["used_for_selection"])) for k, v in sets.items()
            if v.get("shared")]  # fmt: skip


def leakage_warning(info: dict[str, Any], n: int) -> str | None:
    """The warning for evaluated images that are also in the model's training images.

    Args:
        info: A report's ``info`` (its ``selection_check``, when recorded).
        n: Number of evaluated images.

    Returns:
        The warning, or ``None`` when no training image was found among the evaluated ones.

    Example:
        >>> check = {"sets": {"train": {"shared": 3, "used_for_selection": False}}}
        >>> leakage_warning({"selection_check": check}, 50)
        "Warning: leakage: 3 of 50 evaluated images are also in the model's train split (same file content); these numbers are optimistic."
    """
    leaks = [(k, c) for k, c, sel in _shared(info) if k == "train" or not sel]
    if not leaks:
        return None
    where = " and ".join(f"{c} of {n} evaluated images are also in the model's {k} split"
                         for k, c in leaks)  # fmt: skip
    return f"Warning: leakage: {where} (same file content); these numbers are optimistic."


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
    picked = [(k, c) for k, c, sel in _shared(info) if sel]
    if selection is None:
        tail = "use for model selection not recorded"
    elif selection and picked and max(c for _, c in picked) < n:
        parts = ", ".join(f"{c} of {n} images are in the model's {k} split" for k, c in picked)
        tail = (
            f"partly used for model selection ({parts}; early stopping / best epoch): "
            "optimistic, not a test result"
        )
    elif selection:
        tail = (
            "used for model selection (early stopping / best epoch): optimistic, not a test result"
        )
    else:
        tail = "not used for model selection"
    leak = leakage_warning(info, n)
    if leak:
        tail += "; " + leak.removeprefix("Warning: ").removesuffix(".")
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
    "selection_check",
    "skipped",
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
    skipped = info.get("skipped") or []
    if skipped:
        lines.append(
            f"Left out {len(skipped)} unreadable image(s) (on_error='skip'): "
            + "; ".join(f"{s['path']} ({s['reason']})" for s in skipped)
        )
    for warning in (leakage_warning(info, n), random_weights_warning(info)):
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
    check = info.get("selection_check") or {}
    sets = check.get("sets") or {}
    if check.get("sha256"):
        parts.append(f"evaluated files' content sha256 {check['sha256'][:16]}…")
    if sets:
        parts.append(
            "trained on: "
            + ", ".join(
                f"{k} n {v['n']}"
                + (f" sha256 {v['sha256'][:16]}…" if v.get("sha256") else " (no file list)")
                + (" (model selection)" if v["used_for_selection"] else "")
                for k, v in sets.items()
            )
        )
    if info.get("versions"):
        parts.append("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    if parts:
        lines.append("Model: " + "; ".join(parts))
    return lines
