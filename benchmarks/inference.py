"""Inference throughput: the Predictor against plain ``model.predict`` in float32.

Builds ResNet50 at 224 px (weights=None, 10 classes), saves and reloads it as a user's run
would, then measures images/s at batch 1 and 32 for

* ``baseline``: ``model.predict(x, batch_size=b)`` on the float32 model;
* ``predictor_float32``: the Predictor forced to float32 (its compiled call, no bf16);
* ``predictor``: the Predictor with ``precision="auto"`` (``mixed_bfloat16`` on CPUs with
  AVX512-BF16/AMX);

all on the same images in the same process, plus the Predictor's top-1 agreement with the
float32 baseline. Input images are real X-rays from ``$FRACTURENET_SHARED_DATA`` (or
``../shared/data/bone-break``) when present, else seeded random pixels. Prints JSON.

Usage: python benchmarks/inference.py [--images 64] [--batch1-images 16] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _images(n: int, size: int) -> tuple[np.ndarray, str]:
    from fracturenet.data import load_resized
    from fracturenet.inference import iter_image_files

    root = os.environ.get("FRACTURENET_SHARED_DATA") or str(
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bone-break"
    )
    if Path(root).is_dir():
        files = sorted(iter_image_files(root))
        step = max(1, len(files) // n)
        picked = files[::step][:n]
        return np.stack([load_resized(p, size) for p in picked]).astype("float32"), root
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (n, size, size, 3)).astype("float32"), "random pixels"


def _pass(fn, x: np.ndarray, batch: int) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = np.concatenate([fn(x[i : i + batch]) for i in range(0, len(x), batch)])
    return len(x) / (time.perf_counter() - t0), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="images for batch 32")
    parser.add_argument("--batch1-images", type=int, default=16, help="images for batch 1")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=3, help="best of N interleaved passes")
    args = parser.parse_args()

    import keras

    from fracturenet.inference import Predictor
    from fracturenet.models import build_classifier, load_model, save_model

    keras.utils.set_random_seed(0)
    model = build_classifier(
        "resnet50", num_classes=10, input_shape=(args.size, args.size, 3), weights=None
    )
    path = Path(tempfile.mkdtemp()) / "model.keras"
    save_model(model, path, class_names=[f"c{i}" for i in range(10)])
    model = load_model(path)
    x, source = _images(args.images, args.size)
    fast = Predictor.load(path, precision="auto", batch_size=32)
    plain32 = Predictor.load(path, precision="float32", batch_size=32)
    runners = {
        "baseline": lambda b: lambda xb: model.predict(xb, batch_size=b, verbose=0),
        "predictor_float32": lambda b: plain32.predict_arrays,
        "predictor": lambda b: fast.predict_arrays,
    }
    results: dict[str, dict[str, float]] = {k: {} for k in runners}
    probs: dict[str, np.ndarray] = {}
    for batch, n in ((1, args.batch1_images), (32, args.images)):
        fast.batch_size = plain32.batch_size = batch
        fns = {name: make(batch) for name, make in runners.items()}
        for fn in fns.values():
            fn(x[:batch])  # warm-up: tracing, oneDNN primitive creation
        # Interleaved passes, best of `repeats` each: the machine is shared, so a slow
        # moment hurts every variant alike instead of one of them.
        for _ in range(args.repeats):
            for name, fn in fns.items():
                rate, out = _pass(fn, x[:n], batch)
                key = f"batch{batch}_images_per_s"
                results[name][key] = round(max(rate, results[name].get(key, 0.0)), 2)
                if batch == 32:
                    probs[name] = out
    ref = probs["baseline"].argmax(1)
    report = {
        "model": f"resnet50 {args.size}px weights=None 10 classes",
        "images": {"batch32": args.images, "batch1": args.batch1_images, "source": source},
        "predictor_precision": fast.precision,
        "cpu_count": os.cpu_count(),
        "throughput": results,
        "speedup_vs_baseline": {
            name: {
                f"batch{b}": round(
                    results[name][f"batch{b}_images_per_s"]
                    / results["baseline"][f"batch{b}_images_per_s"],
                    2,
                )
                for b in (1, 32)
            }
            for name in ("predictor_float32", "predictor")
        },
        "top1_agreement_vs_float32": float(np.mean(probs["predictor"].argmax(1) == ref)),
        "max_abs_prob_diff_vs_float32": float(np.abs(probs["predictor"] - probs["baseline"]).max()),
        "goal": ">= 1.8x at batch 32 with >= 99% top-1 agreement",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
