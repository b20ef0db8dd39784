"""The transfer recipe's defaults on real radiographs with real ImageNet VGG16 weights.

300 FracAtlas radiographs (150 fractured, 150 not, drawn with a fixed seed), copied at 128 px
so the test decodes small files, then the library's defaults at 96 px: the head against the
scikit-learn linear probe on the very same features, and head + fine-tuning against the
head. It runs where the ImageNet VGG16 file is cached (``.ci/run`` installs it) and
FracAtlas is present, and skips saying how to get each otherwise. The full comparison, on
all the images with grouped 5-fold CV, is ``benchmarks/real_transfer.py``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
FRACATLAS = Path(os.environ.get("FRACTURENET_FRACATLAS", REPO.parent / "shared/data/fracatlas"))
INSTALL = "PYTHON=<venv>/bin/python bash ../shared/tools/imagenet-vgg16/install.sh"
SIZE, PER_CLASS = 96, 150


@pytest.fixture(scope="module")
def radiographs(tmp_path_factory):
    """Train / val / test manifests of the small copies (grouped by image: no copies among
    these 300, checked by the audit in the data guide's FracAtlas section)."""
    from fracturenet.models import imagenet_weights_cached

    if not imagenet_weights_cached("vgg16"):
        pytest.skip(f"ImageNet VGG16 weights are not cached; install them with: {INSTALL}")
    if not (FRACATLAS / "images").is_dir():
        pytest.skip(f"FracAtlas not present at {FRACATLAS} (set FRACTURENET_FRACATLAS)")
    from PIL import Image

    from fracturenet.data import discover, train_val_test_split

    full = discover(FRACATLAS / "images")
    rng = np.random.default_rng(0)
    y = np.asarray(full.labels)
    root = tmp_path_factory.mktemp("fracatlas-small")
    for c, name in enumerate(full.class_names):
        written = 0
        for i in rng.permutation(np.flatnonzero(y == c)):
            try:
                with Image.open(full.paths[i]) as img:
                    img.draft("L", (256, 256))  # JPEG: decode at a fraction of the size
                    small = img.convert("L")
                    small.thumbnail((128, 128))
            except OSError:  # a truncated JPEG (FracAtlas has 53): take the next image
                continue
            (root / name).mkdir(exist_ok=True)
            small.save(root / name / f"{Path(full.paths[i]).stem}.png")
            written += 1
            if written == PER_CLASS:
                break
    split = train_val_test_split(discover(root), val=0.2, test=0.3, seed=0, groups=None)
    return tuple(split.subset(s) for s in ("train", "val", "test"))


def _probabilities(model, manifest):
    from fracturenet.data import make_dataset

    p = model.predict(make_dataset(manifest, image_size=SIZE, batch_size=32), verbose=0)
    p = np.asarray(p, dtype=np.float64)
    return p[:, 0] if p.shape[1] == 1 else p[:, 1]


def _trained(train, val, tmp_path, **fit):
    from fracturenet.config import ModelConfig
    from fracturenet.training import Trainer

    cfg = ModelConfig("vgg16", num_classes=2, input_shape=(SIZE, SIZE, 3))  # imagenet
    trainer = Trainer(cfg, run_dir=tmp_path, precision="float32", verbose=0, seed=0)
    trainer.fit(train, val, **fit)
    return trainer


@pytest.fixture(scope="module")
def head(radiographs, tmp_path_factory):
    train, val, _ = radiographs
    return _trained(train, val, tmp_path_factory.mktemp("head"))


def test_default_head_matches_the_linear_probe_on_the_same_features(radiographs, head):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fracturenet.data import make_dataset
    from fracturenet.models import split_feature_extractor
    from fracturenet.training import extract_features

    train, _, test = radiographs
    extractor = split_feature_extractor(head.model)[0]
    feats = {
        name: extract_features(extractor, make_dataset(m, image_size=SIZE, batch_size=32))
        for name, m in (("train", train), ("test", test))
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = make_pipeline(
            StandardScaler(),
            LogisticRegressionCV(Cs=np.logspace(-4, 1, 11), cv=5, scoring="neg_log_loss",
                                 max_iter=3000),
        ).fit(*feats["train"])  # fmt: skip
    y = np.asarray(test.labels)
    reference = roc_auc_score(y, oracle.predict_proba(feats["test"][0])[:, 1])
    p = _probabilities(head.model, test)
    mine = roc_auc_score(y, p)
    assert reference > 0.6, reference  # ImageNet features carry signal here
    print(f"MEASURED head AUROC {mine:.4f} vs probe {reference:.4f}")
    assert mine >= reference - 0.02, (mine, reference)
    log_loss = -np.mean(np.log(np.clip(np.where(y == 1, p, 1 - p), 1e-7, 1)))
    assert log_loss < np.log(2), log_loss  # below the chance loss of balanced classes


def test_fine_tuning_from_imagenet_does_not_end_worse_than_the_head(radiographs, head, tmp_path):
    from sklearn.metrics import roc_auc_score

    train, val, test = radiographs
    tuned = _trained(train, val, tmp_path, fine_tune_epochs=2)
    y = np.asarray(test.labels)
    before = roc_auc_score(y, _probabilities(head.model, test))
    after = roc_auc_score(y, _probabilities(tuned.model, test))
    print(f"MEASURED fine-tuned AUROC {after:.4f} vs head {before:.4f}")
    assert after >= before - 0.02, (after, before)
