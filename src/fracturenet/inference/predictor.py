"""The :class:`Predictor`: a trained model applied to new X-rays, batched and streamed."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from fracturenet.exceptions import ImageDecodeError
from fracturenet.inference.precision import resolve_precision, with_precision
from fracturenet.inference.results import PredictionResult
from fracturenet.inference.sources import as_image_batch, iter_image_files, run_model_path

__all__ = ["Predictor"]


class Predictor:
    """Predicts class probabilities for image files, folders or arrays.

    Images are read and resized chunk by chunk (``batch_size`` at a time, the next chunk
    decoded on threads while the model runs), so a folder of thousands of images is never
    held in memory at once. Unreadable files become rows with an ``error`` instead of
    stopping the run, unless ``strict=True``.

    Args:
        model: A classifier from :func:`fracturenet.models.build_classifier` or
            :func:`fracturenet.models.load_model` (raw 0-255 pixels in, softmax out).
        class_names: Class names in output order. Defaults to `None` (``"0"``, ``"1"``...).
        resize_mode: How files are fitted to the input size: ``"letterbox"``, ``"stretch"``
            or ``"crop"``. Defaults to `None`: the model's, from its input description
            (:func:`~fracturenet.models.input_spec`: the mode it was built or trained with;
            ``"letterbox"`` for a model that records none).
        batch_size: Images per model call. Defaults to `32`.
        precision: ``"auto"`` (bfloat16 on CPUs with AVX512-BF16/AMX, float16 on recent
            GPUs, else float32), ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``.
            Defaults to `"auto"`.
        workers: Threads decoding images. Defaults to `None` (``min(8, cpu_count)``).
        threshold: How a two-class model's label is decided: ``"model"`` (the
            :class:`~fracturenet.models.DecisionThreshold` the model carries, chosen on
            validation data by the Trainer and saved in ``model.keras``; the most probable
            class when it has none), ``"argmax"``, or a
            :class:`~fracturenet.models.DecisionThreshold`. Probabilities are the same
            either way. Defaults to `"model"`.

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> p = Predictor(m, class_names=["normal", "fracture"], precision="float32")
        >>> r = p.predict(np.zeros((3, 40, 50, 3), np.uint8), top_k=1)
        >>> r.probabilities.shape, r.sources[0], len(r.top(0))
        ((3, 2), 'array[0]', 1)
        >>> p.input_spec.size, p.resize_mode
        ((32, 32), 'letterbox')
    """

    def __init__(
        self,
        model: Any,
        *,
        class_names: Sequence[str] | None = None,
        resize_mode: str | None = None,
        batch_size: int = 32,
        precision: str = "auto",
        workers: int | None = None,
        threshold: Any = "model",
    ) -> None:
        from fracturenet.models.decision import DecisionThreshold, decision_threshold_of
        from fracturenet.models.input_spec import resolve_input_spec

        #: The model's :class:`~fracturenet.models.InputSpec` (``resize_mode`` applied).
        self.input_spec = resolve_input_spec(model, resize_mode)  # before with_precision
        if threshold == "model":
            decision = decision_threshold_of(model)  # before with_precision (a new model)
        elif threshold == "argmax" or isinstance(threshold, DecisionThreshold):
            decision = None if threshold == "argmax" else threshold
        else:
            raise ValueError(
                "Argument `threshold` must be 'model', 'argmax' or a DecisionThreshold. "
                f"Received: threshold={threshold!r}"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"Argument `batch_size` must be an integer >= 1. "
                f"Received: batch_size={batch_size!r}"
            )
        self.precision = resolve_precision(precision)
        self.model = with_precision(model, self.precision)
        n = int(self.model.output_shape[-1])
        names = tuple(str(c) for c in class_names) if class_names else tuple(map(str, range(n)))
        expected = 2 if n == 1 else n
        if len(names) != expected:
            raise ValueError(
                f"Argument `class_names` must name the model's {expected} classes. "
                f"Received: class_names={list(names)}"
            )
        self.class_names = names
        if decision is not None and len(names) != 2:
            raise ValueError(
                "A decision threshold needs a two-class model. "
                f"Received: {len(names)} classes, threshold={threshold!r}"
            )
        #: The :class:`~fracturenet.models.DecisionThreshold` deciding labels, or ``None``.
        self.decision = decision
        self.resize_mode = self.input_spec.resize_mode
        self.batch_size = batch_size
        self.input_shape = self.input_spec.shape
        self.workers = workers or min(8, os.cpu_count() or 1)
        #: The model file's fracturenet metadata (filled by :meth:`load`).
        self.metadata: dict[str, Any] = {}
        self._call = self._compile()

    # ---------------------------------------------------------------- construction
    @classmethod
    def load(cls, model_path: str | os.PathLike[str], **kwargs: Any) -> Predictor:
        """Loads a ``.keras`` file saved by :func:`fracturenet.models.save_model`.

        Class names come from the file's metadata, the input description (size, resize
        mode) with the model (see :func:`~fracturenet.models.load_model`).

        Args:
            model_path: The ``.keras`` file.
            **kwargs: Other :class:`Predictor` arguments (``batch_size``, ``precision``...).

        Returns:
            The predictor.

        Raises:
            FileNotFoundError: If the file does not exist.
            ModelFormatError: If it is not a fracturenet model file.
        """
        from fracturenet.models import load_model, read_metadata

        meta = read_metadata(model_path)
        kwargs.setdefault("class_names", meta.get("class_names") or None)
        predictor = cls(load_model(model_path), **kwargs)
        predictor.metadata = meta
        return predictor

    @classmethod
    def from_run(cls, path: str | os.PathLike[str], **kwargs: Any) -> Predictor:
        """Loads the model of a training run directory (its ``model.keras``).

        Args:
            path: A run directory written by the Trainer or ``fracturenet train``, or the
                ``model.keras`` file itself.
            **kwargs: Other :class:`Predictor` arguments.

        Returns:
            The predictor.

        Raises:
            ModelFormatError: If the folder holds no ``model.keras`` (training unfinished).
        """
        model_path = run_model_path(path)
        return cls.load(model_path, **kwargs)

    def _compile(self) -> Any:
        import keras

        model = self.model
        if keras.backend.backend() != "tensorflow":
            return lambda x: keras.ops.convert_to_numpy(model(x, training=False))
        import tensorflow as tf

        spec = tf.TensorSpec((None, *self.input_shape), tf.float32)
        fn = tf.function(
            lambda x: tf.cast(model(x, training=False), tf.float32), input_signature=[spec]
        )
        return lambda x: fn(tf.constant(x, tf.float32)).numpy()

    # ---------------------------------------------------------------- prediction
    def predict_arrays(self, images: np.ndarray) -> np.ndarray:
        """Probabilities for a batch already at the model's input size (raw 0-255 pixels).

        Args:
            images: ``(n, height, width, channels)`` array.

        Returns:
            ``(n, classes)`` float32 probabilities (2 columns for a single sigmoid output).
        """
        out = (
            np.concatenate(
                [
                    self._call(images[i : i + self.batch_size].astype(np.float32))
                    for i in range(0, len(images), self.batch_size)
                ]
            )
            if len(images)
            else np.zeros((0, self.model.output_shape[-1]), np.float32)
        )
        if out.shape[1] == 1:
            out = np.concatenate([1.0 - out, out], axis=1)
        return out.astype(np.float32)

    def _fit(self, image: np.ndarray) -> np.ndarray:
        from fracturenet.data import resize_image

        h, w, c = self.input_shape
        if image.ndim == 3 and image.shape[-1] == 4:
            image = image[..., :3]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        out = resize_image(image, (h, w), self.resize_mode)
        if out.ndim == 2:
            out = out[..., None]
        if out.shape[-1] != c:
            out = np.repeat(out[..., :1], c, axis=-1) if c == 3 else out[..., :c]
        return out

    def _read(self, path: str, strict: bool) -> np.ndarray | str:
        from fracturenet.data import load_resized

        h, w, _ = self.input_shape
        try:
            return load_resized(path, (h, w), self.resize_mode)
        except (ImageDecodeError, OSError, ValueError) as err:
            if strict:
                if isinstance(err, ImageDecodeError):
                    raise
                raise ImageDecodeError(path, str(err)) from err
            return str(err)

    def iter_predict(
        self, inputs: Any, *, top_k: int = 3, strict: bool = False
    ) -> Iterator[PredictionResult]:
        """Yields one :class:`PredictionResult` per chunk of ``batch_size`` inputs.

        Args and Raises are as in :meth:`predict`.
        """
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"Argument `top_k` must be an integer >= 1. Received: top_k={top_k!r}")
        top_k = min(top_k, len(self.class_names))
        if isinstance(inputs, np.ndarray) or (
            isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], np.ndarray)
        ):
            batch = (
                as_image_batch(inputs)
                if isinstance(inputs, np.ndarray)
                else [np.asarray(a) for a in inputs]
            )
            for start in range(0, len(batch), self.batch_size):
                chunk = np.stack(
                    [self._fit(np.asarray(a)) for a in batch[start : start + self.batch_size]]
                )
                names = [f"array[{start + i}]" for i in range(len(chunk))]
                yield PredictionResult(
                    names,
                    self.predict_arrays(chunk),
                    self.class_names,
                    top_k=top_k,
                    decision=self.decision,
                )
            return
        yield from self._iter_files(iter_image_files(inputs), top_k, strict)

    def _iter_files(
        self, paths: Iterable[str], top_k: int, strict: bool
    ) -> Iterator[PredictionResult]:
        def chunks() -> Iterator[list[str]]:
            chunk: list[str] = []
            for p in paths:
                chunk.append(p)
                if len(chunk) == self.batch_size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        with ThreadPoolExecutor(self.workers) as pool:
            pending: tuple[list[str], list[Future]] | None = None
            for chunk in chunks():
                submitted = (chunk, [pool.submit(self._read, p, strict) for p in chunk])
                if pending is not None:
                    yield self._finish(*pending, top_k)
                pending = submitted
            if pending is not None:
                yield self._finish(*pending, top_k)

    def _finish(self, paths: list[str], futures: list[Future], top_k: int) -> PredictionResult:
        loaded = [f.result() for f in futures]
        errors = {p: r for p, r in zip(paths, loaded) if isinstance(r, str)}
        good = [i for i, r in enumerate(loaded) if not isinstance(r, str)]
        probs = np.full((len(paths), len(self.class_names)), np.nan, np.float32)
        if good:
            probs[good] = self.predict_arrays(np.stack([loaded[i] for i in good]))
        return PredictionResult(list(paths), probs, self.class_names, errors, top_k, self.decision)

    def predict(self, inputs: Any, *, top_k: int = 3, strict: bool = False) -> PredictionResult:
        """Predicts every input and returns the probabilities, top-k classes and errors.

        Args:
            inputs: An image file, a folder (searched recursively), a list of files/folders,
                an array (one image ``(H, W[, C])`` or a batch ``(N, H, W[, C])``, raw 0-255
                pixels, any size: they are fitted with ``resize_mode``) or a list of arrays.
            top_k: Classes listed per image. Defaults to `3`.
            strict: Raise on the first unreadable file instead of reporting it.
                Defaults to `False`.

        Returns:
            A :class:`PredictionResult` in input order.

        Raises:
            ImageDecodeError: With ``strict=True``, for the first unreadable file.
            ValueError: If ``top_k`` or an array's shape is invalid, or there are no inputs.
        """
        parts = list(self.iter_predict(inputs, top_k=top_k, strict=strict))
        if not parts:
            raise ValueError(
                "No images to predict: pass image files, a folder holding images, or an array. "
                f"Received: inputs={inputs!r:.120}"
            )
        return PredictionResult.concatenate(parts)
