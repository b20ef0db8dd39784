"""Saving and loading classifiers as ``.keras`` files with embedded fracturenet metadata.

The metadata (class names, backbone, the input description, training config, versions)
is stored as an extra ``fracturenet.json`` entry inside the ``.keras`` zip, so the model
and what it means travel as one file.

Example:
    >>> import os, tempfile
    >>> from fracturenet.models import build_classifier, load_model, read_metadata, save_model
    >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
    >>> save_model(m, path, class_names=["normal", "fracture"])
    >>> read_metadata(path)["class_names"], read_metadata(path)["backbone"]
    (['normal', 'fracture'], 'vgg16')
    >>> load_model(path).output_shape
    (None, 2)
    >>> read_metadata(path)["input_spec"]["resize_mode"]
    'letterbox'
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import keras

from fracturenet._version import __version__
from fracturenet.exceptions import ModelFormatError
from fracturenet.models import preprocessing as _preprocessing  # noqa: F401  (0.1 models' layers)
from fracturenet.models.decision import (
    DecisionThreshold,
    decision_threshold_of,
    remember_decision_threshold,
)
from fracturenet.models.input_spec import _remember_input_spec, check_resize_mode, input_spec
from fracturenet.models.layout import backbone_of
from fracturenet.models.provenance import remember_training_data, training_data_of
from fracturenet.models.registry import get_backbone
from fracturenet.models.weights import _remember, weights_info

__all__ = ["METADATA_ENTRY", "FORMAT_VERSION", "load_model", "read_metadata", "save_model"]

#: Name of the metadata entry inside the ``.keras`` zip.
METADATA_ENTRY = "fracturenet.json"
#: ``major.minor`` of the metadata layout; files with a newer major are refused. 1.1 adds
#: ``input_spec`` (files without it are resolved by :func:`~fracturenet.models.input_spec`).
FORMAT_VERSION = "1.1"


def save_model(
    model: keras.Model,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    include_optimizer: bool = False,
    **metadata: Any,
) -> None:
    """Saves a classifier to a ``.keras`` file with fracturenet metadata, atomically.

    The file is written to a temporary name in the same folder and moved into place, so
    an interrupted save never leaves a half-written model behind. By default the file holds
    the model without its optimizer state (Adam's two slots per weight would triple its
    size); the Trainer's checkpoints keep that state for resuming.

    Args:
        model: A model from ``build_classifier`` (or ``load_model``).
        path: Destination ending in ``.keras``.
        overwrite: Replace an existing file. Defaults to `False`.
        include_optimizer: Keep a compiled model's optimizer state in the file.
            Defaults to `False`.
        **metadata: JSON-serialisable extras, e.g. ``class_names=[...]``,
            ``training_config={...}``. ``backbone``, ``input_spec`` (the model's
            :class:`~fracturenet.models.InputSpec`, see :func:`~fracturenet.models.input_spec`)
            with its ``input_shape``, ``preprocessing`` and ``resize_mode`` repeated for
            readers of format 1.0, ``num_outputs``, ``fracturenet_version``,
            ``keras_version``, ``weights`` (where the backbone weights came from, when known)
            and ``format_version`` are filled in automatically, and ``training_data`` (content
            digests of the images the Trainer fitted and selected the model on, see
            :func:`~fracturenet.models.provenance.training_data_of`) when the model has it,
            and ``decision_threshold`` (a binary model's cut-off chosen on validation data,
            see :func:`~fracturenet.models.decision.decision_threshold_of`) when it has one.

            Passing ``resize_mode=`` is deprecated (it is part of the model's input
            description now): it still overrides the recorded mode, with a
            ``DeprecationWarning``; build or train the model with the mode instead.

    Raises:
        ValueError: If ``path`` does not end in ``.keras`` or metadata is not JSON-able.
        FileExistsError: If ``path`` exists and ``overwrite`` is False.
        ModelFormatError: If the model was not built by ``build_classifier``.

    Example:
        >>> import os, tempfile
        >>> from fracturenet.models import build_classifier, save_model
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
        >>> save_model(m, path)
        >>> save_model(m, path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileExistsError: ... already exists; pass overwrite=True to replace it. ...
    """
    target = Path(path)
    if target.suffix != ".keras":
        raise ValueError(f"Argument `path` must end in '.keras'. Received: path={str(path)!r}")
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it. "
            f"Received: path={str(path)!r}, overwrite=False"
        )
    backbone = backbone_of(model)
    spec = input_spec(model)
    if "resize_mode" in metadata:  # fracturenet <= 0.1 took it as free-form metadata
        warnings.warn(
            "Passing `resize_mode` to save_model is deprecated: it is part of the model's "
            "input description. Pass it to build_classifier or Trainer.fit instead. "
            f"Received: resize_mode={metadata['resize_mode']!r}",
            DeprecationWarning,
            stacklevel=2,
        )
        spec = spec.replace(resize_mode=check_resize_mode(metadata.pop("resize_mode")))
    info = {
        "format_version": FORMAT_VERSION,
        "fracturenet_version": __version__,
        "keras_version": keras.__version__,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "backbone": backbone,
        "input_spec": spec.to_dict(),
        # format 1.0's keys, for older readers: the same values as input_spec
        "preprocessing": get_backbone(backbone).preprocessing,
        "input_shape": list(spec.shape),
        "resize_mode": spec.resize_mode,
        "num_outputs": int(model.output_shape[-1]),
    }
    if weights_info(model) is not None:  # where the backbone weights came from
        info["weights"] = weights_info(model)
    clash = sorted(set(metadata) & set(info))
    if clash:
        raise ValueError(
            f"Metadata keys {clash} are filled in automatically; leave them out. "
            f"Received: {dict((k, metadata[k]) for k in clash)}"
        )
    info.update(metadata)
    if "training_data" not in info and training_data_of(model) is not None:
        info["training_data"] = training_data_of(model)  # recorded by the Trainer
    if "decision_threshold" not in info and decision_threshold_of(model) is not None:
        info["decision_threshold"] = decision_threshold_of(model).to_dict()
    try:
        text = json.dumps(info, indent=2, sort_keys=True)
    except TypeError as err:
        raise ValueError(
            f"Metadata must be JSON-serialisable ({err}). Received: metadata keys "
            f"{sorted(metadata)}"
        ) from err
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".keras", prefix=f".{target.stem}.", dir=target.parent)
    os.close(fd)
    try:
        if getattr(model, "optimizer", None) is not None and not include_optimizer:
            bare = keras.Model.from_config(model.get_config())  # uncompiled twin
            bare.set_weights(model.get_weights())
            bare.save(tmp, overwrite=True)
        else:
            model.save(tmp, overwrite=True)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(METADATA_ENTRY, text)
        if overwrite:
            os.replace(tmp, target)
        else:  # os.link fails if the target appeared meanwhile: no silent clobbering
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise FileExistsError(
                    f"{str(target)!r} already exists; pass overwrite=True to replace it. "
                    f"Received: path={str(path)!r}, overwrite=False"
                ) from None
            except OSError:  # filesystems without hard links
                os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads the fracturenet metadata of a saved model without loading the model.

    Args:
        path: A ``.keras`` file written by :func:`save_model`.

    Returns:
        The metadata dictionary.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ModelFormatError: If it is not a ``.keras`` zip, has no fracturenet metadata or
            was written by a newer, incompatible metadata format.

    Example:
        >>> from fracturenet.models import read_metadata
        >>> read_metadata("missing.keras")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: Model file 'missing.keras' does not exist. ...
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"Model file {str(file)!r} does not exist. Pass a .keras file written by "
            f"fracturenet.models.save_model. Received: path={str(path)!r}"
        )
    try:
        with zipfile.ZipFile(file) as archive:
            if METADATA_ENTRY not in archive.namelist():
                raise ModelFormatError(
                    f"{str(file)!r} has no fracturenet metadata ({METADATA_ENTRY}); it was not "
                    "saved with fracturenet.models.save_model. Load it with "
                    "keras.saving.load_model and re-save it with save_model(model, path, "
                    f"class_names=[...]). Received: path={str(path)!r}"
                )
            info = json.loads(archive.read(METADATA_ENTRY))
    except (zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ModelFormatError(
            f"{str(file)!r} is not a readable .keras model file ({err}). "
            f"Received: path={str(path)!r}"
        ) from err
    found = str(info.get("format_version", ""))
    try:
        major = int(found.split(".")[0])
    except ValueError:
        major = None
    if major is None or major > int(FORMAT_VERSION.split(".")[0]):
        raise ModelFormatError(
            f"{str(file)!r} was saved with metadata format {found or 'unknown'!r} by "
            f"fracturenet {info.get('fracturenet_version', 'unknown')}, which this fracturenet "
            f"({__version__}, format {FORMAT_VERSION}) cannot read. Upgrade fracturenet "
            f"(pip install -U fracturenet). Received: path={str(path)!r}"
        )
    return info


def load_model(path: str | os.PathLike[str], *, compile: bool = False) -> keras.Model:
    """Loads a classifier saved by :func:`save_model`, with ``safe_mode=True``.

    Args:
        path: A ``.keras`` file written by :func:`save_model`.
        compile: Restore the optimizer and loss too. Defaults to `False`.

    Returns:
        The model, carrying its input description (:func:`~fracturenet.models.input_spec`;
        for files saved before it was recorded, resolved from the model and its metadata)
        and, when saved with one, its decision threshold
        (:func:`~fracturenet.models.decision.decision_threshold_of`).
        Use :func:`read_metadata` for class names and the rest.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ModelFormatError: If the metadata is missing or from an incompatible version.

    Example:
        >>> from fracturenet.models import load_model
        >>> load_model("missing.keras")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: Model file 'missing.keras' does not exist. ...
    """
    info = read_metadata(path)
    model = keras.saving.load_model(str(path), compile=compile, safe_mode=True)
    _remember(model, info.get("weights"))
    remember_training_data(model, info.get("training_data"))
    if info.get("decision_threshold") is not None:
        remember_decision_threshold(model, DecisionThreshold.from_dict(info["decision_threshold"]))
    if info.get("input_spec") is not None or "input_shape" in info:
        _remember_input_spec(model, input_spec(info))
    return model
