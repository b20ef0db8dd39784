"""Rank explanation methods by deletion/insertion AUC (RISE) on a saved model and images.

Prints JSON (and the Markdown table on stderr) with every method's mean AUCs against the
random-map baseline measured in the same run, as ``insertion - deletion`` margins over it.

    PYTHONPATH=src python benchmarks/explain_faithfulness.py MODEL.keras IMG_DIR --limit 16

Without MODEL/IMG_DIR it uses a crafted model whose class-1 score is the brightness of a
known box (so the right answer is known), on synthetic images.

    PYTHONPATH=src python benchmarks/explain_faithfulness.py --phantoms [--epochs 25]

trains a small CNN (``tiny_cnn`` from ``phantom_learnability.py``) on comminuted-vs-intact
phantoms and ranks the methods on the held-out fractured ones; it also reports each method's
mean ``heat_in_mask_ratio`` against the true fracture masks (and the random map's).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def crafted() -> tuple[object, np.ndarray]:
    import keras

    x = keras.Input((48, 48, 3))
    y = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
    y = keras.layers.Cropping2D(((12, 20), (16, 16)), name="region")(y)
    y = keras.layers.GlobalAveragePooling2D(name="head_pool")(y)
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    model = keras.Model(x, dense(y))
    keras.utils.set_random_seed(0)
    conv = model.get_layer("conv")
    conv.set_weights([np.full((3, 3, 3, 4), 1 / 27, "float32"), np.zeros(4, "float32")])
    dense.set_weights(
        [np.tile([[-0.002, 0.002]], (4, 1)).astype("f4"), np.array([0.6, -0.6], "f4")]
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 120, (8, 48, 48, 3))
    images[:, 12:28, 16:32] += 100
    return model, images


def phantom_model(epochs: int, size: int = 64) -> tuple[object, np.ndarray, list, dict]:
    """Trains tiny_cnn on phantoms; returns a raw-pixel model, fractured test images, masks."""
    import tempfile

    import keras
    from phantom_learnability import tiny_cnn

    from fracturenet.data import load_image
    from fracturenet.phantoms import load_fracture_mask, make_synthetic_fractures

    root = Path(tempfile.mkdtemp()) / "phantoms"
    m = make_synthetic_fractures(
        root, classes=["comminuted"], include_normal=True, images_per_class=64, image_size=size
    )

    def split(name: str) -> tuple[np.ndarray, np.ndarray, tuple]:
        sub = m.subset(name)
        x = np.stack([load_image(p)[..., :1] for p in sub.paths]).astype("float32")
        return x, np.asarray(sub.labels), sub.paths

    (x_tr, y_tr, _), (x_te, y_te, paths) = split("train"), split("test")
    keras.utils.set_random_seed(0)
    net = tiny_cnn(size, 2)
    net.fit(x_tr / 255.0, y_tr, epochs=epochs, batch_size=16, verbose=0)
    inputs = keras.Input((size, size, 1))
    y = keras.layers.Rescaling(1 / 255)(inputs)
    for layer in net.layers[1:]:  # same trained layers, one flat graph taking 0-255 pixels
        y = layer(y)
    model = keras.Model(inputs, y)
    accuracy = float((model.predict(x_te, verbose=0).argmax(1) == y_te).mean())
    fracture = 1 - m.class_names.index("No fracture")
    keep = [i for i, label in enumerate(y_te) if label == fracture]
    masks = [load_fracture_mask(paths[i]) for i in keep]
    info = {"test_accuracy": round(accuracy, 3), "epochs": epochs, "target": fracture}
    return model, x_te[keep], masks, info


def mask_ratios(model, images, masks, methods, target) -> dict[str, float]:
    from fracturenet.explain import explain, heat_in_mask_ratio, random_heatmaps

    out = {}
    for method in methods:
        heat = explain(model, images, method=method, target=target).heatmaps
        out[method] = float(np.nanmean([heat_in_mask_ratio(h, m) for h, m in zip(heat, masks)]))
    rand = random_heatmaps((len(masks), *masks[0].shape), seed=0)
    out["random"] = float(np.mean([heat_in_mask_ratio(h, m) for h, m in zip(rand, masks)]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("images", nargs="?")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--max-n", type=int, help="max_N for faster-scorecam (default 10)")
    parser.add_argument("--phantoms", action="store_true", help="train on phantoms first")
    parser.add_argument("--epochs", type=int, default=25, help="phantom training epochs")
    args = parser.parse_args()

    import keras

    from fracturenet.explain import compare_methods, load_image

    target = 1 if not args.model else "predicted"
    extra = {}
    if args.phantoms:
        model, images, masks, info = phantom_model(args.epochs)
        target = info["target"]
        source = {"model": "tiny_cnn trained on phantoms", "n": len(images), **info}
    elif args.model:
        model = keras.saving.load_model(args.model)
        files = sorted(
            p for p in Path(args.images).rglob("*") if p.suffix.lower() in {".png", ".jpg", ".jpeg"}
        )[: args.limit]
        images = [load_image(p) for p in files]
        source = {"model": args.model, "images": args.images, "n": len(images)}
    else:
        model, images = crafted()
        source = {"model": "crafted box model", "n": len(images)}
    result = compare_methods(
        model,
        images,
        steps=args.steps,
        target=target,
        method_kwargs={"faster-scorecam": {"max_N": args.max_n}} if args.max_n else None,
    )
    print(result.to_markdown(), file=sys.stderr)
    if args.phantoms:
        methods = [r.method for r in result.rows if r.method != "random"]
        extra["heat_in_mask_ratio"] = mask_ratios(model, images, masks, methods, target)
    random = next(r for r in result.rows if r.method == "random")
    print(
        json.dumps(
            {
                **source,
                "steps": result.steps,
                "ranking": result.ranking,
                "rows": [
                    {**r.__dict__, "score": r.score, "margin_over_random": r.score - random.score}
                    for r in result.rows
                ],
                **extra,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
