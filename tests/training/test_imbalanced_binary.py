"""An imbalanced binary folder end to end: the Trainer weights the skewed classes (and says
so), chooses a threshold on the validation split and saves it inside model.keras; predict
and evaluate (Python and CLI) decide with it and report the clinician's metrics per facet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fracturenet.cli import main
from fracturenet.data import discover
from fracturenet.evaluation import evaluate
from fracturenet.inference import Predictor
from fracturenet.models import decision_threshold_of, load_model, read_metadata
from fracturenet.training import Trainer

COUNTS = {"train": (6, 30), "val": (5, 25), "test": (5, 25)}  # fractured, normal: 1 in 6


def _write(folder: Path, rng: np.random.Generator, fractured: bool, i: int) -> None:
    base = 150 if fractured else 90  # separable on average, overlapping: AUROC < 1
    img = np.clip(rng.normal(base, 45, (16, 16)), 0, 255).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(folder / f"{'f' if fractured else 'n'}{i:03d}.png")


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    root = tmp_path_factory.mktemp("skewed")
    rng = np.random.default_rng(0)
    for split, (n_f, n_n) in COUNTS.items():
        for i in range(n_f):
            _write(root / split / "fractured", rng, True, i)
        for i in range(n_n):
            _write(root / split / "normal", rng, False, i)
    manifest = discover(root)
    run = root.parent / "run"
    from fracturenet.config import ModelConfig

    cfg = ModelConfig("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    trainer = Trainer(cfg, run_dir=run, precision="float32", verbose=0)
    trainer.fit(manifest.subset("train"), manifest.subset("val"), epochs=3, batch_size=8, lr=3e-3)
    return root, manifest, run, trainer


def test_trainer_weights_skewed_classes_and_stores_a_validation_threshold(skewed):
    _, manifest, run, trainer = skewed
    record = json.loads((run / "config.json").read_text())
    resolved = record["resolved"]["class_weight"]
    assert record["fit"]["class_weight"] == "auto"
    assert "'auto' -> 'balanced'" in resolved["reason"]
    assert resolved["weights"]["0"] == pytest.approx(36 / (2 * 6))  # fractured, 6 of 36
    log = (run / "train.log").read_text()
    assert "class weights: class_weight='auto' -> 'balanced'" in log
    assert "decision threshold: fractured when p >=" in log
    saved = read_metadata(run / "model.keras")["decision_threshold"]
    assert saved["positive_class"] == "fractured"  # the minority class
    assert saved["chosen_on"]["n"] == 30 and saved["chosen_on"]["n_positive"] == 5
    assert decision_threshold_of(trainer.model).threshold == saved["threshold"]


def test_evaluate_and_predict_decide_with_the_stored_threshold(skewed):
    root, manifest, run, _ = skewed
    model = load_model(run / "model.keras")
    decision = decision_threshold_of(model)
    test = manifest.subset("test")
    regions = ["hand" if i % 2 else "leg" for i in range(len(test))]
    report = evaluate(model, test, class_names=["fractured", "normal"], bootstrap=100,
                      facets={"region": regions})  # fmt: skip
    b = report.metrics["binary"]
    assert b["operating_point"]["threshold"] == decision.threshold
    assert b["positive_class"] == "fractured" and b["n_positive"] == 5
    expected = decision.predict(report.y_prob)
    assert report.y_pred.tolist() == expected.tolist()
    assert b["tp"] == int(np.sum((expected == 0) & (report.y_true == 0)))
    rows = report.metrics["facets"]["region"]
    assert sum(r["n"] for r in rows) == 30 and {r["facet_value"] for r in rows} == {"hand", "leg"}
    # attribute names of a manifest that carries per-image attributes (a metadata CSV join)
    object.__setattr__(test, "attributes", {"region": tuple(regions)})
    named = evaluate(model, test, class_names=["fractured", "normal"], bootstrap=0,
                     facets="region")  # fmt: skip
    assert named.metrics["facets"]["region"] == report.metrics["facets"]["region"]
    with pytest.raises(ValueError, match=r"not per-image attributes.*\['region'\]"):
        evaluate(model, test, bootstrap=0, facets=["view"])
    argmax = evaluate(model, test, class_names=["fractured", "normal"], bootstrap=0,
                      threshold="argmax")  # fmt: skip
    assert argmax.metrics["binary"]["operating_point"]["source"] == "argmax"
    files = [str(p) for p in sorted((root / "test").rglob("*.png"))]
    result = Predictor.from_run(run, precision="float32").predict(files)
    assert result.decision == decision
    assert result.predicted.tolist() == decision.predict(result.probabilities).tolist()


def test_cli_evaluate_reports_binary_metrics_and_facets_from_a_metadata_csv(skewed, capsys):
    root, _, run, _ = skewed
    meta = root.parent / "meta.csv"
    names = sorted(p.name for p in (root / "test").rglob("*.png"))
    lines = ["image_id,hand,leg"] + [f"{n},{i % 2},{1 - i % 2}" for i, n in enumerate(names)]
    meta.write_text("\n".join(lines) + "\n")
    argv = ["evaluate", run, root, "--split", "test", "--bootstrap", "50", "-q",
            "--metadata", meta, "--facet", "region=hand,leg"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "| AUROC |" in out and "| sensitivity at 90 % specificity |" in out
    assert "Positive class: fractured" in out and "rule youden" in out
    assert "Per region (Wilson 95 % intervals):" in out and "| hand | 15 |" in out
    code = main(["evaluate", str(run), str(root), "--facet", "region=hand,leg", "-q"])
    assert code == 2
    assert "--metadata" in capsys.readouterr().err


def test_cli_train_and_predict_use_a_validation_threshold(skewed, tmp_path, capsys):
    root = skewed[0]
    out = tmp_path / "cli-run"
    argv = ["train", root, "--out", out, "--backbone", "smallcnn_tiny", "--weights", "none",
            "--image-size", "16", "--epochs", "1", "--batch-size", "16", "--bootstrap", "20",
            "--precision", "float32", "--decision-threshold", "sensitivity:0.8",
            "--positive-class", "fractured", "-q", "--json"]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["binary"]["positive_class"] == "fractured"
    saved = read_metadata(out / "model.keras")["decision_threshold"]
    assert saved["rule"] == "sensitivity:0.8" and saved["chosen_on"]["sensitivity"] >= 0.8
    assert result["binary"]["threshold"] == saved["threshold"]
    assert json.loads((out / "config.json").read_text())["fit"]["class_weight"] == "auto"
    code = main(["predict", str(out), str(root / "test"), "--precision", "float32", "--json"])
    assert code == 0
    predicted = json.loads(capsys.readouterr().out)
    assert predicted["decision_threshold"]["threshold"] == saved["threshold"]
    bad = [*argv[:3], tmp_path / "bad", *argv[4:]]
    bad[bad.index("sensitivity:0.8")] = "youdn"
    assert main([str(a) for a in bad]) != 0
    err = capsys.readouterr().err
    assert "decision_threshold" in err and "Received: decision_threshold='youdn'" in err
