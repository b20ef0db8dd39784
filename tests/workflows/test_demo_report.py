"""The demo's HTML report: one table, qualified verdict, caveats, readable at 1024/1400 px."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tools():
    spec = importlib.util.spec_from_file_location(
        "report_screenshots", ROOT / "docs" / "tools" / "report_screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(name, y_true, sharp, classes):
    from fracturenet.evaluation.report import EvaluationReport

    rng = np.random.default_rng(len(name))
    logits = rng.normal(size=(len(y_true), len(classes)))
    logits[np.arange(len(y_true)), y_true] += 1.0
    prob = np.exp(sharp * logits)
    prob /= prob.sum(axis=1, keepdims=True)
    return EvaluationReport.from_predictions(
        y_true, prob, class_names=classes, model_name=name, bootstrap=50, seed=0
    )


@pytest.fixture(scope="module")
def demo_page(phantoms, tmp_path_factory):
    from fracturenet.data import discover
    from fracturenet.evaluation import compare
    from fracturenet.workflows import QUICK
    from fracturenet.workflows.demo_report import write_demo_report

    manifest = phantoms if hasattr(phantoms, "class_names") else discover(phantoms)
    classes = list(manifest.class_names)
    y = np.arange(80) % len(classes)
    # vgg16 calibrated, resnet50 overconfident: the page must say so
    reports = {
        "vgg16": _report("vgg16", y, 1.0, classes),
        "resnet50": _report("r", y, 8.0, classes),
    }
    out = tmp_path_factory.mktemp("demo")
    for name in reports:
        (out / name).mkdir()
    result = SimpleNamespace(weights={"vgg16": "none", "resnet50": "none"}, seconds=12.0)
    comparison = compare(*reports.values(), names=list(reports), n_boot=50)
    path = write_demo_report(out, QUICK, manifest, reports, comparison, result)
    return path, reports


def test_one_table_and_a_qualified_verdict(demo_page):
    path, _ = demo_page
    page = path.read_text(encoding="utf-8")
    assert page.count("<table") == 1 and "<pre>" not in page and "|---" not in page
    verdict = re.search(r'<p class="verdict">(.*?)</p>', page).group(1)
    assert "not medical data" in verdict and "random weights" in verdict
    assert "significant" in verdict


def test_calibration_difference_is_mentioned(demo_page):
    path, reports = demo_page
    page = path.read_text(encoding="utf-8")
    eces = {n: r.metrics["ece"] for n, r in reports.items()}
    assert eces["resnet50"] > 2 * eces["vgg16"]  # the fixture's premise
    assert "Calibration differs" in page and "resnet50's expected calibration" in page


def test_images_enlarge_on_click(demo_page):
    page = demo_page[0].read_text(encoding="utf-8")
    assert "classList.toggle('zoom')" in page and "img.zoom" in page


@pytest.mark.skipif(_tools().chromium() is None, reason="needs Debian's chromium")
@pytest.mark.parametrize("width", [1024, 1400])
def test_page_reads_well_in_chromium(demo_page, width):
    assert _tools().check_layout(demo_page[0], width) == []


def test_calibration_note_when_every_model_is_poorly_calibrated():
    from fracturenet.workflows.demo_report import _calibration_note

    def reports(a, b):
        return {"a": SimpleNamespace(metrics={"ece": a}), "b": SimpleNamespace(metrics={"ece": b})}

    # the offline demo measured 0.190 and 0.317: neither "differs" (less than 2x) nor fine
    note = _calibration_note(reports(0.190, 0.317))
    assert "every model's expected calibration error is above 0.1" in note
    assert "a 0.190, b 0.317" in note
    assert _calibration_note(reports(0.03, 0.05)) == ""  # both calibrated: nothing to say
    assert "Calibration differs" in _calibration_note(reports(0.05, 0.30))
