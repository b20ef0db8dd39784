"""``fracturenet evaluate`` on a saved model says whether its images picked the model."""

from __future__ import annotations

import json
import shutil

from tests.cli.conftest import run_cli


def test_evaluate_flags_the_selection_split_and_leakage(capsys, trained_run, phantoms, tmp_path):
    folder = tmp_path / "val copies"  # the run's validation images, renamed elsewhere
    lines = (trained_run / "files" / "val.txt").read_text().splitlines()
    for i, line in enumerate(lines):
        label, path = line.split("\t")
        (folder / label).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / label / f"v{i}.png")
    code, out, err = run_cli(capsys, "evaluate", trained_run, folder, "--bootstrap", "0",
                             "--json")  # fmt: skip
    assert code == 0, err
    on = json.loads(out)["evaluated_on"]
    assert on["used_for_selection"] is True and on["shared_with_model_data"]["val"] == len(lines)
    code, out, _ = run_cli(capsys, "evaluate", trained_run, phantoms.root, "--bootstrap", "0",
                           "--json")  # fmt: skip
    on = json.loads(out)["evaluated_on"]
    assert code == 0 and on["used_for_selection"] is False and on["leakage"] is None
    assert "not used for model selection" in on["summary"]
    report = tmp_path / "on-train.json"
    code, out, err = run_cli(capsys, "evaluate", trained_run, phantoms.root, "--split", "train",
                             "--bootstrap", "0", "-q", "--out", report)  # fmt: skip
    n_train = len((trained_run / "files" / "train.txt").read_text().splitlines())
    n = len(phantoms.subset("train"))
    text = f"leakage: {n_train} of {n} evaluated images are also in the model's train split"
    assert code == 0 and text in err and err.count(text) == 1, err
    assert "partly used for model selection" in out and text in out
    # compare refuses a report on training images, naming the flag that overrides it
    code, out, err = run_cli(capsys, "compare", report, report, "--names", "a,b", "--n-boot", "20",
                             "--allow-selection-split")  # fmt: skip
    assert code != 0 and "--allow-training-overlap" in err and "Traceback" not in err, err
    code, out, err = run_cli(capsys, "compare", report, report, "--names", "a,b", "--n-boot", "20",
                             "--allow-training-overlap", "--allow-selection-split")  # fmt: skip
    assert code == 0 and "leakage: optimistic, not a test result" in out, err
