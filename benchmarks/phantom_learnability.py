"""Phantom generator benchmark: generation speed and learnability; prints one JSON object.

Speed: images/s of ``make_synthetic_fractures`` (drawing + PNG writing, masks included) at
64 and 128 px, with the 128 px rate given as a ratio of the 64 px one.

Learnability: a tiny CNN (three conv blocks, weights from scratch) is trained on the phantom
Train split and scored on the Test split. Baselines run in the same invocation: chance
(1 / number of classes) and the same CNN trained on randomly permuted labels (what a model
learns when the images carry no class signal). Ratios are against both.

Usage:
    PYTHONPATH=src python benchmarks/phantom_learnability.py [--images-per-class 40 120]
        [--image-size 64] [--epochs 30] [--contact-sheet /tmp/phantoms.png]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
from PIL import Image

from fracturenet.phantoms import PHANTOM_CLASSES, make_synthetic_fractures, render_phantom


def generation_speed(size: int, images_per_class: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        m = make_synthetic_fractures(
            os.path.join(tmp, "p"), images_per_class=images_per_class, image_size=size,
            include_normal=True, seed=123,
        )  # fmt: skip
        return len(m) / (time.perf_counter() - start)


def load(manifest, split: str) -> tuple[np.ndarray, np.ndarray]:
    sub = manifest.subset(split)
    x = np.stack([np.asarray(Image.open(p), dtype=np.float32) / 255.0 for p in sub.paths])
    return x[..., None], np.asarray(sub.labels)


def tiny_cnn(size: int, num_classes: int):
    import keras

    inputs = keras.Input((size, size, 1))
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def train_and_score(x_tr, y_tr, x_te, y_te, size, k, epochs, seed) -> tuple[float, float]:
    import keras

    keras.utils.set_random_seed(seed)
    model = tiny_cnn(size, k)
    start = time.perf_counter()
    model.fit(x_tr, y_tr, epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    pred = model.predict(x_te, verbose=0).argmax(axis=1)
    return float((pred == y_te).mean()), seconds


def contact_sheet(path: str, size: int = 128) -> None:
    tiles = [render_phantom(c, image_size=size, seed=i)[0] for i, c in enumerate(PHANTOM_CLASSES)]
    Image.fromarray(np.concatenate(tiles, axis=1)).save(path)


def learnability(images_per_class: int, size: int, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        m = make_synthetic_fractures(
            os.path.join(tmp, "p"), images_per_class=images_per_class, image_size=size,
            include_normal=True, seed=0,
        )  # fmt: skip
        x_tr, y_tr = load(m, "train")
        x_te, y_te = load(m, "test")
    k = m.num_classes
    acc, fit_s = train_and_score(x_tr, y_tr, x_te, y_te, size, k, epochs, 0)
    shuffled = np.random.default_rng(0).permutation(y_tr)
    acc_perm, _ = train_and_score(x_tr, shuffled, x_te, y_te, size, k, epochs, 0)
    chance = 1.0 / k
    return {
        "classes": k,
        "image_size": size,
        "images_per_class": images_per_class,
        "train_images": int(len(y_tr)),
        "test_images": int(len(y_te)),
        "epochs": epochs,
        "fit_seconds": round(fit_s, 1),
        "test_accuracy": round(acc, 3),
        "chance": round(chance, 3),
        "permuted_label_accuracy": round(acc_perm, 3),
        "accuracy_vs_chance": round(acc / chance, 2),
        "accuracy_vs_permuted": round(acc / max(acc_perm, 1e-9), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images-per-class", type=int, nargs="+", default=[40])
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--contact-sheet", default=None)
    a = ap.parse_args()

    speed = {f"{s}px_images_per_s": round(generation_speed(s, 20), 1) for s in (64, 128)}
    speed["128px_vs_64px"] = round(speed["128px_images_per_s"] / speed["64px_images_per_s"], 3)
    runs = [learnability(n, a.image_size, a.epochs) for n in a.images_per_class]
    if a.contact_sheet:
        contact_sheet(a.contact_sheet)
    print(json.dumps({"generation": speed, "learnability": runs}, indent=1))


if __name__ == "__main__":
    main()
