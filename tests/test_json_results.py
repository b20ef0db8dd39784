"""One JSON mechanism: every result class writes its files through ``_json_results``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fracturenet._json_results import JsonResult, JsonRoundTrip
from fracturenet.data import AuditReport
from fracturenet.evaluation import ComparisonResult, CrossValidationResult, EvaluationReport


@pytest.mark.parametrize("cls", [AuditReport, ComparisonResult, EvaluationReport,
                                 CrossValidationResult])  # fmt: skip
def test_every_result_class_uses_the_shared_writer(cls):
    assert issubclass(cls, JsonResult)
    assert cls.to_json is JsonResult.to_json  # no class keeps its own copy


def test_round_trip_strict_json_and_no_overwrite(tmp_path):
    report = EvaluationReport.from_predictions(
        np.array([0, 1, 1, 0]),
        np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]),
        class_names=["a", "b"],
        bootstrap=0,
    )
    assert issubclass(EvaluationReport, JsonRoundTrip)
    path = tmp_path / "r.json"
    report.to_json(path)
    text = path.read_text(encoding="utf-8")
    json.loads(text)  # strict: NaN would be written as null, never as NaN
    assert "NaN" not in text
    back = EvaluationReport.from_json(path)
    assert back.metrics["accuracy"] == report.metrics["accuracy"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        report.to_json(path)
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json.*is not valid JSON.*EvaluationReport"):
        EvaluationReport.from_json(tmp_path / "bad.json")
