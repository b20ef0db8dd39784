"""Every script in examples/ runs in --quick mode and writes its outputs (docs cannot rot)."""

from __future__ import annotations

import pytest

from tests.examples.quick_runs import EXAMPLES, quick_run, run_example

# script -> files its --quick run must write into --out. compare_backbones.py is checked (its
# verdict and files) by tests/workflows/test_crossval.py::test_compare_backbones_example_quick.
EXPECTED = {
    "demo_api.py": ["comparison.png", "vgg16/model.keras", "resnet50/model.keras"],
    "train_on_folder.py": ["metrics.json", "report.html", "confusion_matrix.png"],
    "audit_dataset.py": ["audit.json", "audit.html", "duplicate_clusters.png"],
    "explain_predictions.py": ["explanations.png", "per_image/index.html"],
    "export_and_predict.py": [],
    "transfer_own_images.py": [
        "smallcnn-archive.h5",
        "transfer/model.keras",
        "from-scratch/model.keras",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_in_quick_mode(script, tmp_path):
    """After a docs build of the same sources (CI) this checks the build's run of the script."""
    if not (EXAMPLES / script).is_file():
        pytest.skip(f"examples/{script} does not exist yet (written in another branch)")
    run = quick_run(script, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "outputs:" in run.stdout or not EXPECTED[script], run.stdout[-2000:]
    missing = [f for f in EXPECTED[script] if not (run.out / f).is_file()]
    assert not missing, f"{script} ({run.source}) did not write {missing}: {run.stdout[-1500:]}"


def test_examples_refuse_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("user file")
    proc = run_example("audit_dataset.py", tmp_path, tmp_path / "cache")
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "user file"
