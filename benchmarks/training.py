"""Benchmark: the Trainer against the plain Keras recipe (../shared/baselines/seed_recipe.py).

Both run in this one invocation on the same images, the same validation split (the one Keras'
``image_dataset_from_directory(validation_split=..., seed=...)`` picks, which is stratified
only by chance; we reuse its exact file lists so both see identical validation images), the
same input size, epochs and head width. The baseline runs the frozen backbone over every image
in every epoch; the Trainer runs it once (frozen-feature cache) under the precision its
hardware plan picks, and once more forced to float32 so the precision effect is visible.

Prints one JSON object with wall times, val accuracies and ratios (baseline / fracturenet).

Usage:
    python benchmarks/training.py [--data ../shared/data/bone-break] [--backbones vgg16,resnet50]
        [--epochs 5] [--image-size 224] [--limit 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
SEED_RECIPE = REPO.parent / "shared" / "baselines" / "seed_recipe.py"


def _keras_split(root: str, image_size: int, val_split: float, seed: int, limit: int) -> tuple:
    """The exact train/val file lists the seed recipe's Keras loader uses (flattened tree)."""
    import keras

    sys.path.insert(0, str(SEED_RECIPE.parent))
    from seed_recipe import flatten_subset  # the baseline's own flattening, reused as is

    flat = flatten_subset(root, "Train")
    if limit:  # keep the first `limit` files (sorted) per class, for a quicker run
        for cls in os.listdir(flat):
            for name in sorted(os.listdir(os.path.join(flat, cls)))[limit:]:
                os.remove(os.path.join(flat, cls, name))
    common = dict(validation_split=val_split, seed=seed, image_size=(image_size, image_size),
                  batch_size=32)
    tr = keras.utils.image_dataset_from_directory(flat, subset="training", **common)
    va = keras.utils.image_dataset_from_directory(flat, subset="validation", **common)
    return flat, tr.class_names, tr.file_paths, va.file_paths


def _manifest(paths: list[str], class_names: list[str]):
    from fracturenet.data import Manifest

    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[Path(p).parent.name] for p in paths]
    return Manifest([os.path.realpath(p) for p in paths], labels, class_names)


def _baseline(flat: str, backbone: str, a: argparse.Namespace) -> dict:
    out = Path(tempfile.mkdtemp()) / "seed.json"
    cmd = [sys.executable, str(SEED_RECIPE), flat, "--backbone", backbone, "--epochs",
           str(a.epochs), "--image-size", str(a.image_size), "--val-split", str(a.val_split),
           "--seed", str(a.seed), "--json", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    result["process_wall_s"] = time.perf_counter() - t0
    return result


def _ours(backbone: str, train, val, a: argparse.Namespace, precision: str) -> dict:
    from fracturenet.config import ModelConfig
    from fracturenet.training import Trainer

    cfg = ModelConfig(backbone, num_classes=train.num_classes,
                      input_shape=(a.image_size, a.image_size, 3), weights=None,
                      dense_units=128, dropout=0.5)
    t0 = time.perf_counter()
    trainer = Trainer(cfg, precision=precision, seed=a.seed, verbose=0)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()  # like the baseline's fit_wall_s: model.fit only, build excluded
    h = trainer.fit(train, val, epochs=a.epochs, class_weight=None, batch_size=32)
    wall = time.perf_counter() - t0
    return {"fit_wall_s": wall, "build_s": build, "precision": trainer.plan.precision,
            "feature_cache": h.feature_cache,
            "val_accuracy_last": h.history["val_accuracy"][-1],
            "val_accuracy_best": h.best_value}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "FRACTURENET_SHARED_DATA", str(REPO.parent / "shared" / "data" / "bone-break")))
    p.add_argument("--backbones", default="vgg16,resnet50")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--val-split", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit", type=int, default=0, help="files per class (0: all)")
    p.add_argument("--skip-float32", action="store_true")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    flat, classes, tr_files, va_files = _keras_split(a.data, a.image_size, a.val_split, a.seed,
                                                     a.limit)
    train, val = _manifest(tr_files, classes), _manifest(va_files, classes)
    report = {"data": a.data, "train_images": len(train), "val_images": len(val),
              "epochs": a.epochs, "image_size": a.image_size, "results": {}}
    for backbone in [b for b in a.backbones.split(",") if b]:
        base = _baseline(flat, backbone, a)
        auto = _ours(backbone, train, val, a, "auto")
        row = {"seed_recipe": base, "fracturenet_auto": auto,
               "wall_ratio_auto": base["fit_wall_s"] / auto["fit_wall_s"],
               "val_acc_diff_points_auto": 100 * (auto["val_accuracy_last"] - base["val_accuracy"])}
        if not a.skip_float32:
            f32 = _ours(backbone, train, val, a, "float32")
            row["fracturenet_float32"] = f32
            row["wall_ratio_float32"] = base["fit_wall_s"] / f32["fit_wall_s"]
            row["auto_vs_float32_speedup"] = f32["fit_wall_s"] / auto["fit_wall_s"]
        report["results"][backbone] = row
        print(json.dumps({backbone: row}), flush=True)
    print(json.dumps(report, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
