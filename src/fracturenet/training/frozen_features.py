"""Phase 1's frozen features: from the disk cache, or one pass of the (folded) backbone."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from fracturenet.data.manifest import Manifest
from fracturenet.training.context import RunContext
from fracturenet.training.distributed import predict_local
from fracturenet.training.feature_cache import (
    FeatureCache,
    extract_features,
    manifest_feature_key,
)

__all__ = ["frozen_features"]


def frozen_features(
    context: RunContext, extractor: Any, ds: Any, source: Any, mode: str, directory: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of ``ds`` for the Trainer's head-only phase.

    ``mode="disk"`` first looks in the feature cache (keyed by files, backbone, weights,
    input size and precision). Otherwise the backbone runs once over the data, as a copy with
    BatchNorm folded into the layers before it (the same features, faster); the copy is made
    once per extractor and reused for the validation data.

    Args:
        context: The Trainer's :class:`~fracturenet.training.context.RunContext` (its log,
            run folder, strategy and the folded extractor of the phase).
        extractor: The frozen feature extractor from ``split_feature_extractor``.
        ds: Batches of ``(images, labels)`` or an ``(x, y)`` tuple.
        source: What ``ds`` was made from (a ``Manifest`` gives a disk-cache key).
        mode: ``"memory"`` or ``"disk"``.
        directory: Folder of the disk cache, or ``None`` for the run's ``cache/``.

    Returns:
        ``(features, labels)``.
    """
    t0 = time.perf_counter()
    cache = key = None
    if mode == "disk":
        cache = FeatureCache(directory or context.run.file("cache"))
        key = manifest_feature_key(context.model, source) if isinstance(source, Manifest) else None
        hit = cache.load(key) if key else None
        if hit is not None:
            context.log(
                f"feature cache: loaded {len(hit[1])} feature vectors from {cache.path(key)}"
            )
            return hit
    with context.scope():
        model = _folded_once(context, extractor)
        feats = extract_features(
            model,
            ds,
            verbose=1 if context.verbose else 0,  # totals and ETA at every verbosity
            write=context.log,
            predict=predict_local if context.multi_worker else None,
        )
    context.log(
        f"feature cache: backbone ran once over {len(feats[1])} images "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    if cache is not None and key:
        cache.save(key, *feats)
    return feats


def _folded_once(context: RunContext, extractor: Any) -> Any:
    """The extractor with BatchNorm folded, made once per extractor (train and val share it)."""
    from fracturenet.models import fold_batchnorm

    memo = context.folded_extractor
    if memo is not None and memo[0] is extractor:
        return memo[1]
    try:
        folded, n = fold_batchnorm(extractor)
    except Exception as e:  # noqa: BLE001 - an optimisation: fall back, and say so
        context.log(f"feature cache: BatchNorm folding skipped ({type(e).__name__}: {e})")
        folded, n = extractor, 0
    if n:
        context.log(f"feature cache: {n} BatchNorm layers folded into the layers before them")
    context.folded_extractor = (extractor, folded)
    return folded
