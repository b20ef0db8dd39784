"""Rank explanation methods by deletion/insertion AUC (RISE) on a saved model and images.

Prints JSON (and the Markdown table on stderr) with every method's mean AUCs against the
random-map baseline measured in the same run, as ``insertion - deletion`` margins over it.

    PYTHONPATH=src python benchmarks/explain_faithfulness.py MODEL.keras IMG_DIR --limit 16

Without MODEL/IMG_DIR it uses a crafted model whose class-1 score is the brightness of a
known box (so the right answer is known), on synthetic images.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?")
    parser.add_argument("images", nargs="?")
    parser.add_argument("--limit", type=int, default=16)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--max-n", type=int, help="max_N for faster-scorecam (default 10)")
    args = parser.parse_args()

    import keras

    from fracturenet.explain import compare_methods, load_image

    if args.model:
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
        target=1 if not args.model else "predicted",
        method_kwargs={"faster-scorecam": {"max_N": args.max_n}} if args.max_n else None,
    )
    print(result.to_markdown(), file=sys.stderr)
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
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
