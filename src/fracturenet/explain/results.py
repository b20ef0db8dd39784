"""The result types of :func:`fracturenet.explain.explain`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["Explanation", "Explanations"]


@dataclass(frozen=True)
class Explanation:
    """The explanation of one image (see :class:`Explanations` for the fields)."""

    heatmap: np.ndarray
    input_heatmap: np.ndarray
    predicted_index: int
    predicted_label: str | None
    probability: float
    target_index: int
    target_label: str | None
    target_probability: float
    method: str


@dataclass(frozen=True)
class Explanations:
    """Heatmaps and predictions for a batch of images, as returned by :func:`explain`.

    Attributes:
        method: The method name, e.g. ``"gradcam"``.
        heatmaps: One float32 ``(H, W)`` map in ``[0, 1]`` per image, on the original image
            (letterbox padding removed, then rescaled so the hottest pixel is 1; a constant
            map is all zeros); a list because original sizes may differ.
        input_heatmaps: ``(N, h, w)`` float32 maps on the model input (what the model saw;
            used by the faithfulness scores).
        predicted_index: ``(N,)`` int array, the predicted class.
        probability: ``(N,)`` float32 array, the probability of the predicted class.
        target_index: ``(N,)`` int array, the class each map explains.
        target_probability: ``(N,)`` float32 array, the probability of the target class.
        class_names: Class names when known, else `None`.
        cam_layer: The layer whose maps were weighed (`None` for saliency methods).
    """

    method: str
    heatmaps: list[np.ndarray]
    input_heatmaps: np.ndarray
    predicted_index: np.ndarray
    probability: np.ndarray
    target_index: np.ndarray
    target_probability: np.ndarray
    class_names: tuple[str, ...] | None = None
    cam_layer: str | None = None

    def __len__(self) -> int:
        return len(self.heatmaps)

    def _label(self, index: int) -> str | None:
        return None if self.class_names is None else self.class_names[index]

    @property
    def predicted_label(self) -> list[str | None]:
        """The predicted class names (`None` entries when class names are unknown)."""
        return [self._label(int(i)) for i in self.predicted_index]

    def __getitem__(self, i: int) -> Explanation:
        return Explanation(
            heatmap=self.heatmaps[i],
            input_heatmap=self.input_heatmaps[i],
            predicted_index=int(self.predicted_index[i]),
            predicted_label=self._label(int(self.predicted_index[i])),
            probability=float(self.probability[i]),
            target_index=int(self.target_index[i]),
            target_label=self._label(int(self.target_index[i])),
            target_probability=float(self.target_probability[i]),
            method=self.method,
        )

    def __iter__(self) -> Iterator[Explanation]:
        return (self[i] for i in range(len(self)))
