"""``tf.data`` pipeline from a :class:`Manifest`: parallel decode, resize, cache, shuffle,
augment, batch, prefetch; and the report of files left out with ``on_error="skip"``.

Stage order: decode + resize (parallel map, order kept) -> drop unreadable (``skip``) ->
cache (``uint8``) -> shuffle -> balanced resampling -> batch -> float32 + augmentation ->
prefetch. Without a cache, shuffling permutes file indices before decoding (cheap).

Decoding is :func:`fracturenet.data.load_resized` (Pillow; grey pictures stay one
channel until they are broadcast into the batch), chunks of 8 files per
``tf.numpy_function`` call, each chunk spread over a thread pool shared by the process (one
thread per CPU, results in file order, the number in flight bounded by the memory budget);
Pillow releases the GIL while decoding and resizing, so every core decodes. JPEGs are
decoded at the smallest DCT scale (1/2, 1/4, 1/8; Pillow ``draft``) at which the resized
box still covers its target, then
box-reduced by an integer factor while more than 2x too large, then scaled bilinearly into
the box :func:`fracturenet.data.resize_geometry` gives, so
:func:`fracturenet.data.restore_geometry` maps heat maps back. ``benchmarks/pipeline.py``
measures it against Keras' loader.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable

import numpy as np

from fracturenet.data._decode_pool import decode_threads, map_outcomes
from fracturenet.data.augment import AUGMENT_PRESETS, build_augmentation
from fracturenet.data.bad_images import remember_decode_error
from fracturenet.data.load_resized import _load_resized_planes
from fracturenet.data.manifest import Manifest
from fracturenet.data.resize import RESIZE_MODES, _as_hw
from fracturenet.exceptions import DatasetError, ImageDecodeError

__all__ = ["DecodeReport", "make_dataset", "skipped_files"]

_ON_ERROR = ("raise", "skip")
_CHANNELS = (1, 3)
_CACHE_FORMAT = "4"  # bump when the cached content changes meaning
_DECODE_CHUNK = 8  # files per call into Python: amortises the call, keeps latency low


class DecodeReport:
    """Every file a pipeline left out because it could not be read (``on_error="skip"``).

    Filled while the dataset is iterated; each new skip is also announced with
    :func:`warnings.warn`. With a file cache the list is stored beside the cache, so a
    later run that reads the cache still reports the same files.

    Example:
        >>> r = DecodeReport()
        >>> r.add("/data/a.jpg", "zero-byte file")
        >>> r.skipped, len(r)
        ([('/data/a.jpg', 'zero-byte file')], 1)
    """

    def __init__(self, sidecar: str | None = None) -> None:
        self._lock = threading.Lock()
        self._skipped: dict[str, str] = {}
        self._sidecar = sidecar
        if sidecar and os.path.exists(sidecar):
            with open(sidecar, encoding="utf-8") as f:
                self._skipped.update(json.load(f))

    def add(self, path: str, reason: str) -> None:
        """Records that ``path`` was left out because of ``reason`` (warns once per file)."""
        with self._lock:
            if path in self._skipped:
                return
            self._skipped[path] = reason
            if self._sidecar:
                tmp = f"{self._sidecar}.tmp-{os.getpid()}"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(self._skipped, f, indent=1)
                os.replace(tmp, self._sidecar)
        warnings.warn(f"Skipped unreadable image {path!r}: {reason}", stacklevel=2)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """``(path, reason)`` of each skipped file, in the order they were met."""
        with self._lock:
            return list(self._skipped.items())

    def __len__(self) -> int:
        return len(self._skipped)

    def __repr__(self) -> str:
        return f"DecodeReport(skipped={len(self)})"


def skipped_files(dataset) -> list[tuple[str, str]]:
    """Returns ``(path, reason)`` for every file a :func:`make_dataset` pipeline skipped.

    Only files met so far are known: iterate the dataset (one epoch) first.

    Args:
        dataset: A dataset returned by :func:`make_dataset`.

    Returns:
        The skipped files with their reasons (empty when none were skipped).

    Raises:
        ValueError: If ``dataset`` was not made by :func:`make_dataset` (transformations such
            as ``.map`` return new datasets without the report; keep the original).

    Example:
        >>> class Fake:
        ...     decode_report = DecodeReport()
        >>> skipped_files(Fake())
        []
    """
    report = getattr(dataset, "decode_report", None)
    if not isinstance(report, DecodeReport):
        raise ValueError(
            "dataset has no decode report: pass the dataset returned by make_dataset, not one "
            f"derived from it with .map/.batch/... Received: dataset={type(dataset).__name__}"
        )
    return report.skipped


def _cache_prefix(manifest: Manifest, cache_dir: str, key_parts: dict) -> str:
    if os.path.exists(cache_dir) and not os.path.isdir(cache_dir):
        raise ValueError(
            f"cache must be None, 'memory' or a directory; {cache_dir!r} is a file. "
            f"Received: cache={cache_dir!r}"
        )
    os.makedirs(cache_dir, exist_ok=True)
    h = hashlib.sha256(json.dumps(key_parts, sort_keys=True).encode())
    for p in manifest.paths:
        try:
            st = os.stat(p)
            h.update(f"{p}\0{st.st_mtime_ns}\0{st.st_size}\n".encode())
        except OSError:
            h.update(f"{p}\0missing\n".encode())
    return os.path.join(cache_dir, f"fracturenet-cache-{h.hexdigest()[:20]}")


def _validate(manifest, image_size, batch_size, augment, cache, resize_mode, on_error, channels):
    if not isinstance(manifest, Manifest):
        raise TypeError(
            f"manifest must be a fracturenet Manifest (see discover()). "
            f"Received: manifest={type(manifest).__name__}"
        )
    if len(manifest) == 0:
        raise DatasetError("make_dataset needs at least one image. Received: len(manifest)=0")
    _as_hw(image_size)
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int. Received: batch_size={batch_size!r}")
    if augment is not None and not callable(augment) and augment not in AUGMENT_PRESETS:
        raise ValueError(
            f"augment must be None, a callable or one of {AUGMENT_PRESETS}. "
            f"Received: augment={augment!r}"
        )
    if cache is not None and not isinstance(cache, str | os.PathLike):
        raise ValueError(
            f"cache must be None, 'memory' or a directory path. Received: cache={cache!r}"
        )
    if resize_mode not in RESIZE_MODES:
        raise ValueError(
            f"resize_mode must be one of {RESIZE_MODES}. Received: resize_mode={resize_mode!r}"
        )
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}. Received: on_error={on_error!r}")
    if channels not in _CHANNELS:
        raise ValueError(f"channels must be one of {_CHANNELS}. Received: channels={channels!r}")


def make_dataset(
    manifest: Manifest,
    *,
    image_size: int | tuple[int, int] = 224,
    batch_size: int = 32,
    training: bool = False,
    augment: str | Callable | None = None,
    shuffle: bool | None = None,
    cache: str | os.PathLike[str] | None = None,
    seed: int = 0,
    resize_mode: str = "letterbox",
    on_error: str = "raise",
    channels: int = 3,
    drop_remainder: bool = False,
    balanced: bool = False,
):
    """Builds a batched ``tf.data.Dataset`` of ``(images, labels)`` from a manifest.

    Images are ``float32`` ``[B, H, W, channels]`` in 0..255 (backbone preprocessing belongs
    to the model), labels ``int32`` ``[B]``. Without shuffling or balancing the order is the
    manifest order (minus skipped files), which evaluation relies on. The returned dataset
    carries ``class_names``, ``file_paths`` and ``decode_report`` attributes.

    Args:
        manifest: The images and labels, e.g. from :func:`fracturenet.data.discover`.
        image_size: Side length or ``(height, width)``. Defaults to `224`.
        batch_size: Images per batch. Defaults to `32`.
        training: Enables augmentation and (by default) shuffling. Defaults to `False`.
        augment: ``None``, a preset name (``"radiograph"``, ``"light"``) or a callable taking
            and returning a float batch; used only when ``training``. Defaults to `None`.
        shuffle: Reshuffle every epoch; `None` means ``training``. Defaults to `None`.
        cache: ``None``, ``"memory"``, or a directory for a file cache named
            ``fracturenet-cache-<key>`` where the key hashes the file list, mtimes, sizes and
            decode settings (other files in the directory are never touched; a changed file
            gives a new cache). Defaults to `None`.
        seed: Seed for shuffling, balancing and augmentation. Defaults to `0`.
        resize_mode: ``"letterbox"``, ``"stretch"`` or ``"crop"`` (see
            :func:`fracturenet.data.resize_image`). Defaults to `"letterbox"`.
        on_error: ``"raise"`` stops iteration with an error naming the file and the reason
            (surfacing as a ``tf.errors.OpError`` whose message holds the
            :class:`ImageDecodeError` text); ``"skip"`` leaves the file
            out and records it (see :func:`skipped_files`). Defaults to `"raise"`.
        channels: 3 for RGB, 1 for grayscale (ITU-R 601 luma). Defaults to `3`.
        drop_remainder: Drop a last, smaller batch. Defaults to `False`.
        balanced: Resample so every class is equally likely (rejection resampling over
            repeated passes; an epoch keeps ``len(manifest)`` images). Implies shuffling.
            Defaults to `False`.

    Returns:
        The ``tf.data.Dataset``.

    Raises:
        TypeError: If ``manifest`` is not a :class:`Manifest`.
        ValueError: If an argument is invalid (the message lists accepted values).
        DatasetError: If the manifest is empty.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> from fracturenet.data import Manifest
        >>> d = tempfile.mkdtemp(); paths = [os.path.join(d, f"{i}.png") for i in range(3)]
        >>> for p in paths: Image.new("L", (40, 20), 90).save(p)
        >>> ds = make_dataset(Manifest(paths, (0, 1, 1), ("a", "b")), image_size=32,
        ...                   batch_size=2)
        >>> [(tuple(x.shape), x.dtype.name, y.numpy().tolist()) for x, y in ds]
        [((2, 32, 32, 3), 'float32', [0, 1]), ((1, 32, 32, 3), 'float32', [1])]
    """
    _validate(manifest, image_size, batch_size, augment, cache, resize_mode, on_error, channels)
    if balanced and shuffle is False:
        raise ValueError(
            "balanced=True draws images at random and cannot keep the order; leave shuffle "
            "as None or True. Received: shuffle=False"
        )
    shuffle = training if shuffle is None else bool(shuffle)
    shuffle = shuffle or balanced
    import tensorflow as tf

    hw = _as_hw(image_size)
    n = len(manifest)
    paths = manifest.paths
    labels = np.asarray(manifest.labels, np.int32)
    cache_prefix = None
    if cache is not None and os.fspath(cache) != "memory":
        key = {
            "size": hw,
            "mode": resize_mode,
            "channels": channels,
            "on_error": on_error,
            "format": _CACHE_FORMAT,
        }
        cache_prefix = _cache_prefix(manifest, os.path.abspath(os.fspath(cache)), key)
    sidecar = f"{cache_prefix}.skipped.json" if cache_prefix else None
    if sidecar and not os.path.exists(f"{cache_prefix}.index") and os.path.exists(sidecar):
        os.remove(sidecar)  # our own sidecar of an unfinished cache: it will be rebuilt
    report = DecodeReport(sidecar)
    luma = np.asarray([0.299, 0.587, 0.114], np.float32)

    def decode_one(index: int) -> np.ndarray:  # runs on a decode thread
        # (h, w, 1) for grey pictures: broadcast into the batch, as luma of grey is grey.
        image = _load_resized_planes(paths[index], hw, resize_mode)
        if channels == 1 and image.shape[2] == 3:
            image = np.round(image.astype(np.float32) @ luma).astype(np.uint8)[:, :, None]
        return image

    def decode(indices) -> tuple[np.ndarray, np.ndarray]:
        indices = [int(i) for i in indices]
        images = np.zeros((len(indices), *hw, channels), np.uint8)
        ok = np.ones(len(indices), np.bool_)
        for j, (image, error) in enumerate(map_outcomes(decode_one, indices)):
            if error is None:
                images[j] = image
                continue
            if not isinstance(error, ImageDecodeError) or on_error == "raise":
                if isinstance(error, ImageDecodeError):
                    remember_decode_error(error)  # TensorFlow wraps it; see decode_error_from
                raise error
            report.add(paths[indices[j]], error.reason)  # in file order, whatever the threads
            ok[j] = False
        return images, ok

    labels_t = tf.constant(labels)

    def tf_decode(indices):
        images, ok = tf.numpy_function(decode, [indices], [tf.uint8, tf.bool], name="decode_images")
        images = tf.ensure_shape(images, (None, *hw, channels))
        return images, tf.gather(labels_t, indices), tf.ensure_shape(ok, (None,))

    shuffle_indices = shuffle and cache is None and not balanced
    ds = tf.data.Dataset.range(n)
    if shuffle_indices:  # cheap: shuffle file indices, decode in the shuffled order
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    # Chunks of files are decoded on the shared thread pool (every core, order kept); two
    # chunks in flight per pool's worth of files keep the threads busy between chunks.
    parallel = max(2, -(-2 * decode_threads() // _DECODE_CHUNK))
    ds = ds.batch(_DECODE_CHUNK).map(tf_decode, num_parallel_calls=parallel, deterministic=True)
    ds = ds.unbatch()
    if on_error == "skip":
        ds = ds.filter(lambda x, y, ok: ok)
    ds = ds.map(lambda x, y, ok: (x, y))
    if on_error != "skip":  # unbatch hides the count; Keras warns "ran out of data" without it
        ds = ds.apply(tf.data.experimental.assert_cardinality(n))
    if cache is not None:
        ds = ds.cache(cache_prefix or "")
    if shuffle and not shuffle_indices:  # cached images must be shuffled after the cache
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if balanced:
        counts = np.bincount(labels, minlength=manifest.num_classes).astype(np.float32)
        target = (counts > 0).astype(np.float32) / float((counts > 0).sum())
        ds = (
            ds.repeat()
            .rejection_resample(
                lambda x, y: y, target_dist=target, initial_dist=counts / counts.sum(), seed=seed
            )
            .map(lambda c, xy: xy)
            .take(n)
            .apply(tf.data.experimental.assert_cardinality(n))
        )
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
    if training and augment is not None:
        fn = build_augmentation(augment, seed=seed) if isinstance(augment, str) else augment
        clip = isinstance(augment, str)

        def apply(x, y):
            out = fn(x, training=True) if clip else fn(x)
            return (tf.clip_by_value(out, 0.0, 255.0) if clip else out), y

        ds = ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    ds.class_names = list(manifest.class_names)
    ds.file_paths = list(paths)
    ds.decode_report = report
    ds.cache_path = cache_prefix
    return ds
