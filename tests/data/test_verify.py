"""The audit's verification stage: look-alikes are not copies, re-encodes and re-crops are.

FracAtlas holds many different radiographs of similar limbs on dark backgrounds whose
perceptual hashes are as close as those of copies; the stand-ins here share their coarse
"anatomy" (so the hashes pair them) and differ in fine detail, as different exposures do.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from fracturenet.data import Manifest, audit
from fracturenet.data.verify import DEFAULT_MIN_DETAIL, detail_similarity, grey_thumbnail


def look_alike(k: int) -> np.ndarray:
    """Coarse anatomy shared by every ``k`` (seed 0), fine detail of its own (seed ``k``)."""
    h, w = 96, 128
    img = gaussian_filter(np.random.default_rng(0).normal(0, 1, (h, w)), 6)
    img = (img - img.min()) / np.ptp(img)
    img += 0.1 * gaussian_filter(np.random.default_rng(100 + k).normal(0, 1, (h, w)), 1.0)
    return np.clip(img * 200 + 20, 0, 255).astype(np.uint8)


@pytest.fixture()
def folder(tmp_path):
    names = {}
    for k in range(3):
        Image.fromarray(look_alike(k)).save(tmp_path / f"alike{k}.png")
        names[f"alike{k}.png"] = k
    a = Image.fromarray(look_alike(0))
    a.save(tmp_path / "alike0_q60.jpg", quality=60)  # a re-encode
    a.crop((2, 2, 126, 94)).resize((140, 104)).save(tmp_path / "alike0_crop.png")  # re-crop
    files = ["alike0.png", "alike1.png", "alike2.png", "alike0_q60.jpg", "alike0_crop.png"]
    return Manifest([str(tmp_path / f) for f in files], [0, 1, 1, 1, 0], ("a", "b"))


def test_look_alikes_are_candidates_but_not_grouped_and_copies_are(folder):
    # Without the check the hashes put all five in one cluster, with a label conflict.
    trusting = audit(folder, progress=False, min_detail=None)
    assert trusting.clusters == [[0, 1, 2, 3, 4]] and trusting.conflicts
    report = audit(folder, progress=False)
    assert report.clusters == [[0, 3, 4]]  # the original, its re-encode and its re-crop
    assert report.conflicts == [[0, 3, 4]]  # the re-encode carries another label
    similar = {(i, j) for i, j, _, _ in report.similar_pairs}
    assert {(1, 2)} <= similar and not similar & {(0, 3), (0, 4), (3, 4)}
    assert all(s < DEFAULT_MIN_DETAIL for *_, s in report.similar_pairs)
    assert report.counts()["similar_not_same_pairs"] == len(report.similar_pairs)
    assert "similar, not same" in report.summary()
    assert report.to_dict()["similar_pairs"][0]["detail_similarity"] < DEFAULT_MIN_DETAIL
    assert report.settings["min_detail"] == DEFAULT_MIN_DETAIL


def test_detail_similarity_separates_copies_from_look_alikes():
    thumb = lambda x: grey_thumbnail(Image.fromarray(x))  # noqa: E731
    a, b = thumb(look_alike(0)), thumb(look_alike(1))
    buf = io.BytesIO()
    Image.fromarray(look_alike(0)).save(buf, "JPEG", quality=50)
    assert detail_similarity(a, thumb(np.asarray(Image.open(buf)))) > 0.95
    assert detail_similarity(a, b) < 0.7
    turned = np.rot90(a).copy()
    assert detail_similarity(turned, a, "rot270") > 0.95
    assert detail_similarity(a, turned, "rot270") > 0.95  # either direction


def test_bad_arguments_name_the_argument():
    a = np.zeros((128, 128))
    with pytest.raises(ValueError, match=r"Received: a.shape=\(128, 128\), b.shape=\(64, 64\)"):
        detail_similarity(a, np.zeros((64, 64)))
    with pytest.raises(ValueError, match="Received: transform='spin'"):
        detail_similarity(a, a, "spin")
    m = Manifest(["/x.png"], [0], ("a",))
    with pytest.raises(ValueError, match="Received: min_detail=2"):
        audit(m, progress=False, min_detail=2)
