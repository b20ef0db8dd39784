#!/usr/bin/env python3
"""Benchmark: fracturenet's tf.data pipeline vs ``keras.utils.image_dataset_from_directory``.

Same files (the real Train split), same image size and batch size, same process. Prints one
JSON object with images/s of:

* ``keras_epoch``: the Keras loader (it has no cache, every epoch decodes again), median of
  ``--repeats`` epochs;
* ``fracturenet_first_epoch``: our pipeline's first epoch (decode + letterbox + fill the
  cache), median of ``--repeats`` fresh pipelines, for the memory and for the file cache,
  each run right after a Keras epoch (the first-epoch ratios are medians of those pairs);
* ``fracturenet_cached_epoch``: later epochs read from the cache, median of
  ``--cached-epochs``;
* ``model_train_step`` (unless ``--no-model``): forward + backward of MobileNetV2 (the
  lightest usual backbone, random weights) on the same batch size, on this machine. If the
  cached pipeline is many times faster than the lightest model trains, it is not the
  bottleneck of training.

and the ratios (``> 1`` means fracturenet is faster), plus the process CPU time per image
of each (steadier than wall time when other jobs share the machine), the cores each used
(CPU seconds over wall seconds), the first epoch with the decode pool held to one thread (what
decoding on every core buys, ``ratio_decode_threads_vs_one_thread_first_epoch``), and the
1-minute load average before each repeat and at the end. Goals: first epoch ratio >= 1, cached
epoch ratio >= 5. The OS page cache is warmed by reading every file once before any timing,
so neither loader pays the disk.

    PYTHONPATH=src python benchmarks/pipeline.py [DATA_DIR] [--image-size 224] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _default_data() -> str:
    env = os.environ.get("FRACTURENET_SHARED_DATA")
    if env:
        return env
    return str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bone-break")


def _flatten(paths: list[str], labels: list[int], class_names: list[str]) -> str:
    """Symlinks the files into <tmp>/<class>/<name> so Keras' loader sees a flat layout."""
    out = tempfile.mkdtemp(prefix="fracturenet-bench-")
    for p, y in zip(paths, labels, strict=True):
        d = os.path.join(out, class_names[y])
        os.makedirs(d, exist_ok=True)
        os.symlink(p, os.path.join(d, os.path.basename(p)))
    return out


_CPU: dict[str, list[float]] = {}
_CORES: dict[str, list[float]] = {}


def _epoch(ds, tag: str | None = None) -> tuple[float, int]:
    """Wall seconds and images of one epoch.

    Under ``tag`` it records the CPU ms per image and the cores used (process CPU seconds of
    all threads over wall seconds: 2.0 means both cores of this machine were busy throughout).
    """
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for x, _ in ds:
        n += int(x.shape[0])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if tag:
        _CPU.setdefault(tag, []).append(1000 * cpu / max(n, 1))
        _CORES.setdefault(tag, []).append(cpu / wall)
    return wall, n


@contextlib.contextmanager
def _one_decode_thread():
    """The decode pool limited to one thread (the serial path) inside the block, then restored."""
    from fracturenet.data import _decode_pool

    saved = _decode_pool.decode_threads
    _decode_pool.decode_threads = lambda: 1
    try:
        yield
    finally:
        _decode_pool.decode_threads = saved


def _model_step_rate(image_size: int, batch_size: int, steps: int = 3) -> float:
    import keras
    import numpy as np

    model = keras.applications.MobileNetV2(
        weights=None, input_shape=(image_size, image_size, 3), classes=10
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3))
    y = np.zeros(batch_size, np.int32)
    model.train_on_batch(x.astype("float32"), y)  # trace/compile
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x.astype("float32"), y)
    return steps * batch_size / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default=_default_data())
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cached-epochs", type=int, default=3)
    ap.add_argument("--no-model", action="store_true")
    a = ap.parse_args()

    import keras
    import tensorflow as tf

    from fracturenet.data import discover, make_dataset

    manifest = discover(a.data_dir).subset("train")
    for p in manifest.paths:  # warm the OS page cache for both loaders
        Path(p).read_bytes()
    flat = _flatten(list(manifest.paths), list(manifest.labels), list(manifest.class_names))
    size = (a.image_size, a.image_size)
    res: dict = {
        "images": len(manifest),
        "image_size": a.image_size,
        "batch_size": a.batch_size,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "tensorflow": tf.__version__,
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_avg_1min": [],  # before each repeat and at the end: this machine is shared
    }
    try:
        # Keras and both fracturenet first epochs run back to back in each repeat, so a
        # repeat's ratio compares runs under the same load; the medians are reported.
        keras_times: list[float] = []
        first: dict[str, list[float]] = {"memory": [], "file": []}
        cached: dict[str, list[float]] = {"memory": [], "file": []}
        serial: list[float] = []
        for r in range(a.repeats):
            kds = keras.utils.image_dataset_from_directory(
                flat, image_size=size, batch_size=a.batch_size, shuffle=False, verbose=False
            ).prefetch(tf.data.AUTOTUNE)
            res["load_avg_1min"].append(round(os.getloadavg()[0], 2))
            t, n = _epoch(kds, "keras_epoch")
            keras_times.append(t)
            for kind in ("memory", "file"):
                cache_dir = tempfile.mkdtemp(prefix="fracturenet-bench-cache-")
                cache = "memory" if kind == "memory" else cache_dir
                ds = make_dataset(manifest, image_size=size, batch_size=a.batch_size, cache=cache)
                first[kind].append(_epoch(ds, f"fracturenet_{kind}_first_epoch")[0])
                if r == 0:
                    for _ in range(a.cached_epochs):
                        cached[kind].append(_epoch(ds, f"fracturenet_{kind}_cached_epoch")[0])
                    if kind == "file":  # a new pipeline (as in a new process) reuses the files
                        ds2 = make_dataset(
                            manifest, image_size=size, batch_size=a.batch_size, cache=cache
                        )
                        cached[kind].append(_epoch(ds2)[0])
                shutil.rmtree(cache_dir)
            with _one_decode_thread():  # what the threads buy: the same epoch decoded serially
                ds = make_dataset(
                    manifest, image_size=size, batch_size=a.batch_size, cache="memory"
                )
                serial.append(_epoch(ds, "fracturenet_memory_first_epoch_one_decode_thread")[0])
        res["load_avg_1min"].append(round(os.getloadavg()[0], 2))
        keras_rate = n / statistics.median(keras_times)
        res["keras_epoch_images_per_s"] = round(keras_rate, 1)
        for kind in ("memory", "file"):
            rate = n / statistics.median(first[kind])
            res[f"fracturenet_{kind}_first_epoch_images_per_s"] = round(rate, 1)
            res[f"fracturenet_{kind}_cached_epoch_images_per_s"] = round(
                n / statistics.median(cached[kind]), 1
            )
            res[f"ratio_{kind}_first_epoch_vs_keras"] = round(
                statistics.median(k / f for k, f in zip(keras_times, first[kind], strict=True)),
                2,
            )
            res[f"ratio_{kind}_cached_epoch_vs_keras"] = round(
                res[f"fracturenet_{kind}_cached_epoch_images_per_s"] / keras_rate, 2
            )
        res["ratio_decode_threads_vs_one_thread_first_epoch"] = round(
            statistics.median(s / f for s, f in zip(serial, first["memory"], strict=True)), 2
        )
        # CPU time per image (all threads) is steadier than wall time on a shared machine.
        for tag, values in _CPU.items():
            res[f"{tag}_cpu_ms_per_image"] = round(statistics.median(values), 2)
        for tag, values in _CORES.items():
            res[f"{tag}_cores_used"] = round(statistics.median(values), 2)
        if not a.no_model:
            rate = _model_step_rate(a.image_size, a.batch_size)
            res["model_train_step_images_per_s_mobilenet_v2"] = round(rate, 1)
            res["ratio_cached_pipeline_vs_model_train"] = round(
                res["fracturenet_memory_cached_epoch_images_per_s"] / rate, 1
            )
            res["ratio_first_epoch_pipeline_vs_model_train"] = round(
                res["fracturenet_memory_first_epoch_images_per_s"] / rate, 1
            )
    finally:
        shutil.rmtree(flat)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
