"""``fracturenet train``: happy path, resolved config, TOML configs and usage errors."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run_cli


def test_train_writes_model_metrics_and_resolved_config(trained_run):
    for name in ("model.keras", "metrics.json", "run.toml", "result.json", "config.json"):
        assert (trained_run / name).is_file(), name
    result = json.loads((trained_run / "result.json").read_text())
    assert result["evaluated_on"] == "test"  # the phantom layout has a Test split
    assert set(result["metrics"]) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert 0.0 <= result["metrics"]["accuracy"] <= 1.0
    assert result["settings"]["image_size"] == 32 and result["settings"]["group"] is True
    report = json.loads((trained_run / "metrics.json").read_text())
    assert report["evaluated_on"]["split"] == "test"
    assert report["evaluated_on"]["used_for_selection"] is False
    info = report["info"]
    assert info["backbone"] == "vgg16" and info["input_shape"] == [32, 32, 3]
    assert info["weights"]["source"] in ("none", "imagenet", "file") and info["precision"]
    assert {"fracturenet", "keras", "tensorflow"} <= set(info["versions"])
    assert info["data"]["evaluated"]["n"] == len(report["ids"])
    # the run folder keeps the exact file lists and their fingerprints
    prov = json.loads((trained_run / "provenance.json").read_text())
    assert prov["backbone"] == "vgg16" and prov["weights"] == info["weights"]
    for split in ("train", "val", "test"):
        lines = (trained_run / "files" / f"{split}.txt").read_text().splitlines()
        assert len(lines) == prov["data"][split]["n"] > 0
    assert prov["data"]["test"] == info["data"]["evaluated"]  # metrics.json is on that set
    assert prov["data"]["train"] == info["data"]["train"] and info["resize_mode"] == "letterbox"


def test_resolved_config_round_trips_through_toml(trained_run):
    import argparse

    from fracturenet.commands.train_config import SETTINGS, read_toml, resolve_settings

    saved = read_toml(trained_run / "run.toml")
    args = argparse.Namespace(
        quick=False, config=str(trained_run / "run.toml"), **{k: None for k in SETTINGS}
    )
    resolved = resolve_settings(args)
    assert resolved["epochs"] == 1 and resolved["backbone"] == "vgg16"
    assert resolved == {**resolved, **saved}


def test_flags_override_config_and_quick(tmp_path):
    import argparse

    from fracturenet.commands.train_config import SETTINGS, resolve_settings

    cfg = tmp_path / "run.toml"
    cfg.write_text('data = "somewhere"\nepochs = 7\nimage_size = 96\n')
    args = argparse.Namespace(quick=True, config=str(cfg), **{k: None for k in SETTINGS})
    args.epochs = 3
    s = resolve_settings(args)
    assert (s["epochs"], s["image_size"], s["batch_size"]) == (3, 96, 16)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train"], "Pass the dataset as DATA"),
        (["train", "d", "--val", "1.5"], "--val must be in [0, 1)"),
        (["train", "d", "--epochs", "0"], "--epochs must be > 0"),
        (["train", "d", "--weights", "no/such/file.h5"], "--weights must be 'imagenet'"),
        (["train", "d", "--epochs", "two"], "invalid int value"),
        (["train", "--no-such-flag"], "unrecognized arguments"),
        (["train", "d", "--keep-checkpoints", "every"],
         "--keep-checkpoints must be one of 'last', 'all', 'none'. Received: keep_checkpoints="),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err


def test_keep_checkpoints_choices_are_the_trainers():
    from fracturenet.commands.train_config import KEEP_CHECKPOINTS
    from fracturenet.training import trainer

    assert KEEP_CHECKPOINTS == trainer.KEEP_CHECKPOINTS


def test_unknown_config_key_is_a_usage_error(capsys, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('data = "d"\nepochs = 1\nlearning_rate = 0.1\n')
    code, _, err = run_cli(capsys, "train", "--config", cfg)
    assert code == 2
    assert "Unknown keys ['learning_rate']" in err and "Valid keys" in err


def test_existing_run_folder_fails_with_one_line(capsys, phantoms, trained_run):
    code, out, err = run_cli(
        capsys,
        "train",
        phantoms.root,
        "--out",
        trained_run,
        "--weights",
        "none",
        "--epochs",
        "1",
        "-q",
        "--no-group",
    )
    assert code == 1
    assert err.count("\n") == 1 and "RunDirectoryExistsError" in err


@pytest.mark.parametrize(("split", "selection"), [("val", True), ("test", False)])
def test_train_marks_the_validation_split_as_used_for_selection(
    monkeypatch, phantoms, split, selection
):
    # Without a Test split, train reports metrics on the split that picked the best epoch.
    import fracturenet.evaluation
    from fracturenet.commands import train

    seen = {}
    monkeypatch.setattr(fracturenet.evaluation, "evaluate", lambda *a, **k: seen.update(k))
    s = {"image_size": 32, "batch_size": 4, "bootstrap": 0, "seed": 0, "backbone": "vgg16",
         "on_error": "raise"}
    from fracturenet.models import build_classifier

    model = build_classifier("vgg16", num_classes=phantoms.num_classes, input_shape=(32, 32, 3),
                             weights=None)  # fmt: skip
    from fracturenet.config import DataConfig

    train._evaluate(model, phantoms, s, split=split, data=DataConfig(batch_size=4))
    assert (seen["split"], seen["used_for_selection"]) == (split, selection)
