"""evaluate() knows whether its images picked the model: the Trainer's saved record of the
training and selection images, compared by file content; and ``on_error`` for a Manifest."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from fracturenet.config import ModelConfig  # noqa: E402
from fracturenet.data import Manifest, make_synthetic_fractures, train_val_test_split  # noqa: E402
from fracturenet.evaluation import compare, evaluate  # noqa: E402
from fracturenet.exceptions import ComparisonError, ImageDecodeError  # noqa: E402
from fracturenet.models import build_classifier, load_model, read_metadata  # noqa: E402
from fracturenet.training import Trainer  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 32 px VGG16 (random weights) trained 1 epoch on 12 phantoms, picked on 4 others."""
    root = tmp_path_factory.mktemp("selection") / "data"
    found = make_synthetic_fractures(
        root, classes=["transverse", "spiral"], images_per_class=10, image_size=32, seed=0
    )
    split = train_val_test_split(found.subset("train"), val=0.3, seed=0)
    train, val, test = split.subset("train"), split.subset("val"), found.subset("test")
    run = root.parent / "run"
    trainer = Trainer(
        ModelConfig("vgg16", 2, (32, 32, 3), weights=None),
        run_dir=run,
        precision="float32",
        verbose=0,
    )
    trainer.fit(train, val, epochs=1, batch_size=8)
    return {"model": load_model(run / "model.keras"), "run": run, "train": train,
            "val": val, "test": test}  # fmt: skip


def _copies(manifest: Manifest, folder: Path) -> Manifest:
    """The same images under other names in another folder (content identical)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, p in enumerate(manifest.paths):
        paths.append(str(folder / f"copy-{i}.png"))
        shutil.copyfile(p, paths[-1])
    return Manifest(paths=tuple(paths), labels=manifest.labels, class_names=manifest.class_names)


def _evaluate(model, manifest, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate(model, manifest, class_names=manifest.class_names, bootstrap=0, **kw)
    return report, [str(w.message) for w in caught]


def test_saved_model_records_train_and_selection_sets_compactly(trained):
    sets = read_metadata(trained["run"] / "model.keras")["training_data"]["sets"]
    assert {k: (v["n"], v["used_for_selection"]) for k, v in sets.items()} == {
        "train": (12, False),
        "val": (4, True),
    }
    assert len(sets["train"]["digests"]) == 128  # 12 x 8 bytes, base64


def test_validation_copies_are_reported_as_the_selection_split(trained, tmp_path):
    report, caught = _evaluate(trained["model"], _copies(trained["val"], tmp_path), split="x")
    on = report.to_dict()["evaluated_on"]
    assert on["used_for_selection"] is True and on["shared_with_model_data"] == {
        "train": 0,
        "val": 4,
    }
    assert "used for model selection (early stopping / best epoch)" in report.to_markdown()
    assert "partly" not in on["summary"] and on["leakage"] is None and not caught
    check = report.info["selection_check"]
    assert (
        check["sha256"]
        == read_metadata(trained["run"] / "model.keras")["training_data"]["sets"]["val"]["sha256"]
    )  # the same images, whatever their names
    with pytest.raises(ComparisonError, match="model selection"):
        compare(report, report, names=["a", "b"], n_boot=20)
    verdict = compare(report, report, names=["a", "b"], n_boot=20, allow_selection_split=True)
    assert "used for model selection" in verdict.pairs[0].verdict


def test_disjoint_test_split_is_not_used_for_selection(trained):
    report, caught = _evaluate(trained["model"], trained["test"], split="test")
    assert report.info["used_for_selection"] is False and not caught
    assert "not used for model selection" in report.to_markdown()
    assert "leakage" not in report.to_markdown().lower()


def test_training_images_among_the_evaluated_are_counted_as_leakage(trained):
    test, train = trained["test"], trained["train"]
    mixed = Manifest(
        paths=test.paths + train.paths[:3],
        labels=test.labels + train.labels[:3],
        class_names=test.class_names,
    )
    report, caught = _evaluate(trained["model"], mixed, split="test")
    text = "leakage: 3 of 7 evaluated images are also in the model's train split"
    assert any(text in c for c in caught), caught
    assert text in report.to_markdown() and text in report.to_dict()["evaluated_on"]["summary"]
    assert report.info["used_for_selection"] is False  # leakage, but no selection image


def test_some_validation_images_make_the_split_partly_selection(trained):
    test, val = trained["test"], trained["val"]
    mixed = Manifest(paths=test.paths + val.paths[:1], labels=test.labels + val.labels[:1],
                     class_names=test.class_names)  # fmt: skip
    report, _ = _evaluate(trained["model"], mixed, split="test", used_for_selection=False)
    assert report.info["used_for_selection"] is True
    assert "partly used for model selection (1 of 5 images are in the model's val split" in (
        report.to_markdown()
    )


def test_a_model_without_the_record_stays_not_recorded(trained):
    bare = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    report, _ = _evaluate(bare, trained["test"])
    assert report.info["used_for_selection"] is None and "selection_check" not in report.info
    assert "use for model selection not recorded" in report.to_markdown()


def test_on_error_raise_names_the_file_and_skip_lists_it(trained, tmp_path):
    test = trained["test"]
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with_bad = Manifest(paths=(*test.paths, str(bad)), labels=(*test.labels, 0),
                        class_names=test.class_names)  # fmt: skip
    with pytest.raises(ImageDecodeError, match="corrupt.png"):
        _evaluate(trained["model"], with_bad)
    report, caught = _evaluate(trained["model"], with_bad, on_error="skip")
    assert [s["path"] for s in report.info["skipped"]] == [str(bad)]
    assert report.info["skipped"][0]["reason"] and str(bad) not in report.ids
    assert len(report.ids) == len(test) and any("corrupt.png" in c for c in caught)
    assert "Left out 1 unreadable image(s)" in report.to_markdown()
    assert json.loads(json.dumps(report.to_dict()))["info"]["skipped"][0]["path"] == str(bad)
    with pytest.raises(ValueError, match="Received: on_error='ignore'"):
        _evaluate(trained["model"], test, on_error="ignore")
