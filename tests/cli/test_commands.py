"""Happy paths, ``--json`` schemas and errors of every subcommand on the tiny trained run."""

from __future__ import annotations

import csv
import json

import pytest

from fracturenet.cli import _COMMANDS, main
from tests.cli.conftest import run_cli

EXPECTED = {"demo", "info", "audit", "train", "evaluate", "compare", "predict", "explain", "export"}


def test_every_subcommand_is_registered():
    from fracturenet import commands  # noqa: F401

    assert EXPECTED <= set(_COMMANDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_help_shows_an_example(capsys, name):
    code, out, _ = run_cli(capsys, name, "--help")
    assert code == 0
    assert "example:" in out and f"fracturenet {name}" in out


def test_predict_folder_with_one_corrupt_file(capsys, trained_run, image_folder, tmp_path):
    out_csv = tmp_path / "pred.csv"
    code, out, err = run_cli(
        capsys,
        "predict",
        trained_run,
        image_folder,
        "--csv",
        out_csv,
        "--json",
        "--top-k",
        "2",
        "--batch-size",
        "2",
    )
    assert code == 0
    data = json.loads(out)
    assert data["num_images"] == 4 and data["num_errors"] == 1
    rows = {r["source"].split("/")[-1]: r for r in data["predictions"]}
    assert rows["corrupt.png"]["error"] and rows["corrupt.png"]["label"] is None
    good = [r for r in data["predictions"] if not r["error"]]
    assert len(good) == 3
    for r in good:
        assert len(r["top_k"]) == 2 and r["top_k"][0]["label"] == r["label"]
        assert r["top_k"][0]["probability"] >= r["top_k"][1]["probability"]
    assert "1 of 4 images could not be read" in err
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and sum(bool(r["error"]) for r in table) == 1
    code, _, err = run_cli(capsys, "predict", trained_run, image_folder, "--csv", out_csv)
    assert code == 2 and "already exists" in err  # never overwrites without --overwrite


def test_predict_strict_fails_on_the_corrupt_file(capsys, trained_run, image_folder):
    code, _, err = run_cli(capsys, "predict", trained_run, image_folder, "--strict", "-q")
    assert code == 1 and "corrupt.png" in err and err.count("\n") == 1


def test_evaluate_then_compare(capsys, trained_run, phantoms, tmp_path):
    report = tmp_path / "eval.json"
    code, out, _ = run_cli(
        capsys,
        "evaluate",
        trained_run,
        phantoms.root,
        "--out",
        report,
        "--bootstrap",
        "50",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert len(data["y_true"]) == 16  # the phantoms' Test split (2 per class)
    assert {"accuracy", "macro_f1"} <= set(data["metrics"])
    code, out, _ = run_cli(
        capsys, "compare", trained_run, report, "--names", "run,again", "--json", "--n-boot", "100"
    )
    assert code == 0
    verdict = json.loads(out)
    assert "No significant difference" in json.dumps(verdict)  # same model, same images


def test_evaluate_unknown_split_is_a_usage_error(capsys, trained_run, phantoms):
    code, _, err = run_cli(capsys, "evaluate", trained_run, phantoms.root, "--split", "holdout")
    assert code == 2 and "--split must be" in err and "holdout" in err


def test_compare_needs_reports(capsys, tmp_path):
    code, _, err = run_cli(capsys, "compare", tmp_path, tmp_path / "x.json")
    assert code == 2 and "metrics.json" in err


def test_audit_json_and_cleaned_manifest(capsys, phantoms, tmp_path):
    clean = tmp_path / "clean.csv"
    code, out, _ = run_cli(capsys, "audit", phantoms.root, "--json", "--cleaned-manifest", clean)
    assert code == 0
    data = json.loads(out)
    assert data["written"]["cleaned_manifest"] == str(clean) and clean.is_file()
    assert data["written"]["cleaned_images"] <= len(phantoms)


def test_explain_writes_overlays_and_index(capsys, trained_run, image_folder, tmp_path):
    (image_folder / "corrupt.png").unlink()
    code, out, _ = run_cli(
        capsys, "explain", trained_run, image_folder, "--out", tmp_path / "ex", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["images"] == 3 and data["index"].endswith("index.html")
    assert sum(f.endswith(".png") for f in data["files"]) == 3


def test_export_savedmodel_parity_and_no_overwrite(capsys, trained_run, tmp_path, phantoms):
    out = tmp_path / "sm"
    code, text, _ = run_cli(
        capsys,
        "export",
        trained_run,
        "--out",
        out,
        "--json",
        "--sample",
        phantoms.paths[0],
        phantoms.paths[-1],
    )
    assert code == 0
    report = json.loads(text)
    assert report["passed"] and report["max_abs_diff"] <= 1e-4 and report["num_images"] == 2
    assert json.loads((out / "parity.json").read_text())["passed"]
    code, _, err = run_cli(capsys, "export", trained_run, "--out", out)
    assert code == 1 and "already exists" in err


def test_debug_shows_the_traceback(trained_run, tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["predict", str(tmp_path / "no-run"), str(tmp_path), "--debug"])


def test_help_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys; from fracturenet.cli import build_parser; import fracturenet.commands; "
        "build_parser(); print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_explain_unknown_method_is_a_usage_error(capsys, trained_run, tmp_path):
    code, _, err = run_cli(
        capsys, "explain", trained_run, tmp_path, "--method", "cam", "--out", tmp_path
    )
    assert code == 2 and "--method must be one of" in err


def test_predict_fails_when_no_image_is_readable(capsys, trained_run, tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    code, out, err = run_cli(capsys, "predict", trained_run, tmp_path / "a.png", "-q")
    assert code == 1 and "ERROR" in out and "1 of 1 images" in err


def test_compare_refuses_selection_split_reports_without_the_flag(capsys, tmp_path):
    from fracturenet.evaluation import EvaluationReport

    y = [0, 1, 1, 0, 1, 0, 0, 1]
    paths = []
    for name, pred in (("a", y), ("b", [1 - v for v in y[:2]] + y[2:])):
        r = EvaluationReport.from_predictions(
            y,
            [[1 - v, v] for v in pred],
            class_names=["x", "y"],
            model_name=name,
            bootstrap=20,
            info={"split": "val", "used_for_selection": True},
        )
        paths.append(r.to_json(tmp_path / f"{name}.json"))
    code, _, err = run_cli(capsys, "compare", *paths, "--n-boot", "50")
    assert code == 1 and "--allow-selection-split" in err and "model selection" in err
    code, out, _ = run_cli(capsys, "compare", *paths, "--n-boot", "50", "--allow-selection-split")
    assert code == 0 and "On a split used for model selection" in out
    assert "val split, n = 8 images" in out
