"""``fracturenet train --resume``: changed settings are refused key by key; epochs may grow."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tests.cli.conftest import TINY, run_cli


def _copy(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    return run


def test_resume_refuses_changed_lr_and_image_size_and_keeps_run_toml(capsys, phantoms,
                                                                     trained_run, tmp_path):
    run = _copy(trained_run, tmp_path)
    toml_before = (run / "run.toml").read_text()
    config_before = (run / "config.json").read_text()
    argv = [*TINY, "--lr", "0.5", "--image-size", "40"]
    code, out, err = run_cli(capsys, "train", phantoms.root, "--out", run, *argv, "--resume")
    assert code == 1, err
    assert "ResumeMismatchError: Cannot resume" in err and "Traceback" not in err
    assert "fit.lr: saved 0.001 -> now 0.5" in err
    # named as the user knows it (the flag's setting), with both values
    assert "image_size (--image-size; model.input_shape): saved 32 -> now 40" in err
    assert "fit.epochs" in err.split("Safe to change on resume:")[1]
    assert (run / "run.toml").read_text() == toml_before
    assert (run / "config.json").read_text() == config_before
    assert not (run / "run.lock").exists()


def test_resume_with_more_epochs_continues_and_records_them(capsys, phantoms, trained_run,
                                                            tmp_path):
    run = _copy(trained_run, tmp_path)
    argv = [a if a != "1" else "2" for a in TINY]  # --epochs 1 -> 2
    code, out, err = run_cli(capsys, "train", phantoms.root, "--out", run, *argv, "--resume")
    assert code == 0, err
    assert json.loads((run / "config.json").read_text())["fit"]["epochs"] == 2
    assert "epochs = 2" in (run / "run.toml").read_text()
    assert "resume: continuing" in (run / "train.log").read_text()
    assert [r["epoch"] for r in json.loads((run / "history.json").read_text())] == [1, 2]


def test_a_full_disk_mid_run_exits_1_with_one_line_and_the_run_resumes(capsys, phantoms,
                                                                       tmp_path, monkeypatch):
    from fracturenet.training import rundir

    real = rundir.free_bytes

    def fills_after_epoch_1(folder):
        folder = Path(folder)
        full = folder.name == "checkpoints" and (folder / "last.json").exists()
        return 0 if full else real(folder)

    run = tmp_path / "run"
    argv = [a if a != "1" else "2" for a in TINY]  # --epochs 2
    monkeypatch.setattr(rundir, "free_bytes", fills_after_epoch_1)
    code, out, err = run_cli(capsys, "train", phantoms.root, "--out", run, *argv)
    monkeypatch.undo()
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    # --weights none trains every layer: epoch 2 changes every array, so it writes a new base
    assert re.search(r"DiskFullError: No space left .*epoch-0002\.base\.npz'?: it needs "
                     r"[0-9,]+ bytes and 0 are free", err), err
    assert not [p for p in run.rglob(".*") if ".tmp" in p.name]
    code, out, err = run_cli(capsys, "train", phantoms.root, "--out", run, *argv, "--resume")
    assert code == 0, err
    assert [r["epoch"] for r in json.loads((run / "history.json").read_text())] == [1, 2]
    assert "resume: continuing" in (run / "train.log").read_text()
