"""Run a trained Keras model over test data and return an :class:`EvaluationReport`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from fracturenet.evaluation.report import EvaluationReport

__all__ = ["evaluate", "predict_proba"]

_ACCEPTED = (
    "a fracturenet.data.Manifest, a tf.data.Dataset (or any iterable) of (images, labels) "
    "batches, a tuple (x, y) of arrays, or an object with a to_arrays() method returning (x, y)"
)


_ON_ERROR: tuple[str, ...] = ("raise", "skip")


def _pipeline(model: Any, manifest: Any, batch_size: int, on_error: str) -> Any:
    """The evaluation pipeline of a Manifest, fitted as the model's input description says
    (size, channels, the resize mode it was trained with), in manifest order."""
    from fracturenet.data import make_dataset
    from fracturenet.models.input_spec import resolve_input_spec

    spec = resolve_input_spec(model)
    return make_dataset(
        manifest,
        image_size=spec.size,
        batch_size=batch_size,
        channels=spec.channels,
        resize_mode=spec.resize_mode,
        on_error=on_error,
    )


def _batches_from(data: Any, batch_size: int) -> tuple[Iterator[tuple[Any, Any]], Any]:
    """Returns an iterator of ``(images, labels)`` batches and the image ids ``data`` carries."""
    ids = None
    if hasattr(data, "file_paths") and hasattr(data, "decode_report"):  # from make_dataset
        from fracturenet.data.bad_images import kept_paths

        ids = kept_paths(data)  # read after the predictions, once the skips are known
    if hasattr(data, "to_arrays"):  # hook for Manifest-backed sources (integrator)
        ids = getattr(data, "paths", None)
        data = tuple(data.to_arrays())
    if isinstance(data, tuple) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) != len(y):
            raise ValueError(
                f"`data` images and labels differ in length. Received: len(x)={len(x)}, len(y)={len(y)}"
            )
        return (
            (x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)
        ), ids
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, dict, tuple)):
        return _checked_batches(data), ids
    raise TypeError(f"`data` must be {_ACCEPTED}. Received: data={type(data).__name__}")


def _checked_batches(data: Iterable) -> Iterator[tuple[Any, Any]]:
    for element in data:
        if not isinstance(element, (tuple, list)) or len(element) < 2:
            raise TypeError(
                "Each batch of `data` must be a tuple (images, labels[, sample_weight]). "
                f"Received: batch of type {type(element).__name__}"
            )
        yield element[0], element[1]


def _check_batched(model: Any, images: Any) -> None:
    expected = getattr(model, "input_shape", None)
    rank = np.ndim(images)
    if isinstance(expected, tuple) and rank == len(expected) - 1:
        raise ValueError(
            "`data` yields single images, not batches: call dataset.batch(batch_size) first. "
            f"Received: element shape={tuple(np.shape(images))}, model input={expected}"
        )


def _labels(y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot
        return np.argmax(y, axis=1)
    return y.reshape(-1).astype(np.int64)


def _as_probabilities(out: np.ndarray) -> np.ndarray:
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] == 1:  # single sigmoid unit
        out = np.concatenate([1.0 - out, out], axis=1)
    if out.ndim != 2:
        raise ValueError(
            "`model` must output class probabilities of shape (batch, classes) or a single "
            f"sigmoid unit (batch, 1). Received: output shape={out.shape}"
        )
    sums = out.sum(axis=1)
    if out.min() < -1e-3 or out.max() > 1 + 1e-3 or np.max(np.abs(sums - 1.0)) > 1e-3:
        raise ValueError(
            "`model` outputs are not probabilities: end the model with a softmax (or a single "
            "sigmoid) activation, or wrap a logits model before evaluating. "
            f"Received: outputs in [{out.min():.4g}, {out.max():.4g}], row sums in "
            f"[{sums.min():.4g}, {sums.max():.4g}]"
        )
    return out


def predict_proba(model: Any, images: np.ndarray, *, tta: bool = False) -> np.ndarray:
    """Class probabilities of one batch, optionally averaged with the horizontal flip.

    Args:
        model: A Keras model with a softmax (or single sigmoid) output, channels-last input.
        images: A batch ``(b, height, width, channels)``.
        tta: Average the probabilities of the batch and of its left-right mirror image.
            Defaults to `False`.

    Returns:
        Probabilities, shape ``(b, k)`` (``k = 2`` for a sigmoid output).
    """
    import keras

    images = np.asarray(images)
    probs = _as_probabilities(keras.ops.convert_to_numpy(model(images, training=False)))
    if tta:
        flipped = np.ascontiguousarray(images[:, :, ::-1, ...])
        probs = (
            probs + _as_probabilities(keras.ops.convert_to_numpy(model(flipped, training=False)))
        ) / 2
    return probs


def evaluate(
    model: Any,
    data: Any,
    *,
    class_names: Sequence[str] | None = None,
    ids: Sequence[str | int] | None = None,
    tta: bool = False,
    bootstrap: int = 1000,
    seed: int = 0,
    batch_size: int = 32,
    model_name: str | None = None,
    split: str | None = None,
    used_for_selection: bool | None = None,
    info: dict[str, Any] | None = None,
    on_error: str = "raise",
    threshold: Any = "model",
    positive_class: str | int | None = None,
    facets: Any = None,
) -> EvaluationReport:
    """Predicts ``data`` with ``model`` and returns the metrics, intervals and predictions.

    The order of the images is kept, so reports of two models on the same data can be
    compared image by image with :func:`~fracturenet.evaluation.compare`.

    Args:
        model: A ``keras.Model`` whose output is a softmax over the classes, or a single
            sigmoid unit (read as 2 classes, the unit being class 1).
        data: One of: a :class:`~fracturenet.data.Manifest` (read with the model's input
            size and channels and the letterbox fit the Trainer trains with; its paths
            become the ids); a ``tf.data.Dataset`` (or any iterable) yielding batches
            ``(images, labels)`` (extra elements such as sample weights are ignored); a tuple
            ``(x, y)`` of arrays; an object with ``to_arrays() -> (x, y)`` (its ``paths``, if
            any, become the ids). Labels may be integers or one-hot.
        class_names: Class names in output order. Defaults to `None` (``"0"``, ``"1"``, ...).
        ids: Image ids (paths) in data order. Defaults to `None` (indices, or ``data.paths``).
        tta: Test-time augmentation: average the softmax of each image and of its horizontal
            flip (identity + left-right mirror; nothing else, so no interpolation artefacts).
            Defaults to `False`.
        bootstrap: Bootstrap resamples for the 95 % intervals (0 skips). Defaults to `1000`.
        seed: Seed of the bootstrap. Defaults to `0`.
        batch_size: Batch size used for ``(x, y)`` arrays. Defaults to `32`.
        model_name: Name for the report. Defaults to `None` (the model's ``name``).
        split: Name of the split ``data`` is, e.g. ``"test"``; stated in every table and
            verdict. Defaults to `None` (not recorded).
        used_for_selection: Whether ``data`` picked the model or its epoch (early stopping,
            best-epoch restore); :func:`~fracturenet.evaluation.compare` refuses such reports
            unless told otherwise. Defaults to `None`: found out when the model records the
            images it was trained on (a Trainer's model, or one loaded from its
            ``model.keras``) and the ids are files. Their contents are then compared with the
            model's training and selection images (see
            :func:`~fracturenet.evaluation.provenance.check_selection`): any evaluated image
            from the selection set marks the report as used for selection (a value of
            `False` passed here is overridden, with a warning), and images from the training
            set are counted and reported as leakage, with a warning. Otherwise not recorded.
        info: More provenance for the report (e.g. ``resize_mode``, data fingerprints).
            Defaults to `None`. The model's backbone, input size, precision, weights source
            and library versions are added automatically.
        on_error: Unreadable images: ``"raise"`` stops with an
            :class:`~fracturenet.exceptions.ImageDecodeError` naming the file; ``"skip"``
            leaves them out, warns once per file and lists each file and reason in the
            report (``info["skipped"]`` and its Markdown). It applies to a ``Manifest``
            input; a dataset from :func:`~fracturenet.data.make_dataset` keeps its own
            ``on_error``, and its skipped files are listed the same way. Defaults to
            `"raise"`.
        threshold: The operating point of a two-class model: ``"model"`` (the
            :class:`~fracturenet.models.DecisionThreshold` the model carries, chosen on its
            validation data by the Trainer and saved in ``model.keras``; argmax when it has
            none), ``"argmax"``, a :class:`~fracturenet.models.DecisionThreshold`, or a
            number (the cut-off on ``positive_class``'s probability). Sensitivity,
            specificity, the count metrics and the confusion matrix are at that point.
            Defaults to `"model"`.
        positive_class: Name or index of the positive class of a two-class report.
            Defaults to `None`: the threshold's, else the minority class of the labels.
        facets: Per-image attributes to break accuracy (and, two-class, sensitivity and
            specificity) down by, with Wilson 95 % intervals: a mapping name -> values,
            each either a sequence in data order (for a ``Manifest``: in its order, skipped
            files included) or a mapping from image path, file name or stem to value; or,
            for a ``Manifest`` carrying per-image ``attributes`` (e.g. joined from a
            metadata CSV), attribute names. Defaults to `None`.

    Returns:
        An :class:`EvaluationReport`.

    Raises:
        TypeError: If ``data`` is of an unsupported type (the message lists the accepted ones).
        ValueError: If ``data`` is empty, ``batch_size < 1``, ``on_error`` is not one of
            ``"raise"``, ``"skip"``, or the outputs are not probabilities matching the labels
            and ``class_names``.
        ImageDecodeError: If an image of a pipeline with ``on_error="raise"`` cannot be read.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
        ...                           keras.layers.Dense(3, activation="softmax")])
        >>> x = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")
        >>> report = evaluate(model, (x, np.array([0, 1, 2, 0, 1, 2])), bootstrap=0)
        >>> report.y_prob.shape, report.info["tta"]
        ((6, 3), False)
    """
    if int(batch_size) < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
    if on_error not in _ON_ERROR:
        raise ValueError(
            f"Argument `on_error` must be one of {list(_ON_ERROR)}. Received: on_error={on_error!r}"
        )
    from fracturenet.data import Manifest

    decision = _decision(model, threshold, positive_class, class_names)
    manifest_ids = list(data.paths) if isinstance(data, Manifest) else None
    facets = _named_facets(facets, data)
    if isinstance(data, Manifest):
        data = _pipeline(model, data, int(batch_size), on_error)
    batches, data_ids = _batches_from(data, int(batch_size))
    probs: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    try:
        for images, y in batches:
            if not probs:
                _check_batched(model, images)
            probs.append(predict_proba(model, images, tta=tta))
            labels.append(_labels(y))
    except Exception as exc:  # a decode error inside tf.data: name the file, not TF's text
        from fracturenet.data.bad_images import decode_error_from

        decoded = decode_error_from(exc)
        if decoded is None or decoded is exc:
            raise
        raise decoded from None
    if not probs:
        raise ValueError(
            f"`data` yielded no batches; nothing to evaluate. Received: data={data!r:.80}"
        )
    y_prob = np.concatenate(probs)
    y_true = np.concatenate(labels)
    if len(y_true) != len(y_prob):
        raise ValueError(
            "`data` labels do not match the predictions one to one. "
            f"Received: {len(y_true)} labels for {len(y_prob)} images"
        )
    from fracturenet.data.fingerprint import file_set_fingerprint
    from fracturenet.models.provenance import model_provenance

    ids = list(ids) if ids is not None else (list(data_ids) if data_ids is not None else None)
    evaluated = file_set_fingerprint([str(i) for i in ids], y_true.tolist()) if ids else None
    extra = dict(info or {})
    skipped = _skipped(data)
    if skipped:
        extra["skipped"] = skipped
    check = _selection_check(model, ids)
    if check is not None:
        extra["selection_check"] = check
        used_for_selection = _merge_selection(used_for_selection, check, split)
        _warn_leakage(check, len(y_true))
    return EvaluationReport.from_predictions(
        y_true,
        y_prob,
        class_names=class_names,
        ids=ids,
        model_name=model_name or getattr(model, "name", None),
        bootstrap=bootstrap,
        seed=seed,
        decision=decision,
        positive_class=positive_class if decision is None else None,
        facets=_facets(facets, ids, manifest_ids, len(y_true)),
        info={
            "tta": bool(tta),
            "split": split,
            "used_for_selection": used_for_selection,
            **model_provenance(model),
            **({"data": {"evaluated": evaluated}} if evaluated else {}),
            **extra,
        },
    )


def _decision(model: Any, threshold: Any, positive_class: Any, class_names: Any) -> Any:
    """The DecisionThreshold ``threshold`` names (``None``: argmax)."""
    from fracturenet.models.decision import (
        DecisionThreshold,
        decision_threshold_of,
        resolve_positive_class,
    )

    if isinstance(threshold, DecisionThreshold):
        return threshold
    if threshold == "model":
        return decision_threshold_of(model)
    if threshold == "argmax" or threshold is None:
        return None
    if isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
        if positive_class is None:
            raise ValueError(
                "A numeric `threshold` needs `positive_class` (the class whose probability "
                f"it cuts). Received: threshold={threshold!r}, positive_class=None"
            )
        pos = resolve_positive_class([0, 1], positive_class, class_names)
        names = list(class_names) if class_names is not None else None
        return DecisionThreshold(float(threshold), pos, names[pos] if names else None, rule="given")
    raise ValueError(
        "Argument `threshold` must be 'model', 'argmax', a number or a DecisionThreshold. "
        f"Received: threshold={threshold!r}"
    )


def _named_facets(facets: Any, data: Any) -> Any:
    """Facet names (a string or a list of strings) looked up in a Manifest's attributes."""
    if isinstance(facets, str):
        facets = [facets]
    if not isinstance(facets, (list, tuple)) or not all(isinstance(f, str) for f in facets):
        return facets
    attributes = getattr(data, "attributes", None) or {}
    missing = [f for f in facets if f not in attributes]
    if missing:
        raise ValueError(
            f"Facet(s) {missing} are not per-image attributes of `data` (a Manifest's "
            f"attributes: {sorted(attributes)}); pass facets as {{name: values}} instead. "
            f"Received: facets={list(facets)}"
        )
    return {f: list(attributes[f]) for f in facets}


def _facets(facets: Any, ids: Any, manifest_ids: Any, n: int) -> Any:
    """Facet values keyed by the evaluated ids (sequences aligned with the manifest
    are mapped through its paths, so skipped files do not shift them)."""
    if not facets:
        return None
    from collections.abc import Mapping

    from fracturenet.evaluation.facets import resolve_facets

    if not isinstance(facets, Mapping):
        raise ValueError(
            "Argument `facets` must map a facet name to per-image values. "
            f"Received: facets={type(facets).__name__}"
        )
    keys = [str(i) for i in ids] if ids else [str(i) for i in range(n)]
    return resolve_facets(facets, keys, manifest_ids)


def _skipped(data: Any) -> list[dict[str, str]]:
    """``[{"path", "reason"}]`` for the files a make_dataset pipeline left out."""
    report = getattr(data, "decode_report", None)
    return [{"path": p, "reason": r} for p, r in getattr(report, "skipped", None) or ()]


def _selection_check(model: Any, ids: Any) -> dict[str, Any] | None:
    """Compares the evaluated files with the model's training record (None: cannot)."""
    import os

    from fracturenet.data.fingerprint import file_digest
    from fracturenet.evaluation.provenance import check_selection
    from fracturenet.models.provenance import training_data_of

    record = training_data_of(model)
    if record is None or not ids or not all(os.path.isfile(str(i)) for i in ids):
        return None
    return check_selection(record, [file_digest(str(i)) for i in ids])


def _merge_selection(given: bool | None, check: dict[str, Any], split: str | None) -> bool | None:
    """The caller's ``used_for_selection`` unless the images say the model was picked on them."""
    import warnings

    found = check["used_for_selection"]
    if found and given is False:
        warnings.warn(
            f"`used_for_selection=False` was passed, but evaluated images (split={split!r}) are "
            "in the set that selected the model (same file content); the report says it was "
            "used for model selection.",
            UserWarning,
            stacklevel=3,
        )
    return True if found or given else (False if found is False or given is False else None)


def _warn_leakage(check: dict[str, Any], n: int) -> None:
    import warnings

    from fracturenet.evaluation.provenance import leakage_warning

    text = leakage_warning({"selection_check": check}, n)
    if text:
        warnings.warn(text, UserWarning, stacklevel=3)
