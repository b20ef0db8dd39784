"""Pooled VGG16 features of the real datasets, extracted once and cached (for real_transfer.py).

The features come from the library's own path: ``discover`` -> ``make_dataset`` (letterbox,
RGB, 0..255, as the Trainer builds it for a Manifest) -> ``build_classifier("vgg16")`` ->
``split_feature_extractor`` -> ``extract_features``, under the precision the Trainer picks by
default on this machine (``precision="auto"``). Files are written atomically to
``$FRACTURENET_FEATURE_DIR`` (default ``/tmp/fn-cache``) as
``<dataset>-vgg16-<weights>-<size>px.npz`` with ``features``, ``labels`` and ``paths``
(the manifest order of ``discover``, minus unreadable files, listed in ``skipped``).

Usage:
    PYTHONPATH=src python benchmarks/real_features.py fracatlas --weights imagenet --size 224
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FRACTURENET_SHARED", REPO.parent / "shared"))
DATASETS = {
    "bone-break": SHARED / "data/bone-break",
    "fracatlas": SHARED / "data/fracatlas/images",
}
CACHE = Path(os.environ.get("FRACTURENET_FEATURE_DIR", "/tmp/fn-cache"))


def feature_file(dataset: str, weights: str, size: int) -> Path:
    """The cache file of one dataset / weights / input size."""
    return CACHE / f"{dataset}-vgg16-{weights}-{size}px.npz"


def manifest(dataset: str):
    """The dataset's manifest in ``discover`` order (Bone Break: its Train split only)."""
    from fracturenet.data import discover

    m = discover(DATASETS[dataset])
    keep = [i for i, s in enumerate(m.splits) if s != "test"]
    return m.select(keep) if len(keep) != len(m) else m


def extract(dataset: str, weights: str, size: int, *, precision: str = "auto") -> Path:
    """Extracts (or finds) the pooled VGG16 features of ``dataset``; returns the file."""
    out = feature_file(dataset, weights, size)
    if out.exists():
        return out
    import keras

    from fracturenet.data import make_dataset
    from fracturenet.data.bad_images import kept_paths
    from fracturenet.hardware import detect_hardware, plan_execution
    from fracturenet.models import build_classifier, split_feature_extractor
    from fracturenet.training.feature_cache import extract_features

    m = manifest(dataset)
    policy = plan_execution(detect_hardware(), precision=precision).precision
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)  # random weights: the same network every time
    model = build_classifier(
        "vgg16", num_classes=len(m.class_names), input_shape=(size, size, 3),
        weights=None if weights == "random" else "imagenet",
    )  # fmt: skip
    extractor, _ = split_feature_extractor(model)
    # FracAtlas has truncated JPEGs: left out (and listed), as the Trainer's on_error="skip"
    ds = make_dataset(m, image_size=size, batch_size=32, training=False, on_error="skip")
    t0 = time.perf_counter()
    feats, labels = extract_features(extractor, ds, verbose=1)
    seconds = time.perf_counter() - t0
    kept = list(kept_paths(ds))
    skipped = [p for p in m.paths if p not in set(kept)]
    tmp = out.with_suffix(".tmp.npz")
    np.savez(
        tmp, features=feats, labels=labels, paths=np.array(kept), skipped=np.array(skipped),
        class_names=np.array(m.class_names), seconds=seconds, policy=str(policy),
    )  # fmt: skip
    os.replace(tmp, out)
    print(f"{out}: {feats.shape} in {seconds:.0f}s ({policy})", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=sorted(DATASETS))
    p.add_argument("--weights", choices=["imagenet", "random"], default="imagenet")
    p.add_argument("--size", type=int, default=224)
    a = p.parse_args(argv)
    print(extract(a.dataset, a.weights, a.size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
