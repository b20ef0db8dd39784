"""Export a trained classifier for serving (SavedModel, TFLite) with a parity check.

After every export the exported model is run on sample images next to the Keras model and
the largest absolute difference of the probabilities (and top-1 agreement) is printed and
stored as ``parity.json`` beside the export.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EXPORT_FORMATS", "QUANTIZE_MODES", "FLOAT_TOLERANCE", "export_model"]

#: Formats :func:`export_model` writes. ``onnx`` needs the ``onnx`` extra (tf2onnx, whose
#: ``from_keras`` converts Keras 3 functional models, and onnxruntime for the parity check).
EXPORT_FORMATS = ("savedmodel", "tflite", "onnx")
#: TFLite post-training quantisation modes (``None`` keeps float32).
QUANTIZE_MODES = ("float16", "dynamic")
#: Largest accepted max-abs probability difference for float exports.
FLOAT_TOLERANCE = 1e-4


def _check(name: str, value: Any, accepted: tuple) -> None:
    if value not in accepted:
        raise ValueError(
            f"Argument `{name}` must be one of {list(accepted)}. Received: {name}={value!r}"
        )


def _write_savedmodel(model: Any, folder: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.export(folder, format="tf_saved_model", verbose=False)


def _savedmodel_runner(folder: str) -> Any:
    import tensorflow as tf

    loaded = tf.saved_model.load(folder)

    def run(x: np.ndarray) -> np.ndarray:  # keeps `loaded` (and its variables) alive
        return np.asarray(loaded.serve(tf.constant(x, tf.float32)))

    return run


def _write_tflite(model: Any, path: str, quantize: str | None, workdir: str) -> None:
    import tensorflow as tf

    saved = os.path.join(workdir, "savedmodel-for-tflite")
    _write_savedmodel(model, saved)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved)
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with open(path, "wb") as f:
        f.write(converter.convert())
    shutil.rmtree(saved)


def _tflite_runner(path: str) -> Any:
    import warnings

    try:  # LiteRT is TFLite's successor; tf.lite.Interpreter warns it is deprecated
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        interpreter = Interpreter(model_path=path)
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]

    def run(x: np.ndarray) -> np.ndarray:
        results = []
        for image in x:  # the converted graph has a fixed batch of 1
            interpreter.resize_tensor_input(inp["index"], (1, *image.shape))
            interpreter.allocate_tensors()
            interpreter.set_tensor(inp["index"], image[None].astype(np.float32))
            interpreter.invoke()
            results.append(interpreter.get_tensor(out["index"])[0])
        return np.stack(results)

    return run


def _write_onnx(model: Any, path: str) -> None:
    from fracturenet.exceptions import MissingExtraError

    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as err:
        raise MissingExtraError("tf2onnx", "onnx", "Exporting to ONNX") from err
    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="image"),)
    tf2onnx.convert.from_keras(model, input_signature=spec, output_path=path)


def _onnx_runner(path: str) -> Any:
    from fracturenet.exceptions import MissingExtraError

    try:
        import onnxruntime
    except ImportError as err:
        raise MissingExtraError("onnxruntime", "onnx", "Checking an ONNX export") from err
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.astype(np.float32)})[0]


def parity(reference: np.ndarray, exported: np.ndarray, *, quantized: bool) -> dict[str, Any]:
    """Compares the probabilities of the Keras model and of its export.

    Args:
        reference: ``(n, k)`` probabilities of the Keras model.
        exported: ``(n, k)`` probabilities of the exported model on the same images.
        quantized: Whether the export is quantised (then only top-1 agreement is required).

    Returns:
        ``max_abs_diff``, ``top1_agreement``, ``tolerance`` (``None`` when quantised),
        ``passed`` and ``num_images``.

    Example:
        >>> parity(np.array([[.9, .1]]), np.array([[.9, .1]]), quantized=False)["passed"]
        True
    """
    diff = float(np.max(np.abs(reference - exported))) if len(reference) else 0.0
    agree = float(np.mean(reference.argmax(1) == exported.argmax(1))) if len(reference) else 1.0
    ok = agree == 1.0 if quantized else diff <= FLOAT_TOLERANCE
    return {
        "num_images": int(len(reference)),
        "max_abs_diff": diff,
        "top1_agreement": agree,
        "tolerance": None if quantized else FLOAT_TOLERANCE,
        "passed": bool(ok),
    }


def export_model(
    model_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str = "savedmodel",
    quantize: str | None = None,
    sample: Any = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Exports a saved classifier and checks the export against it on sample images.

    The export is written to a temporary path beside ``out`` and moved into place, with
    ``parity.json`` beside it (``<out>.parity.json`` for a ``.tflite`` file, ``out/parity.json``
    in a SavedModel folder), the class names in ``<out>.labels.txt`` or ``out/labels.txt``, and
    the model's input description (:class:`~fracturenet.models.InputSpec`: size, channels,
    resize mode, preprocessing; what a server must do to an image before the exported graph)
    in ``<out>.input_spec.json`` or ``out/input_spec.json``. Sample files are fitted with the
    model's resize mode.

    Args:
        model_path: A ``.keras`` file or a run directory holding ``model.keras``.
        out: Destination: a folder for ``savedmodel``, a ``.tflite`` or ``.onnx`` file.
        format: ``"savedmodel"``, ``"tflite"`` or ``"onnx"``. Defaults to `"savedmodel"`.
        quantize: ``None``, ``"float16"`` or ``"dynamic"`` (TFLite only). Defaults to `None`.
        sample: Images for the parity check: files, a folder or an array (raw 0-255 pixels).
            Defaults to `None`: 8 seeded random images at the input size.
        overwrite: Replace an existing export at ``out``. Defaults to `False`.

    Returns:
        The parity report: format, quantize, path, sample, input_spec, max_abs_diff,
        top1_agreement, tolerance, passed, num_images.

    Raises:
        ValueError: For an unknown ``format``/``quantize``, or ``quantize`` with SavedModel.
        FileExistsError: If ``out`` exists and ``overwrite`` is False.
        MissingExtraError: For ``onnx`` without tf2onnx/onnxruntime installed.
    """
    from fracturenet.inference.predictor import Predictor
    from fracturenet.inference.sources import run_model_path

    _check("format", format, EXPORT_FORMATS)
    if quantize is not None:
        _check("quantize", quantize, QUANTIZE_MODES)
        if format != "tflite":
            raise ValueError(
                "Argument `quantize` applies to format='tflite' only. "
                f"Received: format={format!r}, quantize={quantize!r}"
            )
    target = Path(out)
    if format != "savedmodel" and target.suffix != f".{format}":
        raise ValueError(
            f"Argument `out` must end in '.{format}' for format={format!r}. "
            f"Received: out={str(out)!r}"
        )
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; choose a new path or pass overwrite=True "
            f"(--overwrite). Received: out={str(out)!r}"
        )
    predictor = Predictor.load(run_model_path(model_path), precision="float32")
    if sample is None:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (8, *predictor.input_shape)).astype(np.float32)
        sample_desc = "8 seeded random images"
    else:
        chunks = [images for images in _sample_images(predictor, sample)]
        images = np.concatenate(chunks) if chunks else np.zeros((0, *predictor.input_shape))
        sample_desc = f"{len(images)} images from {sample!s:.200}"
    reference = predictor.predict_arrays(images)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        staged = os.path.join(work, target.name)
        if format == "savedmodel":
            _write_savedmodel(predictor.model, staged)
            got = _savedmodel_runner(staged)(images)
        elif format == "tflite":
            _write_tflite(predictor.model, staged, quantize, work)
            got = _tflite_runner(staged)(images)
        else:
            _write_onnx(predictor.model, staged)
            got = _onnx_runner(staged)(images)
        if got.shape[1] == 1:
            got = np.concatenate([1.0 - got, got], axis=1)
        report = {
            "format": format,
            "quantize": quantize,
            "path": str(target),
            "model": str(model_path),
            "sample": sample_desc,
            "input_spec": predictor.input_spec.to_dict(),
            **parity(reference, got, quantized=quantize is not None),
        }
        labels = "\n".join(predictor.class_names) + "\n"
        spec = json.dumps(predictor.input_spec.to_dict(), indent=2) + "\n"
        if format == "savedmodel":
            Path(staged, "parity.json").write_text(json.dumps(report, indent=2) + "\n")
            Path(staged, "labels.txt").write_text(labels)
            Path(staged, "input_spec.json").write_text(spec)
        _replace(staged, target, overwrite)
        if format != "savedmodel":
            for suffix, text in (
                (".parity.json", json.dumps(report, indent=2) + "\n"),
                (".labels.txt", labels),
                (".input_spec.json", spec),
            ):
                Path(str(target) + suffix).write_text(text)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sample_images(predictor: Any, sample: Any) -> Any:
    from fracturenet.inference.sources import iter_image_files

    spec = predictor.input_spec  # the model's size and resize mode
    if isinstance(sample, np.ndarray):
        yield np.stack([predictor._fit(a) for a in sample]).astype(np.float32)
        return
    from fracturenet.data import load_resized

    for path in iter_image_files(sample):
        yield load_resized(path, spec.size, spec.resize_mode)[None].astype(np.float32)


def _replace(staged: str, target: Path, overwrite: bool) -> None:
    if target.exists():
        if not overwrite:  # appeared while exporting
            raise FileExistsError(
                f"{str(target)!r} appeared during the export; nothing was "
                f"replaced. Received: out={str(target)!r}"
            )
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()
    os.replace(staged, target)
