"""Every script in examples/ runs in --quick mode and writes its outputs (docs cannot rot)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

# script -> files its --quick run must write into --out. compare_backbones.py is run (once,
# about 4 minutes) by tests/workflows/test_crossval.py::test_compare_backbones_example_quick,
# which also checks its verdict and files.
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


def _run(script: str, out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        MPLBACKEND="Agg",
        FRACTURENET_CACHE=str(cache),
        FRACTURENET_OFFLINE="1",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=cache.parent,
    )


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_in_quick_mode(script, tmp_path):
    if not (EXAMPLES / script).is_file():
        pytest.skip(f"examples/{script} does not exist yet (written in another branch)")
    out = tmp_path / "out"
    proc = _run(script, out, tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "outputs:" in proc.stdout or not EXPECTED[script], proc.stdout[-2000:]
    missing = [f for f in EXPECTED[script] if not (out / f).is_file()]
    assert not missing, f"{script} did not write {missing}; stdout: {proc.stdout[-1500:]}"


def test_examples_refuse_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("user file")
    proc = _run("audit_dataset.py", tmp_path, tmp_path / "cache")
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "user file"
