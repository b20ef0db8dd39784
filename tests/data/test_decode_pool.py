"""Parallel first-epoch decoding: same pixels as the serial path, file order kept, bad files
named (raise and skip), the memory budget still applied on the decode threads."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

import fracturenet.data._decode_pool as pool_module
import fracturenet.data.pipeline as pipeline_module
from fracturenet.data import Manifest, make_dataset, skipped_files
from fracturenet.data import decode_budget as budget
from fracturenet.data.load_resized import load_resized
from tests.data.conftest import gradient

SIZE = 32


@pytest.fixture(params=[1, 4], ids=["serial", "threads"])
def threads(request, monkeypatch):
    monkeypatch.setattr(pool_module, "decode_threads", lambda: request.param)
    return request.param


def _varied(tmp_path, n: int = 11) -> Manifest:
    """n different pictures: L, RGB, RGBA and palette, PNG and JPEG, several sizes."""
    paths = []
    for i in range(n):
        w, h = 40 + 23 * i, 90 - 5 * i
        im = Image.fromarray(np.roll(gradient(w, h), 7 * i, axis=1))
        im = [im, im.convert("L"), im.convert("RGBA"), im.convert("P")][i % 4]
        ext = "jpg" if i % 4 < 2 and i % 3 == 0 else "png"
        paths.append(str(tmp_path / f"img{i:02d}.{ext}"))
        im.save(paths[-1])
    return Manifest(tuple(paths), tuple(i % 2 for i in range(n)), ("a", "b"))


def _collect(ds) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def test_pipeline_pixels_equal_the_serial_decode_bit_for_bit(tmp_path, threads):
    m = _varied(tmp_path)
    x, y = _collect(make_dataset(m, image_size=SIZE, batch_size=4))
    serial = np.stack([load_resized(p, SIZE) for p in m.paths]).astype(np.float32)
    assert x.shape == serial.shape and np.array_equal(x, serial)
    assert y.tolist() == list(m.labels)


def test_file_order_kept_when_threads_finish_in_another_order(tmp_path, monkeypatch):
    monkeypatch.setattr(pool_module, "decode_threads", lambda: 4)
    m = _varied(tmp_path, n=8)
    real, done = pipeline_module._load_resized_planes, []

    def slow_first(path, *args, **kwargs):  # earlier files finish later
        time.sleep(0.02 * (8 - m.paths.index(path)))
        done.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pipeline_module, "_load_resized_planes", slow_first)
    x, _ = _collect(make_dataset(m, image_size=SIZE, batch_size=8))
    assert done != list(m.paths)  # the threads did finish out of order
    expected = np.stack([load_resized(p, SIZE) for p in m.paths]).astype(np.float32)
    assert np.array_equal(x, expected)


def test_map_outcomes_keeps_order_and_hands_back_errors(monkeypatch):
    monkeypatch.setattr(pool_module, "decode_threads", lambda: 3)
    names = set()

    def work(i: int) -> int:
        names.add(threading.current_thread().name)
        time.sleep(0.01 * (6 - i))
        if i == 2:
            raise ValueError("two")
        return i * 10

    out = pool_module.map_outcomes(work, list(range(6)))
    assert [r for r, _ in out] == [0, 10, None, 30, 40, 50]
    assert [str(e) for _, e in out if e is not None] == ["two"]
    assert all(n.startswith("fracturenet-decode") for n in names)


def _with_bad_files(tmp_path) -> tuple[Manifest, list[str]]:
    m = _varied(tmp_path, n=9)
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not a picture")
    paths = list(m.paths)
    paths.insert(3, str(tmp_path / "zero.png"))
    paths.insert(7, str(tmp_path / "text.jpg"))
    good = [p for p in paths if "img" in p]
    return Manifest(tuple(paths), tuple(i % 2 for i in range(len(paths))), ("a", "b")), good


def test_bad_files_on_the_threads_are_skipped_and_named_in_file_order(tmp_path, threads):
    m, good = _with_bad_files(tmp_path)
    ds = make_dataset(m, image_size=SIZE, batch_size=4, on_error="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _ = _collect(ds)
    assert np.array_equal(x, np.stack([load_resized(p, SIZE) for p in good]).astype(np.float32))
    skipped = skipped_files(ds)
    assert [p.split("/")[-1] for p, _ in skipped] == ["zero.png", "text.jpg"]
    assert skipped[0][1].startswith("zero-byte") and "holds text" in skipped[1][1]


def test_bad_file_on_the_threads_raises_naming_it(tmp_path, threads):
    import tensorflow as tf

    m, _ = _with_bad_files(tmp_path)
    with pytest.raises(tf.errors.OpError, match=r"zero.png.*zero-byte file"):
        _collect(make_dataset(m, image_size=SIZE, batch_size=4))


@pytest.fixture()
def tiny_budget():
    previous = budget.decode_memory()
    budget.set_decode_memory(2**20)  # 1 MB
    yield
    budget.set_decode_memory(previous)


def test_memory_budget_applies_on_the_decode_threads(tmp_path, threads, tiny_budget):
    # 600x600 RGBA needs 600*600*(4 + 2*4) B = 4 MB: over a 1 MB budget, refused with the file
    # name, the estimate and the setting; the small pictures around it still decode.
    m = _varied(tmp_path, n=5)
    Image.new("RGBA", (600, 600)).save(tmp_path / "huge.png")
    paths = m.paths[:2] + (str(tmp_path / "huge.png"),) + m.paths[2:]
    big = Manifest(paths, (0, 1, 0, 1, 0, 1), ("a", "b"))
    ds = make_dataset(big, image_size=SIZE, on_error="skip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _ = _collect(ds)
    assert len(x) == 5
    [(path, reason)] = skipped_files(ds)
    assert path.endswith("huge.png")
    assert "needs about 4 MB, more than the decode memory limit of 1 MB" in reason
    assert "FRACTURENET_DECODE_MEMORY_MB" in reason
