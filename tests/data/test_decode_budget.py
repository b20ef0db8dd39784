"""The decode memory budget: huge images are refused by memory, concurrency adapts to size."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

from fracturenet.data import audit, discover, load_image
from fracturenet.data import decode_budget as budget
from fracturenet.exceptions import ImageDecodeError


@pytest.fixture()
def small_budget():
    previous = budget.decode_memory()
    budget.set_decode_memory(2 * 2**20)  # 2 MB
    yield
    budget.set_decode_memory(previous)


def test_an_image_over_the_memory_limit_is_refused_by_memory(tmp_path, small_budget):
    Image.new("RGB", (600, 600)).save(tmp_path / "big.png")  # 600*600*12 B > 2 MB
    with pytest.raises(
        ImageDecodeError,
        match=r"needs about 4 MB, more than the decode memory "
        r"limit of 2 MB",
    ):
        load_image(tmp_path / "big.png")
    Image.new("RGB", (200, 200)).save(tmp_path / "small.png")
    assert load_image(tmp_path / "small.png").shape == (200, 200, 3)


def test_audit_reports_the_refused_image_and_keeps_the_others(tmp_path, small_budget):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        Image.fromarray(np.full((64, 64, 3), ord(cls), np.uint8)).save(tmp_path / cls / "s.png")
    Image.new("RGB", (600, 600)).save(tmp_path / "a" / "huge.png")
    report = audit(discover(tmp_path), progress=False)
    assert [(p.split("/")[-1], "decode memory limit" in why) for p, why in report.unreadable] == [
        ("huge.png", True)
    ]


def test_decodes_in_flight_never_exceed_the_budget(small_budget):
    peak, lock, active = [0], threading.Lock(), [0]

    def work():
        with budget.decode_scope():
            budget.charge_decode((300, 300), "RGB", "x.png")  # 720 kB: two fit in 2 MB
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_copies_can_depend_on_the_decoded_mode(tmp_path, small_budget):
    # 400x400 L: 160 kB decoded; with 2 copies (4 B/px each) 1.4 MB, with 8 copies 5.3 MB.
    Image.new("L", (400, 400)).save(tmp_path / "gray.png")
    with budget.decode_scope(copies=lambda mode: 2 if mode == "L" else 8):
        assert load_image(tmp_path / "gray.png").shape == (400, 400, 3)
    with budget.decode_scope(copies=lambda mode: 8 if mode == "L" else 2):
        with pytest.raises(ImageDecodeError, match="needs about 5 MB"):
            load_image(tmp_path / "gray.png")


def test_load_resized_charges_only_the_pillow_image_for_l_and_rgb(tmp_path, small_budget):
    # 700x700 RGB: 1.9 MB in Pillow fits the 2 MB budget when no full-size array is made;
    # RGBA goes through a full-size RGB array (2 copies: 5.6 MB) and is refused.
    from fracturenet.data import load_resized

    Image.new("RGB", (700, 700), (9, 99, 199)).save(tmp_path / "rgb.png")
    assert load_resized(tmp_path / "rgb.png", 32)[16, 16].tolist() == [9, 99, 199]
    Image.new("RGBA", (700, 700)).save(tmp_path / "rgba.png")
    with pytest.raises(ImageDecodeError, match=r"rgba.png.*needs about 6 MB"):
        load_resized(tmp_path / "rgba.png", 32)


def test_large_decodes_return_freed_memory_to_the_os(monkeypatch):
    calls = []
    monkeypatch.setattr(budget, "_return_freed_memory", lambda: calls.append(1))
    with budget.decode_scope(copies=0):
        budget.charge_decode((1000, 1000), "RGB", "small.png")  # 4 MB
    assert calls == []
    with budget.decode_scope(copies=0):
        budget.charge_decode((5000, 4000), "RGB", "large.png")  # 80 MB
    assert calls == [1]
