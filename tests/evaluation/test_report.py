"""EvaluationReport: construction, JSON round trip, Markdown and self-contained HTML."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest

from fracturenet.evaluation import EvaluationReport


@pytest.fixture
def report() -> EvaluationReport:
    rng = np.random.default_rng(0)
    y = np.array([0, 1, 2, 0, 1, 0, 1, 0])  # class 2 once, so some bootstrap AUCs are undefined
    p = rng.dirichlet(np.ones(3), size=len(y))
    return EvaluationReport.from_predictions(
        y,
        p,
        class_names=["Oblique", "Spiral <b>", "Greenstick"],
        ids=[f"/d/img{i}.png" for i in range(len(y))],
        model_name="tiny",
        bootstrap=200,
        seed=1,
        info={"tta": True},
    )


def _equal_with_nan(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal_with_nan(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_equal_with_nan(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def test_json_round_trip_is_exact_and_strict(report, tmp_path):
    path = report.to_json(tmp_path / "sub" / "report.json")
    text = (tmp_path / "sub" / "report.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = EvaluationReport.from_json(path)
    assert _equal_with_nan(back.metrics, report.metrics)
    assert back.intervals == report.intervals
    np.testing.assert_array_equal(back.y_prob, report.y_prob)
    np.testing.assert_array_equal(back.y_true, report.y_true)
    assert (back.ids, back.class_names, back.model_name, back.info) == (
        report.ids,
        report.class_names,
        report.model_name,
        report.info,
    )


def test_never_overwrites_unless_asked(report, tmp_path):
    target = tmp_path / "r.json"
    target.write_text("user data")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        report.to_json(target)
    assert target.read_text() == "user data"
    report.to_json(target, overwrite=True)
    assert EvaluationReport.from_json(target).model_name == "tiny"


def test_from_json_rejects_other_files(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    (tmp_path / "y.json").write_text("not json")
    with pytest.raises(ValueError, match="not a fracturenet evaluation report"):
        EvaluationReport.from_json(tmp_path / "x.json")
    with pytest.raises(ValueError, match="not valid JSON"):
        EvaluationReport.from_json(tmp_path / "y.json")


def test_markdown_lists_headline_metrics_with_intervals(report):
    md = report.to_markdown()
    ci = report.intervals["accuracy"]
    assert f"| accuracy | {report.metrics['accuracy']:.3f} | [{ci.low:.3f}, {ci.high:.3f}] |" in md
    row = report.metrics["confusion_matrix"][2]
    assert "| Greenstick | " + " | ".join(str(v) for v in row) + " |" in md
    assert sum(row) == 1
    assert "tta=True" in md


def test_html_is_self_contained_with_four_png_figures(report, tmp_path):
    path = report.to_html(tmp_path / "report.html")
    page = open(path, encoding="utf-8").read()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    assert "http" not in page and "<script" not in page
    assert "Spiral &lt;b&gt;" in page and "Spiral <b>" not in page


def test_without_bootstrap_there_are_no_intervals():
    r = EvaluationReport.from_predictions(
        [0, 1], [[0.9, 0.1], [0.4, 0.6]], class_names=None, bootstrap=0
    )
    assert r.intervals == {} and r.ids == ("0", "1") and r.y_pred.tolist() == [0, 1]


def test_wrong_number_of_ids_is_named():
    with pytest.raises(ValueError, match=r"Received: len\(ids\)=1"):
        EvaluationReport.from_predictions(
            [0, 1], [[1.0, 0.0], [0.0, 1.0]], class_names=None, ids=["a"]
        )


def test_report_states_split_n_selection_and_random_weights(tmp_path):
    info = {
        "split": "val",
        "used_for_selection": True,
        "backbone": "vgg16",
        "input_shape": [32, 32, 3],
        "precision": "float32",
        "weights": {"source": "none"},
    }
    r = EvaluationReport.from_predictions(
        [0, 1, 1],
        [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]],
        class_names=["a", "b"],
        bootstrap=0,
        info=info,
    )
    md = r.to_markdown()
    assert (
        "Evaluated on: val split, n = 3 images, used for model selection (early stopping / "
        "best epoch): optimistic, not a test result." in md
    )
    assert "random weights" in md and "weights=none (random initialisation)" in md
    assert "backbone=vgg16" in md and "Settings: bootstrap=0, seed=0" in md
    d = r.to_dict()["evaluated_on"]
    assert (d["split"], d["n_images"], d["used_for_selection"]) == ("val", 3, True)
    page = open(r.to_html(tmp_path / "r.html")).read()
    assert "Evaluated on: val split, n = 3 images" in page and "random weights" in page
    plain = EvaluationReport.from_predictions(
        [0, 1], [[0.8, 0.2], [0.3, 0.7]], class_names=None, bootstrap=0
    )
    assert "split not recorded, n = 2 images" in plain.to_markdown()
