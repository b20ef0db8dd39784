"""Temperature scaling recovers a known temperature and lowers ECE on held-out data."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.evaluation import apply_temperature, calibrate, fit_temperature


def _calibrated_logits(n: int, k: int, seed: int):
    """Logits whose softmax is calibrated by construction (labels sampled from it)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, k))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, k - 1)
    return z, y


def test_recovers_the_temperature_that_was_applied():
    z, y = _calibrated_logits(3000, 4, 0)
    assert fit_temperature(z * 2.5, y) == pytest.approx(2.5, rel=0.1)
    assert fit_temperature(z / 2.0, y) == pytest.approx(0.5, rel=0.1)


def test_probabilities_and_logits_give_the_same_temperature():
    z, y = _calibrated_logits(500, 3, 1)
    probs = apply_temperature(z * 3.0, 1.0, kind="logits")
    assert fit_temperature(probs, y) == pytest.approx(fit_temperature(z * 3.0, y), rel=1e-4)


def test_apply_keeps_the_argmax_and_sums_to_one():
    z, _ = _calibrated_logits(50, 5, 2)
    out = apply_temperature(z, 3.7, kind="logits")
    np.testing.assert_array_equal(out.argmax(axis=1), z.argmax(axis=1))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


def test_calibrate_lowers_held_out_ece_of_an_overconfident_model():
    z, y = _calibrated_logits(2000, 4, 3)
    r = calibrate(z[:1000] * 3, y[:1000], z[1000:] * 3, y[1000:])
    assert r.held_out and r.temperature == pytest.approx(3.0, rel=0.15)
    assert r.ece_after < r.ece_before / 2
    assert r.log_loss_after < r.log_loss_before


def test_binary_sigmoid_output():
    rng = np.random.default_rng(4)
    s = rng.random(400)
    y = (rng.random(400) < s).astype(int)
    sharpened = 1 / (1 + np.exp(-3 * np.log(s / (1 - s))))
    assert fit_temperature(sharpened, y) == pytest.approx(3.0, rel=0.25)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: fit_temperature(np.ones((3, 2)), [0, 1, 2]), "range=[0, 2]"),
        (lambda: fit_temperature(np.ones((3, 2)), [0, 1, 1], kind="raw"), "kind='raw'"),
        (lambda: apply_temperature(np.ones((3, 2)), 0.0), "temperature=0.0"),
        (lambda: calibrate(np.ones((3, 2)) / 2, [0, 1, 1], np.ones((3, 2)) / 2), "y_test=None"),
        (lambda: fit_temperature([[np.nan, 1.0]], [0]), "shape=(1, 2)"),
    ],
)
def test_bad_arguments_are_named(call, fragment):
    with pytest.raises(ValueError, match="Received") as err:
        call()
    assert fragment in str(err.value)


def test_apply_temperature_divides_the_logits():
    # Multiplying instead of dividing keeps the argmax and the sum, so only values catch it.
    z = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    expected = np.exp(z / 2.0) / np.exp(z / 2.0).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(apply_temperature(z, 2.0, kind="logits"), expected, rtol=1e-6)
    hot, cold = apply_temperature(z, 4.0, kind="logits"), apply_temperature(z, 0.5, kind="logits")
    assert (hot.max(1) < apply_temperature(z, 1.0, kind="logits").max(1)).all()  # T > 1 softens
    assert (cold.max(1) > hot.max(1)).all()
