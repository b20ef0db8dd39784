"""Bootstrap intervals: seeded, containing the estimate, and paired differences."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.evaluation import bootstrap_ci, compute_metrics, paired_bootstrap_diff


def _noisy(n: int, k: int, skill: float, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = skill * np.eye(k)[y] + rng.normal(size=(n, k))
    p = np.exp(logits)
    return y, p / p.sum(axis=1, keepdims=True)


def test_intervals_are_seeded_and_bracket_the_full_data_metric():
    y, p = _noisy(120, 4, 1.5, 0)
    a = bootstrap_ci(y, p, n_boot=300, seed=3)
    b = bootstrap_ci(y, p, n_boot=300, seed=3)
    c = bootstrap_ci(y, p, n_boot=300, seed=4)
    assert a == b and a != c
    m = compute_metrics(y, p)
    for name, ci in a.items():
        assert ci.estimate == pytest.approx(m[name])
        assert ci.low < ci.estimate < ci.high


def test_interval_width_matches_the_binomial_standard_error():
    y, p = _noisy(400, 3, 1.0, 1)
    ci = bootstrap_ci(y, p, metrics=["accuracy"], n_boot=2000)["accuracy"]
    acc = ci.estimate
    expected = 2 * 1.96 * np.sqrt(acc * (1 - acc) / len(y))
    assert ci.high - ci.low == pytest.approx(expected, rel=0.15)


def test_paired_difference_of_a_model_with_itself_is_exactly_zero():
    y, p = _noisy(50, 3, 1.0, 2)
    d = paired_bootstrap_diff(y, p, p, n_boot=200)
    assert all((ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0) for ci in d.values())


def test_paired_interval_is_narrower_than_unpaired_for_correlated_models():
    y, p = _noisy(200, 3, 1.5, 3)
    rng = np.random.default_rng(9)
    q = p + rng.normal(scale=0.05, size=p.shape).clip(-0.04, 0.04)
    q = np.clip(q, 1e-6, None)
    q /= q.sum(axis=1, keepdims=True)
    paired = paired_bootstrap_diff(y, p, q, metrics=["accuracy"], n_boot=500)["accuracy"]
    single = bootstrap_ci(y, p, metrics=["accuracy"], n_boot=500)["accuracy"]
    assert paired.high - paired.low < (single.high - single.low) / 2


def test_roc_auc_resamples_without_a_class_are_skipped_not_fatal():
    y = np.array([0] * 20 + [1])
    p = np.tile([0.6, 0.4], (21, 1))
    ci = bootstrap_ci(y, p, metrics=["roc_auc_macro"], n_boot=50)["roc_auc_macro"]
    assert ci.estimate == 0.5 and ci.low == ci.high == 0.5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"metrics": ["auc"]}, "metrics=['auc']"),
        ({"n_boot": 0}, "n_boot=0"),
        ({"level": 1.5}, "level=1.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, fragment):
    y, p = _noisy(10, 2, 1.0, 0)
    with pytest.raises(ValueError, match="Received") as err:
        bootstrap_ci(y, p, **kwargs)
    assert fragment in str(err.value)


@pytest.mark.parametrize("level", [0.95, 0.9, 0.8])
def test_interval_bounds_are_the_two_sided_percentiles_of_the_level(level):
    # Recomputes the resampled accuracies by hand: a 90 % interval labelled 95 % (wrong
    # percentiles) or one-sided bounds fail here, not only in a loose width check.
    y, p = _noisy(150, 3, 1.0, 5)
    ci = bootstrap_ci(y, p, metrics=["accuracy"], n_boot=500, seed=7, level=level)["accuracy"]
    idx = np.random.default_rng(7).integers(0, len(y), size=(500, len(y)))
    accs = (p.argmax(1)[idx] == y[idx]).mean(1)
    tail = 100 * (1 - level) / 2
    assert ci.level == level
    assert (ci.low, ci.high) == pytest.approx(tuple(np.percentile(accs, [tail, 100 - tail])))
    inside = np.mean((accs >= ci.low) & (accs <= ci.high))  # ties at the bounds add a little
    assert level <= inside <= level + 0.04
    q = np.roll(p, 1, axis=1)  # another model on the same images
    diff = paired_bootstrap_diff(y, p, q, metrics=["accuracy"], n_boot=500, seed=7, level=level)
    d = accs - (q.argmax(1)[idx] == y[idx]).mean(1)
    expected = tuple(np.percentile(d, [tail, 100 - tail]))
    assert (diff["accuracy"].low, diff["accuracy"].high) == pytest.approx(expected)


def test_probability_metrics_resample_like_the_metric_functions():
    # ECE, log-loss and Brier are computed vectorised per resample; each must equal the
    # metric function applied to that resample (ECE's bins included).
    from fracturenet.evaluation.probability_metrics import (
        brier_score,
        expected_calibration_error,
        log_loss,
    )

    y, p = _noisy(90, 3, 1.2, 8)
    cis = bootstrap_ci(y, p, metrics=["ece", "log_loss", "brier"], n_boot=40, seed=2)
    idx = np.random.default_rng(2).integers(0, len(y), size=(40, len(y)))
    for name, fn in (
        ("ece", expected_calibration_error),
        ("log_loss", log_loss),
        ("brier", brier_score),
    ):
        samples = [fn(y[i], p[i]) for i in idx]
        assert cis[name].estimate == pytest.approx(fn(y, p))
        assert (cis[name].low, cis[name].high) == pytest.approx(
            tuple(np.percentile(samples, [2.5, 97.5]))
        )
