"""Metrics per value of a per-image attribute (body region, view, scanner...), with CIs.

A facet is a name and one value per evaluated image (e.g. ``{"region": ["hand", "leg",
...]}``, or a mapping from image id/path/file name to value). For every value the table gives
the number of images, accuracy, and for a binary task with a positive class the sensitivity
(on that value's positives) and specificity (on its negatives), each with a Wilson score
interval: per-facet counts are often small, where the Wilson interval keeps its coverage and
stays inside ``[0, 1]`` (unlike the normal approximation), and it is exact arithmetic, so the
table does not depend on a bootstrap seed. Images without a value are counted under
``"(missing)"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "MISSING_FACET",
    "facet_table",
    "facets_from_csv",
    "resolve_facets",
    "wilson_interval",
]

#: The value under which images without a facet value are counted.
MISSING_FACET = "(missing)"


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n``.

    Args:
        successes: Count of successes, ``0 <= successes <= n``.
        n: Number of trials.
        level: Coverage in ``(0, 1)``. Defaults to `0.95`.

    Returns:
        ``(low, high)``; ``(nan, nan)`` when ``n == 0``.

    Raises:
        ValueError: If the counts or ``level`` are out of range.

    Example:
        >>> [round(v, 4) for v in wilson_interval(8, 10)]
        [0.4902, 0.9433]
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"`level` must lie strictly between 0 and 1. Received: level={level}")
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(
            f"Counts must satisfy 0 <= successes <= n. Received: successes={successes}, n={n}"
        )
    if n == 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf((1.0 + level) / 2.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, no rounding
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _value_for(values: Mapping[Any, Any], image_id: str) -> Any:
    for key in (
        image_id,
        os.path.basename(image_id),
        os.path.splitext(os.path.basename(image_id))[0],
    ):
        if key in values:
            return values[key]
    return None


def resolve_facets(
    facets: Mapping[str, Sequence[Any] | Mapping[Any, Any]] | None,
    ids: Sequence[str],
    all_ids: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """One string value per evaluated image for each facet.

    Args:
        facets: Name -> values. Values are a sequence in the order of the evaluated images
            (or of ``all_ids``, the images before unreadable ones were skipped), or a mapping
            keyed by image id, file name or file stem.
        ids: The evaluated images' ids (paths), in order.
        all_ids: The ids before skipping, for sequences aligned with them. Defaults to `None`.

    Returns:
        Name -> list of ``len(ids)`` strings (``"(missing)"`` for no value).

    Raises:
        ValueError: If ``facets`` is not a mapping, or a sequence has the wrong length.
    """
    if facets is None:
        return {}
    if not isinstance(facets, Mapping):
        raise ValueError(
            "Argument `facets` must map a facet name to one value per image (a sequence or "
            f"a mapping from image id/file name). Received: facets={type(facets).__name__}"
        )
    out: dict[str, list[str]] = {}
    for name, values in facets.items():
        if not isinstance(values, Mapping):
            seq = list(values)
            if len(seq) == len(ids):
                values = dict(zip(ids, seq, strict=True))
            elif all_ids is not None and len(seq) == len(all_ids):
                values = dict(zip(all_ids, seq, strict=True))
            else:
                raise ValueError(
                    f"Facet {name!r} must have one value per evaluated image ({len(ids)}). "
                    f"Received: {len(seq)} values"
                )
        column = []
        for i in ids:
            v = _value_for(values, str(i))
            missing = v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
            column.append(MISSING_FACET if missing else str(v))
        out[str(name)] = column
    return out


def _row(hit: np.ndarray, level: float) -> dict[str, Any]:
    k, n = int(hit.sum()), int(len(hit))
    lo, hi = wilson_interval(k, n, level)
    return {"value": k / n if n else float("nan"), "low": lo, "high": hi, "n": n}


def facet_table(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    values: Sequence[str],
    *,
    positive: int | None = None,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """Accuracy (and sensitivity/specificity) per facet value, with Wilson intervals.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_pred: Predicted labels at the operating point, shape ``(n,)``.
        values: One facet value per image (strings).
        positive: The positive class of a binary task, or ``None`` (accuracy only).
            Defaults to `None`.
        level: Coverage of the intervals. Defaults to `0.95`.

    Returns:
        One dict per value (sorted by name): ``facet_value``, ``n``, ``n_positive`` (binary)
        and ``accuracy``, ``sensitivity``, ``specificity`` (binary), each a dict with
        ``value``, ``low``, ``high`` and the ``n`` it is computed on.

    Example:
        >>> rows = facet_table(np.array([1, 0, 1, 0]), np.array([1, 0, 0, 0]),
        ...                    ["hand", "hand", "leg", "leg"], positive=1)
        >>> [(r["facet_value"], r["sensitivity"]["value"]) for r in rows]
        [('hand', 1.0), ('leg', 0.0)]
    """
    y = np.asarray(y_true)
    pred = np.asarray(y_pred)
    v = np.asarray(list(values), dtype=object)
    if not len(y) == len(pred) == len(v):
        raise ValueError(
            "Labels, predictions and facet values must have one entry per image. "
            f"Received: {len(y)}, {len(pred)}, {len(v)}"
        )
    rows = []
    for value in sorted(set(v.tolist())):
        sel = v == value
        row: dict[str, Any] = {"facet_value": value, "n": int(sel.sum())}
        row["accuracy"] = _row(y[sel] == pred[sel], level)
        if positive is not None:
            pos = sel & (y == positive)
            neg = sel & (y != positive)
            row["n_positive"] = int(pos.sum())
            row["sensitivity"] = _row(pred[pos] == positive, level)
            row["specificity"] = _row(pred[neg] != positive, level)
        rows.append(row)
    return rows


def _parse_spec(spec: str) -> tuple[str, list[str]]:
    name, sep, cols = str(spec).partition("=")
    columns = [c.strip() for c in cols.split(",") if c.strip()] if sep else [name.strip()]
    if not name.strip() or not columns:
        raise ValueError(
            "A facet is a CSV column, or NAME=COL1,COL2,... for 0/1 flag columns combined "
            f"into one attribute. Received: facet={spec!r}"
        )
    return name.strip(), columns


def facets_from_csv(
    path: str | os.PathLike[str], specs: Sequence[str], *, key: str | None = None
) -> dict[str, dict[str, str]]:
    """Per-image facet values from a metadata CSV, keyed by its image column.

    Args:
        path: A CSV with a header row and one row per image.
        specs: Facets, each a column name (its values are the facet values) or
            ``NAME=COL1,COL2,...``: 0/1 flag columns combined into one attribute whose value
            is the name of the flag set (``"a+b"`` when several are, missing when none is),
            e.g. ``region=hand,leg,hip,shoulder``.
        key: The column naming the image (a path, file name or stem, matched as in
            :func:`resolve_facets`). Defaults to `None`: the first column.

    Returns:
        Facet name -> {image key -> value}, for ``evaluate(facets=...)``.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If a column is not in the CSV (the message lists them) or a spec is
            malformed.

    Example:
        >>> import tempfile
        >>> f = os.path.join(tempfile.mkdtemp(), "m.csv")
        >>> _ = open(f, "w").write("image_id,hand,leg,view\\na.jpg,1,0,ap\\nb.jpg,0,0,lat\\n")
        >>> facets_from_csv(f, ["region=hand,leg", "view"])
        {'region': {'a.jpg': 'hand', 'b.jpg': None}, 'view': {'a.jpg': 'ap', 'b.jpg': 'lat'}}
    """
    import csv

    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"Metadata CSV {str(path)!r} does not exist. Received: path={str(path)!r}"
        )
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    parsed = [_parse_spec(s) for s in specs]
    key = key or (header[0] if header else None)
    wanted = {key, *(c for _, cols in parsed for c in cols)}
    missing = sorted(c for c in wanted if c not in header)
    if missing:
        raise ValueError(
            f"Column(s) {missing} are not in {str(path)!r}; its columns: {header}. "
            f"Received: facets={list(specs)}, key={key!r}"
        )
    out: dict[str, dict[str, str]] = {}
    for name, cols in parsed:
        values: dict[str, Any] = {}
        for row in rows:
            if len(cols) == 1:
                values[row[key]] = row[cols[0]]
            else:
                on = [c for c in cols if str(row[c]).strip() not in ("", "0", "0.0", "false")]
                values[row[key]] = "+".join(on) if on else None
        out[name] = values
    return out
