"""What the :class:`~fracturenet.inference.Predictor` returns: probabilities, top-k, errors."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet._json_results import write_new_file

__all__ = ["PredictionResult"]


@dataclass
class PredictionResult:
    """Predictions for a list of inputs, in input order, unreadable ones included.

    Attributes:
        sources: One name per input: the file path, or ``"array[i]"`` for array inputs.
        probabilities: ``(n, k)`` float32 class probabilities; rows of unreadable inputs are NaN.
        class_names: Class names in model output order.
        errors: ``{source: reason}`` for inputs that could not be read (empty when all were).
        top_k: Number of classes listed per image by :meth:`top` and the CSV.
        decision: A binary model's :class:`~fracturenet.models.DecisionThreshold`: the
            predicted label is its positive class when that class's probability reaches
            the threshold (``None``: the most probable class). Defaults to `None`.

    Example:
        >>> r = PredictionResult(["a.png", "b.png"], np.array([[.9, .1], [np.nan, np.nan]]),
        ...                      ("normal", "fracture"), {"b.png": "zero-byte file"}, top_k=1)
        >>> r.labels, r.ok.tolist()
        (['normal', None], [True, False])
    """

    sources: list[str]
    probabilities: np.ndarray
    class_names: tuple[str, ...]
    errors: dict[str, str] = field(default_factory=dict)
    top_k: int = 3
    decision: Any = None

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the inputs that were read and predicted."""
        return ~np.isnan(self.probabilities).any(axis=1)

    @property
    def predicted(self) -> np.ndarray:
        """Predicted class index per input (``-1`` for unreadable inputs)."""
        probs = np.nan_to_num(self.probabilities, nan=-1.0)
        idx = self.decision.predict(probs) if self.decision is not None else np.argmax(probs, 1)
        return np.where(self.ok, idx, -1)

    @property
    def labels(self) -> list[str | None]:
        """Predicted class name per input (``None`` for unreadable inputs)."""
        return [self.class_names[i] if i >= 0 else None for i in self.predicted]

    def top(self, i: int) -> list[tuple[str, float]]:
        """The ``top_k`` ``(class name, probability)`` pairs of input ``i``, best first."""
        if not self.ok[i]:
            return []
        p = self.probabilities[i]
        order = np.argsort(-p, kind="stable")[: self.top_k]
        return [(self.class_names[j], float(p[j])) for j in order]

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per input: source, label, probability (of that label),
        top_k, error."""
        out = []
        predicted = self.predicted
        for i, src in enumerate(self.sources):
            top = self.top(i)
            label = int(predicted[i])
            out.append(
                {
                    "source": src,
                    "label": self.class_names[label] if label >= 0 else None,
                    "probability": float(self.probabilities[i, label]) if label >= 0 else None,
                    "top_k": [{"label": n, "probability": p} for n, p in top],
                    "error": self.errors.get(src),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-friendly data (class names, decision threshold, counts, rows)."""
        return {
            "class_names": list(self.class_names),
            "decision_threshold": None if self.decision is None else self.decision.to_dict(),
            "num_images": len(self),
            "num_errors": len(self.errors),
            "predictions": self.rows(),
        }

    def csv_text(self) -> str:
        """CSV with ``source,label,probability,error`` and one ``p_<class>`` column per class."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            ["source", "label", "probability", "error", *(f"p_{c}" for c in self.class_names)]
        )
        for i, row in enumerate(self.rows()):
            probs = ["" if not self.ok[i] else f"{p:.6f}" for p in self.probabilities[i]]
            prob = "" if row["probability"] is None else f"{row['probability']:.6f}"
            writer.writerow([row["source"], row["label"] or "", prob, row["error"] or "", *probs])
        return buf.getvalue()

    def to_csv(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Writes :meth:`csv_text` to ``path``.

        Args:
            path: Destination CSV file.
            overwrite: Replace an existing file. Defaults to `False`.

        Returns:
            The path written.

        Raises:
            FileExistsError: If ``path`` exists and ``overwrite`` is False.
        """
        return Path(write_new_file(path, self.csv_text(), overwrite=overwrite))

    @classmethod
    def concatenate(cls, parts: Sequence[PredictionResult]) -> PredictionResult:
        """Joins results of consecutive chunks (same classes and ``top_k``) into one."""
        if not parts:
            raise ValueError("Argument `parts` must hold at least one result. Received: parts=[]")
        errors: dict[str, str] = {}
        for p in parts:
            errors.update(p.errors)
        return cls(
            sources=[s for p in parts for s in p.sources],
            probabilities=np.concatenate([p.probabilities for p in parts]),
            class_names=parts[0].class_names,
            errors=errors,
            top_k=parts[0].top_k,
            decision=parts[0].decision,
        )
