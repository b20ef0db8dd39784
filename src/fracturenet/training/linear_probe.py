"""The transfer head's start on cached features: a standardised, L2-regularised linear probe.

On frozen pretrained features the head's first job is a convex problem: a logistic regression
on standardised features, whose only real choice is the strength of the L2 penalty. Solved
exactly (L-BFGS) with the penalty picked by a (grouped) inner cross-validation on the training
features, it is the linear probe that transfer-learning papers report (CLIP's protocol), and
it takes seconds on cached features. The Trainer writes it into the classifier's own layers:
the feature means and variances into the frozen ``"head_norm"`` layer, the weights into
``"predictions"``; its epochs then continue from there with the same penalty on the weights.

Why (measured on pooled ImageNet VGG16 features at 224 px, grouped 5-fold CV, see
``benchmarks/real_transfer.py``): the head that Adam trained from a random start at 3e-3 for
10 epochs, with ``"head_norm"`` standardising each batch by its own statistics and no penalty,
overfit (validation loss above the chance loss ln K by epoch 2 on Bone Break) and lost to a
scikit-learn logistic regression on its own features.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1, 2], 20)
    >>> x = rng.normal(size=(60, 8)).astype("float32") + 2 * y[:, None]
    >>> probe = fit_linear_probe(x, y, num_classes=3)
    >>> probe.coef.shape, probe.C in PROBE_CS
    ((8, 3), True)
    >>> float((probe.predict(x).argmax(1) == y).mean()) > 0.9
    True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PROBE_CS", "LinearProbe", "fit_linear_probe", "write_probe"]

#: Inverse L2 strengths searched (scikit-learn's ``C``: larger is weaker).
PROBE_CS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class LinearProbe:
    """A fitted probe in the head's terms.

    Attributes:
        mean: Feature means (the standardisation).
        var: Feature variances.
        coef: ``(features, outputs)`` weights for the ``"predictions"`` layer.
        intercept: ``(outputs,)`` biases.
        C: The chosen inverse L2 strength (scikit-learn's convention).
        cv_scores: Mean inner-CV log-loss for each candidate ``C`` (empty when not searched).
        folds: Inner folds used to choose ``C`` (0: not searched, ``C=1e-2`` taken).
    """

    mean: np.ndarray
    var: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    C: float
    cv_scores: dict[float, float]
    folds: int

    def l2(self, n: int) -> float:
        """The Keras ``L2`` factor with the same optimum on a mean loss over ``n`` samples.

        scikit-learn minimises ``C * sum(loss) + ||w||^2 / 2``; Keras ``mean(loss) +
        l2 * ||w||^2``, the same problem for ``l2 = 1 / (2 C n)``.
        """
        return 1.0 / (2.0 * self.C * max(1, n))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities (softmax, or the sigmoid's two columns) for ``features``."""
        z = (features - self.mean) / np.sqrt(self.var + _EPS) @ self.coef + self.intercept
        if z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.stack([1 - p, p], axis=1)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


#: BatchNormalization's default epsilon: the probe standardises exactly as "head_norm" will.
_EPS = 1e-3


def fit_linear_probe(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    num_classes: int,
    binary: bool = False,
    groups: Sequence[Any] | None = None,
    class_weight: dict[int, float] | None = None,
    folds: int = 5,
    seed: int = 0,
) -> LinearProbe:
    """Fits the standardised L2 logistic regression, ``C`` chosen by inner cross-validation.

    Args:
        features: ``(n, d)`` frozen features of the training images.
        labels: Integer labels.
        num_classes: Classes of the head (its softmax width, or 2 with ``binary``).
        binary: The head has one sigmoid unit. Defaults to `False`.
        groups: Group of each image (e.g. the audit's duplicate clusters): inner folds never
            split a group. Defaults to `None` (each image its own group).
        class_weight: Per-class weights of the loss, as given to Keras. Applied as a shift
            of each class's intercept by ``log(weight)`` (logit adjustment: the decision a
            weighted loss aims at), not inside the fit, so ``C`` is chosen and the weights
            are fitted on the plain log-loss. Measured on real ImageNet VGG16 features
            (grouped 5-fold CV): a balanced-weighted fit lost 2.7 points of accuracy on
            Bone Break and, on FracAtlas, up to 0.03 AUROC in a fold; the shift leaves a
            binary AUROC exactly unchanged. Defaults to `None`.
        folds: Inner folds for the choice of ``C`` (fewer when a class has fewer images;
            with under 2, ``C=1e-2`` is taken). Defaults to `5`.
        seed: Seed of the inner folds. Defaults to `0`.

    Returns:
        The :class:`LinearProbe`.
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedGroupKFold

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).astype(int).reshape(-1)
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError(
            "Cannot fit the head: the training labels hold one class only. "
            f"Received: labels with classes {present.tolist()}"
        )
    mean, var = x.mean(axis=0), x.var(axis=0)
    z = (x - mean) / np.sqrt(var + _EPS)
    g = np.arange(len(y)) if groups is None else _group_ids(groups)
    k = min(folds, int(np.bincount(y)[present].min()), len(np.unique(g)))
    scores: dict[float, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if k >= 2:  # the regularisation path with warm starts: one sweep of C per fold
            splits = list(
                StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(z, y, g)
            )
            final = LogisticRegressionCV(
                Cs=list(PROBE_CS), cv=splits, scoring="neg_log_loss", max_iter=1000
            ).fit(z, y)
            mean_scores = np.mean(next(iter(final.scores_.values())), axis=0)
            scores = {c: float(-v) for c, v in zip(PROBE_CS, mean_scores, strict=True)}
            best = float(np.ravel(final.C_)[0])
        else:
            best = 1e-2
            final = LogisticRegression(C=best, max_iter=1000).fit(z, y)
    coef, intercept = _head_weights(final, num_classes, binary)
    intercept = intercept + _prior_shift(class_weight, num_classes, binary)
    return LinearProbe(
        mean.astype(np.float32), var.astype(np.float32), coef, intercept, best, scores,
        k if scores else 0,
    )  # fmt: skip


def _prior_shift(class_weight: dict[int, float] | None, num_classes: int, binary: bool
                 ) -> np.ndarray:  # fmt: skip
    """``log(weight)`` per output: what a class weight does to the optimal decision."""
    if not class_weight:
        return np.zeros(1 if binary else num_classes, np.float32)
    logw = np.log([float(class_weight.get(c, 1.0)) for c in range(num_classes)])
    return np.array([logw[1] - logw[0]] if binary else logw, np.float32)


def _group_ids(groups: Sequence[Any]) -> np.ndarray:
    ids: dict[Any, int] = {}
    return np.array(
        [ids.setdefault(("g", gr) if gr is not None else ("i", i), len(ids))
         for i, gr in enumerate(groups)]
    )  # fmt: skip


def _head_weights(fitted: Any, num_classes: int, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's coefficients as the ``"predictions"`` layer's kernel and bias."""
    coef, bias = np.asarray(fitted.coef_), np.asarray(fitted.intercept_)
    classes = list(fitted.classes_)
    if binary:
        return coef.T.astype(np.float32), bias.astype(np.float32)
    kernel = np.zeros((coef.shape[1], num_classes), np.float32)
    out = np.full(num_classes, -30.0, np.float32)  # a class absent from training: never
    if len(classes) == 2:  # one logit for the second class; softmax([0, z]) = sigmoid(z)
        kernel[:, classes[1]], out[classes[1]] = coef[0], bias[0]
        out[classes[0]] = 0.0
        return kernel, out
    for j, c in enumerate(classes):
        kernel[:, c], out[c] = coef[j], bias[j]
    return kernel, out


def write_probe(head: Any, probe: LinearProbe) -> bool:
    """Writes ``probe`` into a head from ``split_feature_extractor``.

    The ``"head_norm"`` layer gets the feature statistics (scale 1, offset 0) and is frozen,
    so it standardises by the training set's statistics, not each batch's; ``"predictions"``
    gets the weights. A head with a hidden ``"head_dense"`` layer or without ``"head_norm"``
    keeps its own start (only the statistics are written where there is a ``"head_norm"``).

    Args:
        head: The head model.
        probe: The fitted probe.

    Returns:
        Whether the weights were written into ``"predictions"``.
    """
    names = {layer.name for layer in head.layers}
    if "head_norm" in names:
        norm = head.get_layer("head_norm")
        norm.set_weights(
            [np.ones_like(probe.mean), np.zeros_like(probe.mean), probe.mean, probe.var]
        )
        norm.trainable = False
    if "head_dense" in names or "head_norm" not in names:
        return False
    head.get_layer("predictions").set_weights([probe.coef, probe.intercept])
    return True
