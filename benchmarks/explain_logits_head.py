"""Benchmark: Grad-CAM through tf-keras-vis ReplaceToLinear (clones the model every call)
versus fracturenet's logits_model (rebuilds only the output layer), in one process.

Prints JSON: median seconds per explain-sized call for each, their ratio, and the largest
difference between the two sets of maps (they should agree to float precision).

    PYTHONPATH=src python benchmarks/explain_logits_head.py --backbone resnet50 --size 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import keras
import numpy as np


def build(backbone: str, size: int) -> keras.Model:
    constructor = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50}
    keras.utils.set_random_seed(0)
    x = keras.Input((size, size, 3))
    base = constructor[backbone](include_top=False, weights=None, input_tensor=x)
    y = keras.layers.GlobalAveragePooling2D(name="head_pool")(base.output)
    y = keras.layers.Dense(3, activation="softmax", name="predictions")(y)
    return keras.Model(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="resnet50", choices=["vgg16", "resnet50"])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    from fracturenet.explain import logits_model
    from fracturenet.explain._graph import find_cam_layer

    model = build(args.backbone, args.size)
    layer = find_cam_layer(model)
    images = np.random.default_rng(0).uniform(0, 255, (args.images, args.size, args.size, 3))
    score = CategoricalScore(list(np.asarray(model(images)).argmax(axis=1)))
    call = {"penultimate_layer": layer, "seek_penultimate_conv_layer": False}

    def baseline() -> np.ndarray:  # what tf-keras-vis recommends
        return Gradcam(model, model_modifier=ReplaceToLinear(), clone=True)(score, images, **call)

    def ours() -> np.ndarray:
        return Gradcam(logits_model(model, "softmax"), clone=False)(score, images, **call)

    timings: dict[str, list[float]] = {"replace_to_linear": [], "logits_model": []}
    maps = {}
    ours(), baseline()  # warm-up: tracing and first-call allocation
    for _ in range(args.repeats):
        for name, fn in (("replace_to_linear", baseline), ("logits_model", ours)):
            start = time.perf_counter()
            maps[name] = fn()
            timings[name].append(time.perf_counter() - start)
    medians = {k: statistics.median(v) for k, v in timings.items()}
    print(
        json.dumps(
            {
                "backbone": args.backbone,
                "size": args.size,
                "images": args.images,
                "repeats": args.repeats,
                "median_s": medians,
                "speedup_vs_replace_to_linear": medians["replace_to_linear"]
                / medians["logits_model"],
                "max_abs_map_difference": float(
                    np.abs(maps["replace_to_linear"] - maps["logits_model"]).max()
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
