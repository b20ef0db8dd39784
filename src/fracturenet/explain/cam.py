"""``explain()``: class activation maps and saliency for a fracturenet classifier.

One call runs any of the supported tf-keras-vis methods on a batch of images and returns
heatmaps in ``[0, 1]`` aligned to the original images (letterbox padding removed), with the
predicted label and probability. This is the only place that runs tf-keras-vis; it is
imported inside functions because it changes the environment on import.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fracturenet.data.resize import restore_geometry
from fracturenet.exceptions import ExplainError
from fracturenet.explain import _graph
from fracturenet.explain.inputs import input_size, prepare_images, resolve_resize_mode
from fracturenet.explain.results import Explanations
from fracturenet.explain.scores import build_score, head_kind, logits_model

__all__ = ["METHODS", "explain"]


@dataclass(frozen=True)
class _Method:
    module: str
    cls: str
    uses_layer: bool
    defaults: dict[str, Any]


# name -> (tf-keras-vis class, whether it weighs a conv layer's maps, default keyword args)
METHODS: dict[str, _Method] = {
    "gradcam": _Method("tf_keras_vis.gradcam", "Gradcam", True, {}),
    "gradcam++": _Method("tf_keras_vis.gradcam_plus_plus", "GradcamPlusPlus", True, {}),
    "scorecam": _Method("tf_keras_vis.scorecam", "Scorecam", True, {"max_N": -1}),
    "faster-scorecam": _Method("tf_keras_vis.scorecam", "Scorecam", True, {"max_N": 10}),
    "layercam": _Method("tf_keras_vis.layercam", "Layercam", True, {}),
    "saliency": _Method("tf_keras_vis.saliency", "Saliency", False, {"smooth_samples": 0}),
    "smoothgrad": _Method(
        "tf_keras_vis.saliency", "Saliency", False, {"smooth_samples": 20, "smooth_noise": 0.2}
    ),
}


def _class_probabilities(probs: np.ndarray, kind: str) -> np.ndarray:
    """``(N, K)`` class probabilities; a sigmoid unit ``p`` becomes ``[1 - p, p]``."""
    probs = np.asarray(probs, dtype=np.float32)
    return np.concatenate([1.0 - probs, probs], axis=1) if kind == "sigmoid" else probs


def _resolve_targets(target: Any, predicted: np.ndarray, n_classes: int, class_names):
    names = list(class_names) if class_names is not None else None
    valid = f"'predicted', an int in [0, {n_classes - 1}]" + (
        f" or one of {names}" if names else " (or a class name when `class_names` is given)"
    )

    def one(t: Any) -> int:
        if isinstance(t, (bool, np.bool_)):
            pass
        elif isinstance(t, (int, np.integer)) and 0 <= int(t) < n_classes:
            return int(t)
        elif isinstance(t, str) and names is not None and t in names:
            return names.index(t)
        raise ExplainError(f"Argument `target` must be {valid}. Received: target={t!r}")

    if isinstance(target, str) and target == "predicted":
        return predicted.astype(np.int64)
    if isinstance(target, (str, int, np.integer)):
        return np.full(len(predicted), one(target), dtype=np.int64)
    targets = list(target)
    if len(targets) != len(predicted):
        raise ExplainError(
            f"Argument `target` given per image must have one entry per image ({len(predicted)})."
            f" Received: target with {len(targets)} entries"
        )
    return np.array([one(t) for t in targets], dtype=np.int64)


@contextlib.contextmanager
def _quiet_keras() -> Iterator[None]:
    """Silences Keras progress bars and tf-keras-vis input-structure warnings, then restores."""
    import keras

    was_on = keras.config.is_interactive_logging_enabled()
    keras.config.disable_interactive_logging()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"The structure of `inputs`")
            yield
    finally:
        if was_on:
            keras.config.enable_interactive_logging()


@contextlib.contextmanager
def _numpy_seed(seed: int | None) -> Iterator[None]:
    """Seeds NumPy's global generator (used by tf-keras-vis SmoothGrad) and restores it."""
    if seed is None:
        yield
        return
    # tf-keras-vis SmoothGrad draws from the legacy global generator, so seed that one.
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _visualizer_call(spec: _Method, method: str, visualizer, score, batch, kwargs, given):
    try:
        return visualizer(score, batch, **kwargs)
    except TypeError as err:
        accepted = sorted(set(inspect.signature(visualizer.__call__).parameters) - {"score"})
        raise ExplainError(
            f"Unsupported keyword argument for method={method!r} ({err}); tf-keras-vis "
            f"{spec.cls} accepts {accepted} plus 'seed' for smoothgrad. "
            f"Received: method_kwargs={given}"
        ) from err
    except ValueError as err:
        raise ExplainError(f"{spec.cls} failed: {err}. Received: method={method!r}") from err


def explain(
    model: Any,
    images: Any,
    *,
    method: str = "gradcam",
    target: Any = "predicted",
    layer: str | None = None,
    class_names: Sequence[str] | None = None,
    original_sizes: Sequence[tuple[int, int]] | None = None,
    resize_mode: str | None = None,
    batch_size: int = 8,
    **method_kwargs: Any,
) -> Explanations:
    """Explains a classifier's decisions with a heatmap per image.

    Args:
        model: A Keras classifier taking raw pixels (0-255) and ending in a softmax or a
            single sigmoid unit. A backbone nested as a layer is flattened first; a
            ``mixed_bfloat16``/``mixed_float16`` model is explained through a float32 copy
            (same weights), while predictions come from the model itself.
        images: A ``(N, H, W[, C])`` array or a sequence of ``(H, W[, C])`` arrays in
            0-255. Images whose size differs from the model input are fitted with
            ``resize_mode`` and the heatmaps are mapped back to their size.
        method: One of :data:`METHODS`: ``"gradcam"``, ``"gradcam++"``, ``"scorecam"``,
            ``"faster-scorecam"``, ``"layercam"``, ``"saliency"``, ``"smoothgrad"``.
            Defaults to `"gradcam"`.
        target: ``"predicted"``, a class index, a class name (needs ``class_names``) or a
            sequence of those, one per image. Defaults to `"predicted"`.
        layer: The layer whose feature maps CAM methods weigh. Defaults to `None`: the
            backbone registry's CAM layer, else the last 4-D layer before the head (skipping
            trailing pooling, cropping, padding and dropout).
        class_names: Names of the model's classes, in output order. Defaults to `None`.
        original_sizes: ``(height, width)`` of each original image when ``images`` are
            already fitted to the model input. Defaults to `None` (the images' own sizes).
        resize_mode: How images are fitted to the model input: ``"letterbox"`` (keep
            aspect, black padding, centred), ``"stretch"`` or ``"crop"`` (centre crop; the
            cut-off margins, which the model never sees, get no heat). Defaults to `None`:
            the mode the model was trained with, from its input description (see
            :func:`~fracturenet.models.input_spec`); ``"letterbox"`` for a model without one.
        batch_size: Images explained per tf-keras-vis call. Defaults to `8`.
        **method_kwargs: Passed to the tf-keras-vis method, e.g. ``max_N=`` for Score-CAM or
            ``smooth_samples=`` for SmoothGrad; ``seed=`` makes SmoothGrad reproducible.

    Returns:
        An :class:`Explanations` with one heatmap per image.

    Raises:
        ExplainError: For an unknown method, a bad target, layer, image shape or size, a
            head that is neither softmax nor sigmoid, or a model that cannot be flattened.

    Example:
        >>> import keras, numpy as np
        >>> x = keras.Input((16, 16, 3))
        >>> f = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
        >>> p = keras.layers.GlobalAveragePooling2D(name="head_pool")(f)
        >>> model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(p))
        >>> result = explain(model, np.zeros((1, 24, 16, 3)), class_names=["ok", "fracture"])
        >>> result.heatmaps[0].shape, result.cam_layer
        ((24, 16), 'conv')
    """
    if method not in METHODS:
        raise ExplainError(
            f"Argument `method` must be one of {list(METHODS)}. Received: method={method!r}"
        )
    resize_mode = resolve_resize_mode(model, resize_mode)  # the caller's model, not a copy
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ExplainError(
            f"Argument `batch_size` must be a positive int. Received: batch_size={batch_size!r}"
        )
    spec = METHODS[method]
    flat = _graph.flatten_model(model)
    kind = head_kind(flat)
    size_hw, channels = input_size(flat, images)
    batch_all, sizes = prepare_images(images, size_hw, original_sizes, resize_mode, channels)
    n_classes = 2 if kind == "sigmoid" else int(flat.outputs[0].shape[-1])
    if class_names is not None and len(class_names) != n_classes:
        raise ExplainError(
            f"Argument `class_names` must have one name per class ({n_classes}). "
            f"Received: class_names={list(class_names)!r}"
        )
    probs = np.concatenate(
        [
            _class_probabilities(
                np.asarray(flat(batch_all[i : i + batch_size], training=False)), kind
            )
            for i in range(0, len(batch_all), batch_size)
        ]
    )
    predicted = probs.argmax(axis=1)
    targets = _resolve_targets(target, predicted, n_classes, class_names)

    cam_layer = _graph.find_cam_layer(flat, layer) if spec.uses_layer else None
    work = _graph.working_copy(flat)
    for_scorecam = spec.cls == "Scorecam"
    cls = getattr(importlib.import_module(spec.module), spec.cls)
    kwargs = {**spec.defaults, **method_kwargs}
    seed = kwargs.pop("seed", None)
    if cam_layer is not None:
        if method == "faster-scorecam" and "max_N" not in method_kwargs:
            channels = int(flat.get_layer(cam_layer).output.shape[-1])
            kwargs["max_N"] = min(kwargs["max_N"], channels)
        kwargs.setdefault("penultimate_layer", cam_layer)
        kwargs.setdefault("seek_penultimate_conv_layer", False)
    maps = []
    with _quiet_keras(), _numpy_seed(seed):
        visualizer = cls(logits_model(work, kind, for_scorecam=for_scorecam), clone=False)
        for i in range(0, len(batch_all), batch_size):
            batch = batch_all[i : i + batch_size]
            score = build_score(kind, targets[i : i + batch_size], for_scorecam=for_scorecam)
            out = _visualizer_call(
                spec, method, visualizer, score, batch, kwargs, sorted(method_kwargs)
            )
            maps.append(np.asarray(out, dtype=np.float32).reshape(len(batch), *size_hw))
    input_maps = np.clip(np.nan_to_num(np.concatenate(maps)), 0.0, 1.0)
    heatmaps = [
        _normalise(restore_geometry(m, hw, size_hw, resize_mode))
        for m, hw in zip(input_maps, sizes, strict=True)
    ]
    rows = np.arange(len(probs))
    return Explanations(
        method=method,
        heatmaps=heatmaps,
        input_heatmaps=input_maps,
        predicted_index=predicted.astype(np.int64),
        probability=probs[rows, predicted].astype(np.float32),
        target_index=targets,
        target_probability=probs[rows, targets].astype(np.float32),
        class_names=tuple(class_names) if class_names is not None else None,
        cam_layer=cam_layer,
    )


def _normalise(heatmap: np.ndarray) -> np.ndarray:
    """Rescales to ``[0, 1]`` (a constant map becomes zeros: nothing stands out)."""
    low, high = float(heatmap.min()), float(heatmap.max())
    if not np.isfinite(low) or high - low <= 1e-12:
        return np.zeros_like(heatmap, dtype=np.float32)
    return ((heatmap - low) / (high - low)).astype(np.float32)
