"""Per-facet metrics: Wilson intervals agree with SciPy, tables count what they should, and
``evaluate(facets=...)`` keeps values aligned with the images when files are skipped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from fracturenet.evaluation import EvaluationReport, facet_table, wilson_interval
from fracturenet.evaluation.facets import resolve_facets


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))  # fmt: skip
def test_wilson_interval_matches_scipy(counts, level):
    k, n = counts
    ref = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    lo, hi = wilson_interval(k, n, level)
    assert (lo, hi) == (pytest.approx(ref.low, abs=1e-12), pytest.approx(ref.high, abs=1e-12))


def test_wilson_interval_edge_cases():
    assert all(np.isnan(wilson_interval(0, 0)))
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(6, 5)


def test_facet_table_counts_sensitivity_on_positives_and_specificity_on_negatives():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    pred = np.array([1, 0, 0, 1, 1, 0, 0, 0])
    region = ["hand", "hand", "hand", "hand", "leg", "leg", "leg", "(missing)"]
    rows = {r["facet_value"]: r for r in facet_table(y, pred, region, positive=1)}
    hand, leg = rows["hand"], rows["leg"]
    assert (hand["n"], hand["n_positive"]) == (4, 2)
    assert (hand["accuracy"]["value"], hand["sensitivity"]["value"]) == (0.5, 0.5)
    assert (hand["specificity"]["value"], hand["specificity"]["n"]) == (0.5, 2)
    assert (leg["sensitivity"]["value"], leg["specificity"]["value"]) == (1.0, 1.0)
    assert rows["(missing)"]["sensitivity"]["n"] == 0
    assert rows["hand"]["accuracy"]["low"] < 0.5 < rows["hand"]["accuracy"]["high"]


def test_facets_are_matched_by_path_file_name_or_stem():
    ids = ["/d/Fractured/IMG1.jpg", "/d/Non_fractured/IMG2.jpg", "/d/x/IMG3.jpg"]
    by_name = resolve_facets({"region": {"IMG1.jpg": "hand", "IMG2": "leg"}}, ids)
    assert by_name == {"region": ["hand", "leg", "(missing)"]}
    # a sequence aligned with the images before two were skipped
    all_ids = ["/d/a.jpg", *ids, "/d/b.jpg"]
    aligned = resolve_facets({"r": ["z", "hand", "leg", "hip", "z"]}, ids, all_ids)
    assert aligned == {"r": ["hand", "leg", "hip"]}
    with pytest.raises(ValueError, match="one value per evaluated image"):
        resolve_facets({"r": ["hand"]}, ids)


def test_report_carries_a_per_facet_table_in_json_and_markdown():
    y = np.array([0, 1, 1, 0, 1, 1])
    p1 = np.array([0.2, 0.9, 0.3, 0.1, 0.8, 0.7])
    r = EvaluationReport.from_predictions(
        y,
        np.stack([1 - p1, p1], 1),
        class_names=["normal", "fracture"],
        bootstrap=0,
        positive_class="fracture",
        facets={"region": ["hand", "hand", "hand", "leg", "leg", "leg"]},
    )
    rows = r.to_dict()["metrics"]["facets"]["region"]
    assert [row["facet_value"] for row in rows] == ["hand", "leg"]
    assert rows[0]["sensitivity"]["value"] == 0.5 and rows[1]["sensitivity"]["value"] == 1.0
    text = r.to_markdown()
    assert "Per region (Wilson 95 % intervals):" in text
    assert "| hand | 3 | 0.667 [" in text
