"""cross_validate on tiny phantoms: folds, group integrity, pooled out-of-fold report, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from fracturenet.data import Manifest, discover  # noqa: E402
from fracturenet.evaluation import (  # noqa: E402
    CrossValidationResult,
    EvaluationReport,
    compare,
)
from fracturenet.exceptions import DatasetError, RunDirectoryExistsError  # noqa: E402
from fracturenet.workflows import cross_validate  # noqa: E402

K = 3


@pytest.fixture(scope="module")
def with_copies(phantoms, tmp_path_factory) -> tuple[Manifest, list[set[str]]]:
    """The phantoms plus exact copies of three training images (one cluster each)."""
    root = tmp_path_factory.mktemp("cv") / "data"
    shutil.copytree(phantoms.root, root)
    manifest = discover(root)
    train = [p for p, s in zip(manifest.paths, manifest.splits) if s == "train"]
    clusters = []
    for src in train[:: len(train) // 3][:3]:
        dst = Path(src).with_name("copy-" + Path(src).name)
        shutil.copy2(src, dst)
        clusters.append({src, str(dst)})
    return discover(root), clusters


@pytest.fixture(scope="module")
def cv(with_copies) -> CrossValidationResult:
    manifest, _ = with_copies
    return cross_validate(
        manifest,
        backbone="vgg16",
        k=K,
        groups="auto",
        seed=0,
        epochs=1,
        image_size=32,
        weights=None,
        val_fraction=0.25,
        batch_size=16,
        bootstrap=50,
    )


def _pool(manifest: Manifest) -> list[str]:
    return [p for p, s in zip(manifest.paths, manifest.splits) if s != "test"]


def test_one_result_per_fold_with_all_pool_images(cv, with_copies):
    manifest, _ = with_copies
    pool = _pool(manifest)
    assert cv.k == K and [f.index for f in cv.folds] == list(range(K))
    for f in cv.folds:
        assert f.train_size + f.test_size == len(pool)
        assert len(f.report.ids) == f.test_size > 0
    assert cv.settings["k"] == K and cv.settings["image_size"] == 32


def test_duplicate_clusters_never_straddle_train_and_test(cv, with_copies):
    _, clusters = with_copies
    tests = [set(f.report.ids) for f in cv.folds]
    for cluster in clusters:
        homes = [i for i, t in enumerate(tests) if cluster & t]
        assert len(homes) == 1, cluster
        assert cluster <= tests[homes[0]]  # all copies held out together


def test_oof_covers_every_image_exactly_once_in_manifest_order(cv, with_copies):
    manifest, _ = with_copies
    pool = _pool(manifest)
    assert list(cv.oof.ids) == pool
    labels = [y for y, s in zip(manifest.labels, manifest.splits) if s != "test"]
    np.testing.assert_array_equal(cv.oof.y_true, labels)
    row = {p: i for i, p in enumerate(cv.oof.ids)}
    for f in cv.folds:
        np.testing.assert_allclose(cv.oof.y_prob[[row[p] for p in f.report.ids]], f.report.y_prob)
    assert cv.oof.intervals["accuracy"].low <= cv.oof.metrics["accuracy"]


def test_mean_and_sd_match_the_fold_values(cv):
    acc = [f.report.metrics["accuracy"] for f in cv.folds]
    assert cv.per_fold("accuracy") == acc
    assert cv.mean("accuracy") == pytest.approx(np.mean(acc))
    assert cv.sd("accuracy") == pytest.approx(np.std(acc, ddof=1))
    s = cv.summary()["macro_f1"]
    assert s["mean"] == pytest.approx(np.mean(cv.per_fold("macro_f1")))
    assert s["pooled"] == cv.oof.metrics["macro_f1"]
    with pytest.raises(KeyError, match="metric='nope'"):
        cv.per_fold("nope")


def test_exports_round_trip_and_feed_compare(cv, tmp_path):
    path = cv.to_json(tmp_path / "cv.json")
    back = CrossValidationResult.from_json(path)
    assert back.k == cv.k and back.settings["groups"] == "auto"
    np.testing.assert_allclose(back.oof.y_prob, cv.oof.y_prob)
    assert back.per_fold("accuracy") == pytest.approx(cv.per_fold("accuracy"))
    with pytest.raises(FileExistsError):
        cv.to_json(path)
    md = cv.to_markdown()
    assert "| accuracy |" in md and md.count("\n| 2 |") == 1
    always_first = EvaluationReport.from_predictions(
        cv.oof.y_true,
        np.eye(len(cv.oof.class_names))[np.zeros(len(cv.oof.ids), int)],
        class_names=cv.oof.class_names,
        ids=cv.oof.ids,
        bootstrap=0,
    )
    assert "vgg16" in compare(cv.oof, always_first, names=["vgg16", "const"], n_boot=50).verdict


def _fake(n: int = 12) -> Manifest:
    return Manifest(
        paths=[f"/nowhere/{i}.png" for i in range(n)],
        labels=[0, 1] * (n // 2),
        class_names=("a", "b"),
    )


@pytest.mark.parametrize("k", [1, 0, -2, 2.5, "3", True])
def test_bad_k_is_rejected_by_name(k):
    with pytest.raises(ValueError, match=r"`k` must be an int >= 2\. Received: k="):
        cross_validate(_fake(), k=k, groups=None)


def test_more_folds_than_groups_is_a_dataset_error():
    with pytest.raises(DatasetError, match="Cannot make 20 folds from 12 group"):
        cross_validate(_fake(), k=20, groups=None, image_size=32)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groups": "patients"}, "groups='patients'"),
        ({"val_fraction": 1.0}, "val_fraction=1.0"),
        ({"epochs": 0}, "epochs=0, fine_tune_epochs=0"),
        ({"bootstrap": -1}, "bootstrap=-1"),
        ({"trainer_kwargs": {"seed": 3}}, r"trainer_kwargs keys \['seed'\]"),
        ({"fit_kwargs": {"epochs": 3}}, r"fit_kwargs keys \['epochs'\]"),
        ({"backbone": "vgg99"}, "vgg99"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cross_validate(_fake(), **{"groups": None, "image_size": 32, **kwargs})


def test_bad_data_type_and_occupied_run_dir(tmp_path):
    with pytest.raises(TypeError, match="Received: data=list"):
        cross_validate([1, 2, 3])
    (tmp_path / "keep.txt").write_text("user file")
    with pytest.raises(RunDirectoryExistsError, match="not empty"):
        cross_validate(_fake(), groups=None, image_size=32, run_dir=tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "user file"


@pytest.mark.slow
def test_compare_backbones_example_quick(tmp_path):
    """After a docs build of the same sources (CI) this checks the build's run of the script."""
    from tests.examples.quick_runs import quick_run

    run = quick_run("compare_backbones.py", tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "VERDICT (duplicate clusters as groups)" in run.stdout
    assert "vgg16" in run.stdout and "resnet50" in run.stdout
    for name in (
        "summary.json",
        "grouped-comparison.json",
        "grouped-vgg16-oof.json",
        "grouped-resnet50-crossval.json",
    ):
        assert (run.out / name).is_file(), f"{name} ({run.source})"


def test_a_non_square_input_and_the_resize_mode_reach_every_fold(tmp_path):
    from fracturenet.config import ModelConfig
    from tests.models.conftest import write_tall_white_images

    write_tall_white_images(tmp_path / "data", per_class=4)
    config = ModelConfig("smallcnn_tiny", num_classes=2, input_shape=(16, 24, 3), weights=None)
    result = cross_validate(
        tmp_path / "data",
        backbone=config,
        k=2,
        groups=None,
        epochs=1,
        batch_size=4,
        bootstrap=0,
        fit_kwargs={"resize_mode": "stretch"},
    )
    assert len(result.oof.y_true) == 8  # every held-out image went through a 16x24 pipeline
    assert result.settings["input_shape"] == [16, 24, 3]
