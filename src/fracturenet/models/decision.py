"""A binary classifier's decision threshold: chosen on validation data, carried by the model.

A two-class model outputs the probability ``p`` of its *positive* class (the finding, e.g.
"fractured"); it says "positive" when ``p >= threshold``. ``argmax`` is the threshold 0.5,
which on skewed data (one positive in five or six) is rarely the operating point a
clinician wants. :func:`choose_threshold` picks one on validation predictions by a stated
rule, :class:`DecisionThreshold` records it (rule, value, positive class, the validation
sensitivity and specificity it gives), and the model carries it like its input description:
the Trainer attaches it after training, :func:`~fracturenet.models.save_model` writes it into
``model.keras``'s metadata (``decision_threshold``), :func:`~fracturenet.models.load_model`
gives it back, and the Predictor and ``evaluate`` use it (:func:`decision_threshold_of`).

Rules (:data:`THRESHOLD_RULES`), over the distinct validation scores:

* ``"youden"``: maximise Youden's J = sensitivity + specificity - 1 (ties: the lowest
  threshold, i.e. the highest sensitivity among them).
* ``"sensitivity:T"``: the highest threshold whose sensitivity is at least ``T`` (so the
  best specificity that keeps sensitivity >= ``T``).
* ``"specificity:T"``: the lowest threshold whose specificity is at least ``T`` (the best
  sensitivity that keeps specificity >= ``T``).

The stored value is the midpoint between the chosen score and the next lower distinct score
(the same validation operating point, not sitting on one image's score); at the bottom end it
is the lowest score itself, at the top end (nothing positive) just above the highest.

The positive class is given by name or index, or resolved as the minority class of the
labels (the rare finding; ties go to class 1), and is always recorded.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 0, 1, 1])
    >>> p1 = np.array([0.1, 0.2, 0.3, 0.6, 0.4, 0.9])
    >>> d = choose_threshold(y, np.stack([1 - p1, p1], axis=1), rule="youden")
    >>> d.positive_index, round(d.threshold, 3), d.chosen_on["sensitivity"]
    (1, 0.35, 1.0)
    >>> d.predict(np.array([[0.7, 0.3], [0.6, 0.4]])).tolist()
    [0, 1]
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "THRESHOLD_RULES",
    "DecisionThreshold",
    "check_threshold_rule",
    "choose_threshold",
    "decision_threshold_of",
    "remember_decision_threshold",
    "resolve_positive_class",
]

#: The rule kinds :func:`choose_threshold` accepts (``T`` in ``(0, 1]``).
THRESHOLD_RULES: tuple[str, ...] = ("youden", "sensitivity:T", "specificity:T")

_DECISIONS: weakref.WeakKeyDictionary[Any, DecisionThreshold] = weakref.WeakKeyDictionary()


def check_threshold_rule(rule: Any) -> tuple[str, float | None]:
    """Parses a rule into ``(kind, target)``; ``target`` is ``None`` for ``"youden"``.

    Raises:
        ValueError: Naming the argument and the accepted rules.

    Example:
        >>> check_threshold_rule("sensitivity:0.9")
        ('sensitivity', 0.9)
    """
    text = str(rule).strip().lower() if isinstance(rule, str) else None
    if text == "youden":
        return "youden", None
    if text is not None and ":" in text:
        kind, _, value = text.partition(":")
        try:
            target = float(value)
        except ValueError:
            target = float("nan")
        if kind in ("sensitivity", "specificity") and 0.0 < target <= 1.0:
            return kind, target
    raise ValueError(
        f"Argument `rule` must be one of {list(THRESHOLD_RULES)} with T in (0, 1], e.g. "
        f"'sensitivity:0.9'. Received: rule={rule!r}"
    )


def resolve_positive_class(
    labels: Sequence[int] | np.ndarray,
    positive: str | int | None = None,
    class_names: Sequence[str] | None = None,
) -> int:
    """The index of the positive class of a two-class problem.

    Args:
        labels: Integer labels 0/1 (used when ``positive`` is ``None``).
        positive: A class name (from ``class_names``) or index 0/1; ``None`` picks the
            minority class of ``labels`` (ties, and labels with one class only: class 1).
            Defaults to `None`.
        class_names: The two class names. Defaults to `None`.

    Returns:
        0 or 1.

    Raises:
        ValueError: If ``positive`` names no class.

    Example:
        >>> resolve_positive_class([1, 1, 1, 0])
        0
        >>> resolve_positive_class([0, 1], "fracture", ["normal", "fracture"])
        1
    """
    names = [str(c) for c in class_names] if class_names is not None else ["0", "1"]
    if positive is None:
        counts = np.bincount(np.asarray(labels, dtype=np.int64).ravel(), minlength=2)[:2]
        return 0 if 0 < counts[0] < counts[1] else 1
    if isinstance(positive, (int, np.integer)) and not isinstance(positive, bool):
        if int(positive) in (0, 1):
            return int(positive)
    elif str(positive) in names:
        return names.index(str(positive))
    raise ValueError(
        f"Argument `positive_class` must be one of the class names {names} or an index 0/1. "
        f"Received: positive_class={positive!r}"
    )


def _operating_points(y_pos: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct scores (descending) and the sensitivity/specificity of ``score >= s``."""
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    y = y_pos[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(y)[ends].astype(np.float64)
    fp = ends + 1 - tp
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    return s[ends], tp / n_pos, 1.0 - fp / n_neg


@dataclass(frozen=True)
class DecisionThreshold:
    """The decision rule of a binary classifier: positive when ``p[positive] >= threshold``.

    Attributes:
        threshold: The cut-off on the positive class's probability.
        positive_index: Column of the positive class (0 or 1).
        positive_class: Its name, or ``None`` when unnamed.
        rule: How it was chosen (see :data:`THRESHOLD_RULES`), or ``"given"``.
        chosen_on: What it was chosen on: ``n``, ``n_positive`` and the ``sensitivity`` and
            ``specificity`` it gives there (plus ``split`` when known). Defaults to `{}`.

    Example:
        >>> d = DecisionThreshold(0.3, 0, "fractured", "youden")
        >>> d.predict(np.array([[0.35, 0.65], [0.2, 0.8]])).tolist()
        [0, 1]
        >>> DecisionThreshold.from_dict(d.to_dict()) == d
        True
    """

    threshold: float
    positive_index: int
    positive_class: str | None = None
    rule: str = "given"
    chosen_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, (int, float)) or not math.isfinite(self.threshold):
            raise ValueError(
                f"Argument `threshold` must be a finite number. Received: threshold={self.threshold!r}"
            )
        if self.positive_index not in (0, 1) or isinstance(self.positive_index, bool):
            raise ValueError(
                "Argument `positive_index` must be 0 or 1. "
                f"Received: positive_index={self.positive_index!r}"
            )

    def __hash__(self) -> int:
        return hash((self.threshold, self.positive_index, self.positive_class, self.rule))

    def predict(self, y_prob: np.ndarray) -> np.ndarray:
        """Class indices of ``(n, 2)`` probabilities under this rule."""
        p = np.asarray(y_prob, dtype=np.float64)
        positive = p[:, self.positive_index] >= self.threshold
        return np.where(positive, self.positive_index, 1 - self.positive_index)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DecisionThreshold:
        """Builds the record from :meth:`to_dict`'s dict (as saved in ``model.keras``)."""
        return cls(
            threshold=float(values["threshold"]),
            positive_index=int(values["positive_index"]),
            positive_class=values.get("positive_class"),
            rule=str(values.get("rule", "given")),
            chosen_on=dict(values.get("chosen_on") or {}),
        )

    def describe(self) -> str:
        """One line: the class, cut-off, rule and validation operating point."""
        on = self.chosen_on
        where = ""
        if "sensitivity" in on:
            where = (
                f" (on {on.get('split') or 'validation'} data, n={on.get('n')}, "
                f"{on.get('n_positive')} positive: sensitivity {on['sensitivity']:.3f}, "
                f"specificity {on['specificity']:.3f})"
            )
        name = self.positive_class if self.positive_class is not None else self.positive_index
        return f"{name!s} when p >= {self.threshold:.4g}, rule {self.rule}{where}"


def choose_threshold(
    y_true: Sequence[int] | np.ndarray,
    y_prob: np.ndarray,
    *,
    rule: str = "youden",
    positive_class: str | int | None = None,
    class_names: Sequence[str] | None = None,
    split: str | None = None,
) -> DecisionThreshold:
    """Chooses a decision threshold on (validation) predictions by ``rule``.

    Args:
        y_true: Integer labels 0/1, shape ``(n,)``.
        y_prob: Probabilities, shape ``(n, 2)`` (or ``(n,)``/``(n, 1)``: class 1's).
        rule: ``"youden"``, ``"sensitivity:T"`` or ``"specificity:T"`` (see the module
            notes). Defaults to `"youden"`.
        positive_class: Name or index of the positive class; ``None``: the minority class
            of ``y_true`` (see :func:`resolve_positive_class`). Defaults to `None`.
        class_names: The two class names. Defaults to `None`.
        split: Name of the data, recorded in ``chosen_on``. Defaults to `None`.

    Returns:
        The :class:`DecisionThreshold`.

    Raises:
        ValueError: On an unknown rule or positive class, labels that are not 0/1, shapes
            that do not match, or data without both classes.
    """
    kind, target = check_threshold_rule(rule)
    y = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_prob, dtype=np.float64)
    if p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1):
        p = np.stack([1.0 - p.ravel(), p.ravel()], axis=1)
    if p.ndim != 2 or p.shape != (len(y), 2) or len(y) == 0:
        raise ValueError(
            "Argument `y_prob` must have shape (n, 2) with n = len(y_true) > 0 (a binary "
            f"task). Received: y_prob.shape={np.shape(y_prob)}, len(y_true)={len(y)}"
        )
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise ValueError(
            f"Argument `y_true` must hold labels 0/1. Received: labels {sorted(set(y.tolist()))}"
        )
    pos = resolve_positive_class(y, positive_class, class_names)
    y_pos = y == pos
    if y_pos.all() or not y_pos.any():
        raise ValueError(
            "A threshold needs both classes in the data it is chosen on. "
            f"Received: {int(y_pos.sum())} positive of {len(y)}"
        )
    scores, sens, spec = _operating_points(y_pos, p[:, pos])
    if kind == "youden":
        j = sens + spec - 1.0
        i = int(np.flatnonzero(j >= j.max() - 1e-12)[-1])
    elif kind == "sensitivity":
        i = int(np.flatnonzero(sens >= target - 1e-12)[0])  # the last point has sens 1
    else:
        ok = np.flatnonzero(spec >= target - 1e-12)
        i = int(ok[-1]) if len(ok) else -1  # -1: nothing called positive
    if i < 0:
        value, sens_i, spec_i = float(np.nextafter(scores[0], np.inf)), 0.0, 1.0
    else:
        lower = scores[i + 1] if i + 1 < len(scores) else scores[i]
        value, sens_i, spec_i = float((scores[i] + lower) / 2.0), sens[i], spec[i]
    names = None if class_names is None else [str(c) for c in class_names]
    chosen_on = {
        "n": len(y),
        "n_positive": int(y_pos.sum()),
        "sensitivity": float(sens_i),
        "specificity": float(spec_i),
    }
    if split is not None:
        chosen_on["split"] = split
    return DecisionThreshold(
        threshold=value,
        positive_index=pos,
        positive_class=names[pos] if names else None,
        rule=f"{kind}:{target:g}" if target is not None else kind,
        chosen_on=chosen_on,
    )


def remember_decision_threshold(model: Any, decision: DecisionThreshold | None) -> None:
    """Attaches ``decision`` to ``model`` (``None``: forget it); read by
    :func:`decision_threshold_of`, saved by :func:`~fracturenet.models.save_model`."""
    if decision is None:
        _DECISIONS.pop(model, None)
    else:
        _DECISIONS[model] = decision


def decision_threshold_of(model: Any) -> DecisionThreshold | None:
    """The decision threshold a model carries, or ``None`` (argmax decides).

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> decision_threshold_of(m) is None
        True
        >>> remember_decision_threshold(m, DecisionThreshold(0.2, 1))
        >>> decision_threshold_of(m).threshold
        0.2
    """
    try:
        return _DECISIONS.get(model)
    except TypeError:
        return None
