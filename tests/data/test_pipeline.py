"""make_dataset(): shapes, dtypes, order, skip reporting, caches, shuffling, augmentation,
balancing; class_weights(); load_resized() against the slow reference path."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fracturenet.data.pipeline as pipeline_module
from fracturenet.data import (
    Manifest,
    class_weights,
    discover,
    load_image,
    make_dataset,
    resize_image,
    skipped_files,
)
from fracturenet.data.load_resized import load_resized
from tests.data.conftest import gradient, write_image

SIZE = 32


def _manifest(tmp_path: Path, n: int = 5, labels=None) -> Manifest:
    """n images whose grey level (10 * i + 20) identifies them, two classes."""
    paths = [
        write_image(tmp_path / f"img {i}.png", value=10 * i + 20, size=(40, 30)) for i in range(n)
    ]
    labels = labels if labels is not None else [i % 2 for i in range(n)]
    return Manifest(paths=tuple(map(str, paths)), labels=tuple(labels), class_names=("a", "b"))


def _ids(images: np.ndarray) -> list[int]:
    return [int(round((img[SIZE // 2, SIZE // 2, 0] - 20) / 10)) for img in images]


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_shapes_dtypes_and_manifest_order(tmp_path):
    m = _manifest(tmp_path)
    ds = make_dataset(m, image_size=SIZE, batch_size=2)
    batches = [(x.shape, x.dtype.name, y.dtype.name) for x, y in ds]
    assert batches == [((2, SIZE, SIZE, 3), "float32", "int32")] * 2 + [
        ((1, SIZE, SIZE, 3), "float32", "int32")
    ]
    x, y = _collect(ds)
    assert _ids(x) == [0, 1, 2, 3, 4] and y.tolist() == list(m.labels)
    assert x.min() >= 0 and x.max() <= 255
    assert ds.class_names == ["a", "b"] and ds.file_paths == list(m.paths)


def test_grayscale_channel_and_drop_remainder(tmp_path):
    ds = make_dataset(
        _manifest(tmp_path), image_size=(SIZE, 24), batch_size=2, channels=1, drop_remainder=True
    )
    shapes = [tuple(x.shape) for x, _ in ds]
    assert shapes == [(2, SIZE, 24, 1)] * 2


def test_skip_reports_every_unreadable_file(tmp_path):
    m = _manifest(tmp_path, n=4)
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a picture")
    bad = Manifest(
        m.paths + (str(tmp_path / "zero.jpg"), str(tmp_path / "text.jpg")),
        m.labels + (0, 1),
        ("a", "b"),
    )
    ds = make_dataset(bad, image_size=SIZE, batch_size=4, on_error="skip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, y = _collect(ds)
    assert _ids(x) == [0, 1, 2, 3]
    skipped = dict(skipped_files(ds))
    assert set(skipped) == {str(tmp_path / "zero.jpg"), str(tmp_path / "text.jpg")}
    assert skipped[str(tmp_path / "zero.jpg")].startswith("zero-byte")
    assert "holds text" in skipped[str(tmp_path / "text.jpg")]
    assert sum("Skipped unreadable image" in str(w.message) for w in caught) == 2
    with pytest.raises(ValueError, match="has no decode report"):
        skipped_files(ds.map(lambda a, b: (a, b)))


def test_raise_names_the_file_and_reason(tmp_path):
    import tensorflow as tf

    m = _manifest(tmp_path, n=2)
    whole = tmp_path / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(whole)
    (tmp_path / "cut.png").write_bytes(whole.read_bytes()[:300])
    bad = Manifest(m.paths + (str(tmp_path / "cut.png"),), m.labels + (1,), ("a", "b"))
    with pytest.raises(tf.errors.OpError, match=r"cut.png.*(truncated|corrupt) PNG data"):
        _collect(make_dataset(bad, image_size=SIZE))


def test_memory_cache_gives_identical_epochs(tmp_path, monkeypatch):
    calls = []
    real = pipeline_module._load_resized_planes
    monkeypatch.setattr(
        pipeline_module, "_load_resized_planes", lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    )
    ds = make_dataset(_manifest(tmp_path), image_size=SIZE, cache="memory")
    first, second = _collect(ds), _collect(ds)
    assert len(calls) == 5  # the second epoch read the cache
    np.testing.assert_array_equal(first[0], second[0])


def test_file_cache_reused_across_pipelines_and_keyed_by_files(tmp_path, monkeypatch):
    m = _manifest(tmp_path / "imgs", n=4)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "mine.txt").write_text("keep me")
    first = _collect(make_dataset(m, image_size=SIZE, cache=cache_dir))
    created = sorted(p.name for p in cache_dir.iterdir())
    assert "mine.txt" in created and any(
        n.startswith("fracturenet-cache-") and n.endswith(".index") for n in created
    )

    calls = []
    real = pipeline_module._load_resized_planes
    monkeypatch.setattr(
        pipeline_module, "_load_resized_planes", lambda *a, **k: calls.append(a[0]) or real(*a, **k)
    )
    again = _collect(make_dataset(m, image_size=SIZE, cache=cache_dir))
    assert calls == [] and np.array_equal(first[0], again[0])

    write_image(Path(m.paths[0]), value=250, size=(40, 30))  # content changes -> new key
    os.utime(m.paths[0], ns=(1, 1))
    changed = _collect(make_dataset(m, image_size=SIZE, cache=cache_dir))
    assert len(calls) == 4 and changed[0][0].max() == 250
    assert (cache_dir / "mine.txt").read_text() == "keep me"
    with pytest.raises(ValueError, match=r"is a file. Received: cache="):
        make_dataset(m, cache=cache_dir / "mine.txt")


def test_file_cache_keeps_the_skip_report(tmp_path):
    m = _manifest(tmp_path, n=2)
    (tmp_path / "zero.jpg").write_bytes(b"")
    bad = Manifest(m.paths + (str(tmp_path / "zero.jpg"),), m.labels + (1,), ("a", "b"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = make_dataset(bad, image_size=SIZE, on_error="skip", cache=tmp_path / "c")
        _collect(ds)
        ds2 = make_dataset(bad, image_size=SIZE, on_error="skip", cache=tmp_path / "c")
    assert [p for p, _ in skipped_files(ds2)] == [str(tmp_path / "zero.jpg")]  # before iterating
    assert len(_collect(ds2)[1]) == 2


def test_training_shuffles_and_seed_reproduces(tmp_path):
    m = _manifest(tmp_path, n=8)
    orders = [
        _ids(_collect(make_dataset(m, image_size=SIZE, training=True, seed=s))[0])
        for s in (0, 0, 1)
    ]
    assert sorted(orders[0]) == list(range(8))
    assert orders[0] == orders[1] and orders[0] != orders[2]
    cached = make_dataset(m, image_size=SIZE, shuffle=True, cache="memory", seed=3)
    e1, e2 = _ids(_collect(cached)[0]), _ids(_collect(cached)[0])
    assert sorted(e1) == sorted(e2) == list(range(8)) and e1 != e2  # reshuffled each epoch


def test_augmentation_only_when_training(tmp_path):
    paths = []
    for i in range(4):
        p = tmp_path / f"g{i}.png"
        Image.fromarray(gradient(SIZE, SIZE)).save(p)
        paths.append(str(p))
    m = Manifest(tuple(paths), (0, 1, 0, 1), ("a", "b"))
    plain = _collect(make_dataset(m, image_size=SIZE, augment="radiograph"))[0]
    aug = _collect(
        make_dataset(m, image_size=SIZE, training=True, shuffle=False, augment="radiograph", seed=1)
    )[0]
    assert aug.shape == plain.shape and aug.min() >= 0 and aug.max() <= 255
    assert np.array_equal(plain[0], plain[1])  # same source picture, no augmentation
    assert not np.allclose(aug, plain) and not np.allclose(aug[0], aug[1])  # random per image
    inverted = _collect(
        make_dataset(m, image_size=SIZE, training=True, shuffle=False, augment=lambda x: 255.0 - x)
    )[0]
    np.testing.assert_allclose(inverted, 255.0 - plain)
    with pytest.raises(
        ValueError, match=r"augment must be None, a callable or one of \('radiograph', 'light'\)"
    ):
        make_dataset(m, augment="heavy")


def test_balanced_sampling_evens_out_classes(tmp_path):
    m = _manifest(tmp_path, n=12, labels=[0] * 10 + [1] * 2)
    ds = make_dataset(m, image_size=8, batch_size=12, balanced=True, seed=0, cache="memory")
    labels = np.concatenate([_collect(ds)[1] for _ in range(5)])
    assert len(labels) == 60
    assert 0.35 < labels.mean() < 0.65  # 2 of 12 would be 0.17 without balancing
    with pytest.raises(ValueError, match="cannot keep the order"):
        make_dataset(m, balanced=True, shuffle=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"resize_mode": "fit"}, r"resize_mode must be one of \('letterbox', 'stretch', 'crop'\)"),
        (
            {"on_error": "ignore"},
            r"on_error must be one of \('raise', 'skip'\). Received: on_error='ignore'",
        ),
        ({"channels": 4}, r"channels must be one of \(1, 3\). Received: channels=4"),
        ({"batch_size": 0}, r"Received: batch_size=0"),
        ({"image_size": -1}, r"Received: size=-1"),
        ({"cache": 5}, r"Received: cache=5"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_dataset(_manifest(tmp_path, n=2), **kwargs)


def test_not_a_manifest():
    with pytest.raises(TypeError, match="Received: manifest=list"):
        make_dataset(["a.jpg"])


@pytest.mark.parametrize("mode", ["letterbox", "stretch", "crop"])
def test_load_resized_matches_reference_path(tmp_path, mode):
    big = tmp_path / "big.jpg"
    Image.fromarray(np.repeat(gradient(300, 180), 2, axis=0)).save(big, quality=95)  # 360x300
    fast = load_resized(big, 64, mode)
    slow = resize_image(load_image(big), 64, mode)
    assert fast.shape == slow.shape == (64, 64, 3)
    assert np.abs(fast.astype(int) - slow).mean() < 3  # drafted decode: close, not bit-equal
    rot = tmp_path / "rot.jpg"
    im = Image.fromarray(gradient(60, 20))
    exif = im.getexif()
    exif[0x0112] = 8
    im.save(rot, exif=exif, quality=95)
    assert (
        np.abs(
            load_resized(rot, 16, mode).astype(int) - resize_image(load_image(rot), 16, mode)
        ).mean()
        < 3
    )


@pytest.mark.parametrize("orientation", [1, 6])
def test_load_drafted_decodes_at_the_smallest_scale_that_covers_the_target(
    tmp_path, orientation
):
    from fracturenet.data.load_resized import load_drafted

    # A portrait radiograph 443 wide x 640 tall letterboxes into a 155 x 224 box at 224 px:
    # the 1/2 DCT scale (222 x 320) still covers it, the 1/4 scale (111 x 160) does not.
    stored = (443, 640) if orientation == 1 else (640, 443)  # (width, height) as stored
    im = Image.fromarray(gradient(*stored))
    exif = im.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    im.save(path, exif=exif, quality=90)
    image, source, target = load_drafted(path, 224)
    assert image.shape == (320, 222, 3)  # upright, half scale
    assert source == (0, 0, 320, 222) and target == (0, 34, 224, 155)
    # crop mode keeps the middle 443 x 443: covering a 224 box needs the full scale.
    image, source, _ = load_drafted(path, 224, "crop")
    assert image.shape == (640, 443, 3) and source == (98, 0, 443, 443)
    # a 100 px target: the 1/4 scale's middle 111 x 111 still covers it
    assert load_drafted(path, 100, "crop")[0].shape == (160, 111, 3)


def test_class_weights_match_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = [0] * 6 + [1] * 3 + [2]
    ours = class_weights(labels)
    ref = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose([ours[i] for i in range(3)], ref)
    assert class_weights(labels, "sqrt")[2] == pytest.approx(np.sqrt(ref[2]))
    assert class_weights(labels, "none") == {0: 1.0, 1: 1.0, 2: 1.0}
    m = Manifest(("a", "b", "c"), (0, 0, 2), ("x", "y", "z"))
    assert class_weights(m) == {0: 0.5, 1: 1.0, 2: 1.0}  # absent class gets 1.0
    accepted = r"mode must be one of \('auto', 'balanced', 'sqrt', 'none'\)"
    with pytest.raises(ValueError, match=accepted):
        class_weights(labels, "inverse")
    with pytest.raises(
        ValueError, match=r"labels must be < num_classes=2. Received: max\(labels\)=2"
    ):
        class_weights(labels, num_classes=2)


@pytest.mark.realdata
def test_real_folder_pipeline_sample(real_data):
    m = discover(real_data).subset("train")
    sample = m.select(range(0, len(m), 100))  # 10 images, every class order kept
    x, y = _collect(make_dataset(sample, image_size=64, batch_size=4))
    assert x.shape == (len(sample), 64, 64, 3) and y.tolist() == list(sample.labels)
    assert 0 <= x.min() and x.max() <= 255 and x.std() > 10
