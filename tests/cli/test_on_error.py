"""``--on-error``: a corrupt image is named in one line with the flag to use, or skipped and listed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import TINY, run_cli


@pytest.fixture()
def data_with_a_corrupt_jpeg(phantoms, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(phantoms.root, root)
    cls = root / Path(phantoms.paths[0]).relative_to(phantoms.root).parent
    bad = cls / "zz-corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root, bad


def test_train_names_the_corrupt_file_and_the_flag_without_a_traceback(capsys, tmp_path,
                                                                      data_with_a_corrupt_jpeg):
    root, bad = data_with_a_corrupt_jpeg
    code, out, err = run_cli(capsys, "train", root, "--out", tmp_path / "run", *TINY)
    lines = [line for line in err.splitlines() if "error:" in line]
    assert code == 1, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"fracturenet train: error: ImageDecodeError: Cannot read image "
                               f"{str(bad)!r}")
    assert "or use --on-error skip" in lines[0] and "on_error='skip'" not in lines[0]


def test_train_skip_lists_the_file_in_the_run_folder(capsys, tmp_path, data_with_a_corrupt_jpeg):
    root, bad = data_with_a_corrupt_jpeg
    run = tmp_path / "run"
    code, out, err = run_cli(capsys, "train", root, "--out", run, *TINY, "--on-error", "skip",
                             "--test", "0.2")
    assert code == 0, err
    skipped = json.loads((run / "skipped.json").read_text())
    assert [s["path"] for s in skipped] == [str(bad)] and skipped[0]["reason"]
    assert f"skipped unreadable image {str(bad)!r}" in (run / "train.log").read_text()
    assert "on_error = \"skip\"" in (run / "run.toml").read_text()


def test_evaluate_skip_aligns_ids_and_lists_the_file(capsys, trained_run, tmp_path,
                                                     data_with_a_corrupt_jpeg):
    root, bad = data_with_a_corrupt_jpeg
    report = tmp_path / "report.json"
    code, out, err = run_cli(capsys, "evaluate", trained_run, root, "--split", "all", "--on-error", "skip",
                             "--bootstrap", "0", "--out", report, "-q")
    assert code == 0, err
    assert f"skipped unreadable image {str(bad)!r}" in err
    saved = json.loads(report.read_text())
    assert str(bad) not in saved["ids"] and len(saved["ids"]) >= 60
    assert [s["path"] for s in saved["info"]["skipped"]] == [str(bad)]  # listed with its reason
    assert saved["info"]["skipped"][0]["reason"]
    code, out, err = run_cli(capsys, "evaluate", trained_run, root, "--split", "all", "--bootstrap", "0",
                             "-q")
    assert code == 1 and "--on-error skip" in err and "Traceback" not in err, err


def test_explain_skip_lists_the_file_and_raise_names_it(capsys, trained_run, image_folder,
                                                        tmp_path):
    code, out, err = run_cli(capsys, "explain", trained_run, image_folder, "--out",
                             tmp_path / "x", "--on-error", "skip", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["images"] == 3
    assert [Path(s["path"]).name for s in result["skipped"]] == ["corrupt.png"]
    code, out, err = run_cli(capsys, "explain", trained_run, image_folder, "--out",
                             tmp_path / "y", "-q")
    assert code == 1 and "corrupt.png" in err and "Traceback" not in err, err
    assert "use --on-error skip" in err


def test_audit_raise_fails_on_an_unreadable_file_and_predict_raise_too(
        capsys, trained_run, image_folder, data_with_a_corrupt_jpeg):
    root, bad = data_with_a_corrupt_jpeg
    code, out, err = run_cli(capsys, "audit", root, "-q", "--on-error", "raise")
    assert code == 1 and f"ImageDecodeError: Cannot read image {str(bad)!r}" in err, err
    assert run_cli(capsys, "audit", root, "-q")[0] == 0  # skip: listed in the report
    code, out, err = run_cli(capsys, "predict", trained_run, image_folder, "--on-error",
                             "raise", "-q")
    assert code == 1 and "corrupt.png" in err, err
