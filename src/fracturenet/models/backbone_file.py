"""Saving a trained backbone for transfer learning: the backbone weights file format.

A model trained by the library (on phantoms, or on a hospital's own archive) can become the
starting point of another: :func:`save_backbone_weights` writes the weights of its backbone
layers, without the head, and ``build_classifier(backbone, weights=PATH)`` loads them into a
new classifier with any number of classes and its own head.

The file format is the one Keras 2 used for ``model.save_weights("x.h5")`` and that
``keras.applications`` ships its no-top ImageNet weights in, so one loader serves both:

* an HDF5 file whose root attribute ``layer_names`` lists the backbone's layers that carry
  weights, in model order;
* one group per layer, named after the layer, whose attribute ``weight_names`` lists its
  variables (``"<layer>/kernel:0"``, ...) and which holds one dataset per variable;
* root attributes that say where the weights come from: ``fracturenet_backbone`` (the
  registry name), ``fracturenet_input_shape``, ``fracturenet_source`` (free text, e.g. the
  task it was trained on) and ``fracturenet_version``.

Layers are matched by name, so the file loads into the same backbone at any input size
(the convolution weights do not depend on it).

Example:
    >>> import os, tempfile
    >>> from fracturenet.models import build_classifier, save_backbone_weights
    >>> m = build_classifier("vgg16", num_classes=3, input_shape=(32, 32, 3), weights=None)
    >>> path = save_backbone_weights(m, os.path.join(tempfile.mkdtemp(), "vgg16.h5"),
    ...                              source="example")
    >>> m2 = build_classifier("vgg16", num_classes=5, input_shape=(48, 48, 1), weights=path)
    >>> import numpy as np
    >>> bool(np.allclose(m.get_layer("block5_conv3").kernel, m2.get_layer("block5_conv3").kernel))
    True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fracturenet.models.layout import backbone_layers, backbone_of

__all__ = ["save_backbone_weights", "read_backbone_info"]


def save_backbone_weights(
    model: Any, path: str | os.PathLike[str], *, source: str = "", overwrite: bool = False
) -> Path:
    """Writes the backbone layers' weights of a classifier to a weights file.

    Args:
        model: A model from ``build_classifier`` or ``load_model`` (trained or not).
        path: The file to write; it must end in ``.h5``.
        source: Where the weights come from, stored in the file (e.g. ``"phantoms, 4
            classes, 20 epochs"``). Defaults to `""`.
        overwrite: Replace an existing file. Defaults to `False`.

    Returns:
        The path written.

    Raises:
        ValueError: If ``path`` does not end in ``.h5`` or exists and ``overwrite`` is off.
        ModelFormatError: If ``model`` lacks the fracturenet layer layout.
    """
    import h5py
    import numpy as np

    from fracturenet._version import __version__

    target = Path(path)
    if not str(target).endswith(".h5"):
        raise ValueError(
            "Argument `path` must end in .h5 (the file that build_classifier(weights=...) "
            f"reads). Received: path={str(path)!r}"
        )
    if target.exists() and not overwrite:
        raise ValueError(
            f"{str(target)!r} exists; pass overwrite=True to replace it, or choose another "
            f"path. Received: path={str(path)!r}"
        )
    name = backbone_of(model)
    layers = [layer for layer in backbone_layers(model) if layer.weights]

    def write(tmp: str) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["layer_names"] = np.array([layer.name.encode() for layer in layers])
            f.attrs["backend"] = b"tensorflow"
            f.attrs["fracturenet_backbone"] = name
            f.attrs["fracturenet_input_shape"] = list(model.input_shape[1:])
            f.attrs["fracturenet_source"] = source
            f.attrs["fracturenet_version"] = __version__
            for layer in layers:
                group = f.create_group(layer.name)
                names = [f"{layer.name}/{w.path.split('/')[-1]}:0" for w in layer.weights]
                group.attrs["weight_names"] = np.array([n.encode() for n in names])
                for n, w in zip(names, layer.weights, strict=True):
                    group.create_dataset(n, data=np.asarray(w.numpy(), dtype="float32"))

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:  # a complete file or none: never a half-written one under the final name
        write(str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_backbone_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads the provenance attributes of a backbone weights file.

    Args:
        path: A file written by :func:`save_backbone_weights` (other Keras ``.h5`` files give
            an empty dict).

    Returns:
        ``{"backbone", "input_shape", "source", "version", "layers"}`` for a fracturenet
        file; ``{}`` otherwise.

    Example:
        >>> import os, tempfile
        >>> from fracturenet.models import build_classifier, save_backbone_weights
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> p = save_backbone_weights(m, os.path.join(tempfile.mkdtemp(), "b.h5"), source="x")
        >>> info = read_backbone_info(p)
        >>> info["backbone"], info["input_shape"], info["source"], info["layers"]
        ('vgg16', [32, 32, 3], 'x', 13)
    """
    import h5py

    with h5py.File(path, "r") as f:
        if "fracturenet_backbone" not in f.attrs:
            return {}

        def text(key: str) -> str:
            value = f.attrs[key]
            return value.decode() if isinstance(value, bytes) else str(value)

        return {
            "backbone": text("fracturenet_backbone"),
            "input_shape": [int(v) for v in f.attrs["fracturenet_input_shape"]],
            "source": text("fracturenet_source"),
            "version": text("fracturenet_version"),
            "layers": len(f.attrs["layer_names"]),
        }
