#!/usr/bin/env python3
"""Benchmark: would a TensorFlow-native JPEG path beat Keras' loader on the first epoch?

Issue 3 item 6 asked whether decoding JPEGs with ``tf.io.decode_jpeg`` (DCT-scaled with
``ratio=`` as Pillow's ``draft`` does) and letterboxing in-graph, with the geometry of
:func:`fracturenet.data.resize_geometry`, would lift ``make_dataset``'s first epoch to the
speed of ``keras.utils.image_dataset_from_directory``. This measures, in one process on the
same files (real Train split, page cache warmed), the images/s and process CPU ms per image
of one uncached epoch of:

* ``keras``: the Keras loader (the baseline of every ratio);
* ``fracturenet``: ``make_dataset`` as it is (Pillow through ``tf.numpy_function``);
* ``tf_native_antialias``: the TF path with ``tf.image.resize(antialias=True)``, the
  filter closest to Pillow's antialiased bilinear that ``resize_image`` uses;
* ``tf_native_plain``: the same with plain bilinear (no antialiasing).

Both TF variants include the up-front Python check every file would need to take the fast
path (a Pillow header read for EXIF orientation and mode, and the JPEG end marker so that
truncated files still go to Pillow and get a named error).

    PYTHONPATH=src python benchmarks/pipeline_tf_native.py [DATA_DIR] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_ORIENTATION = 0x0112


def _default_data() -> str:
    env = os.environ.get("FRACTURENET_SHARED_DATA")
    if env:
        return env
    return str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bone-break")


def fast_path_ok(path: str) -> bool:
    """The check a TF fast path needs: plain JPEG, upright, RGB/L, complete."""
    from PIL import Image

    with open(path, "rb") as f:
        f.seek(-2, os.SEEK_END)
        complete = f.read(2) == b"\xff\xd9"
    with Image.open(path) as im:
        upright = im.getexif().get(_ORIENTATION, 1) == 1
        return complete and upright and im.format == "JPEG" and im.mode in ("RGB", "L")


def tf_native_dataset(paths: list[str], size: int, batch_size: int, antialias: bool):
    import tensorflow as tf

    def decode(path):
        data = tf.io.read_file(path)
        shape = tf.io.extract_jpeg_shape(data)
        h, w = tf.cast(shape[0], tf.float64), tf.cast(shape[1], tf.float64)
        scale = tf.minimum(size / h, size / w)  # resize_geometry's letterbox box
        nh = tf.cast(tf.clip_by_value(tf.round(h * scale), 1, size), tf.int32)
        nw = tf.cast(tf.clip_by_value(tf.round(w * scale), 1, size), tf.int32)
        ratio = tf.constant(1)
        for k in (2, 4, 8):  # the largest DCT scale that still covers the box
            fits = (shape[0] // k >= nh) & (shape[1] // k >= nw)
            ratio = tf.where(fits, k, ratio)
        branches = [
            (tf.equal(ratio, k), lambda k=k: tf.io.decode_jpeg(data, channels=3, ratio=k))
            for k in (8, 4, 2)
        ]
        image = tf.case(branches, default=lambda: tf.io.decode_jpeg(data, channels=3))
        image = tf.image.resize(image, tf.stack([nh, nw]), antialias=antialias)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return tf.image.pad_to_bounding_box(image, (size - nh) // 2, (size - nw) // 2, size, size)

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size).map(lambda x: tf.cast(x, tf.float32)).prefetch(tf.data.AUTOTUNE)


def _timed(build) -> tuple[float, float]:
    """Images/s and CPU ms per image of building a dataset and reading one epoch."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for batch in build():
        x = batch[0] if isinstance(batch, tuple) else batch
        n += int(x.shape[0])
    return n / (time.perf_counter() - t0), 1000 * (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=_default_data())
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()

    import keras
    import tensorflow as tf

    from fracturenet.data import discover, make_dataset

    manifest = discover(a.data_dir).subset("train")
    paths = [p for p in manifest.paths if p.lower().endswith((".jpg", ".jpeg"))]
    for p in paths:  # warm the OS page cache for every loader
        Path(p).read_bytes()
    flat = tempfile.mkdtemp(prefix="fracturenet-bench-")
    for p in paths:
        d = os.path.join(flat, Path(p).parent.parent.name)
        os.makedirs(d, exist_ok=True)
        os.symlink(p, os.path.join(d, os.path.basename(p)))
    size, bs = a.image_size, a.batch_size
    sub = manifest.select([i for i, p in enumerate(manifest.paths) if p in set(paths)])

    def with_check(antialias: bool):
        def build():
            fast = [p for p in paths if fast_path_ok(p)]
            return tf_native_dataset(fast, size, bs, antialias)

        return build

    loaders = {
        "keras": lambda: keras.utils.image_dataset_from_directory(
            flat, image_size=(size, size), batch_size=bs, shuffle=False, verbose=False
        ).prefetch(tf.data.AUTOTUNE),
        "fracturenet": lambda: make_dataset(sub, image_size=size, batch_size=bs),
        "tf_native_antialias": with_check(True),
        "tf_native_plain": with_check(False),
    }
    rates: dict[str, list[tuple[float, float]]] = {k: [] for k in loaders}
    try:
        for _ in range(a.repeats):  # interleaved, so load swings hit every loader alike
            for name, build in loaders.items():
                rates[name].append(_timed(build))
    finally:
        shutil.rmtree(flat)
    res: dict = {"images": len(paths), "image_size": size, "cpu_count": os.cpu_count()}
    for name, values in rates.items():
        res[f"{name}_images_per_s"] = round(max(v[0] for v in values), 1)
        res[f"{name}_cpu_ms_per_image"] = round(min(v[1] for v in values), 2)
    for name in loaders:
        if name != "keras":
            res[f"ratio_{name}_vs_keras"] = round(
                res[f"{name}_images_per_s"] / res["keras_images_per_s"], 2
            )
            res[f"cpu_ratio_keras_over_{name}"] = round(
                res["keras_cpu_ms_per_image"] / res[f"{name}_cpu_ms_per_image"], 2
            )
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
