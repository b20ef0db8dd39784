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
    with pytest.raises(ImageDecodeError, match=r"needs about 4 MB, more than the decode memory "
                                               r"limit of 2 MB"):
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
        ("huge.png", True)]


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
