"""Pretrained weights: the Keras ImageNet cache (offline-safe) and weights files by name.

``"imagenet"`` weights are taken from the Keras cache (``$KERAS_HOME/models`` or
``~/.keras/models``). When the file is not there, a download is only attempted if the host
answers within a few seconds and ``FRACTURENET_OFFLINE`` is not set; otherwise a
:class:`~fracturenet.exceptions.WeightsUnavailableError` says which file to put where.

Example:
    >>> from fracturenet.models import imagenet_weights_cached
    >>> isinstance(imagenet_weights_cached("vgg16"), bool)
    True
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fracturenet.exceptions import WeightsMismatchError, WeightsUnavailableError
from fracturenet.models.registry import BackboneSpec, get_backbone

__all__ = [
    "WeightsReport",
    "file_sha256",
    "imagenet_weights_cached",
    "imagenet_weights_path",
    "load_weights_by_name",
    "weights_info",
]

#: With ``allow_partial=True``, the fraction of the backbone's weight-carrying layers that must
#: still load from a file (below it the file is for another network). Without it, all must.
MIN_MATCHED_FRACTION = 0.5

# Where each model's weights came from (see weights_info); weak keys, so models still free.
_PROVENANCE: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _keras_models_dirs() -> list[Path]:
    """Where Keras keeps downloaded weights, in the order Keras itself uses them."""
    home = os.environ.get("KERAS_HOME")
    if home:
        return [Path(home).expanduser() / "models"]
    base = Path("~").expanduser()
    dirs = [base / ".keras" / "models"] if os.access(base, os.W_OK) else []
    return [*dirs, Path("/tmp/.keras/models")]


def imagenet_weights_path(backbone: str) -> Path:
    """Returns where Keras caches a backbone's no-top ImageNet weights file.

    Args:
        backbone: Registered backbone name.

    Returns:
        The existing cached file if there is one, else the path Keras would download to.

    Raises:
        UnknownBackboneError: If ``backbone`` is not registered.

    Example:
        >>> from fracturenet.models import imagenet_weights_path
        >>> imagenet_weights_path("vgg16").name
        'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    spec = get_backbone(backbone)
    dirs = _keras_models_dirs()
    for folder in dirs:
        if spec.weights_file and (folder / spec.weights_file).is_file():
            return folder / spec.weights_file
    return dirs[0] / spec.weights_file


def imagenet_weights_cached(backbone: str) -> bool:
    """Tells whether a backbone's ImageNet weights are in the Keras cache (no network).

    Args:
        backbone: Registered backbone name.

    Returns:
        ``True`` if ``build_classifier(backbone, weights="imagenet")`` needs no download.

    Raises:
        UnknownBackboneError: If ``backbone`` is not registered.

    Example:
        >>> from fracturenet.models import imagenet_weights_cached
        >>> imagenet_weights_cached("resnet50") in (True, False)
        True
    """
    spec = get_backbone(backbone)
    return bool(spec.weights_file) and imagenet_weights_path(backbone).is_file()


def _host_reachable(url: str, timeout: float = 3.0) -> bool:
    if os.environ.get("FRACTURENET_OFFLINE", "").strip() not in ("", "0"):
        return False
    host = urlparse(url).hostname
    if not host:
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _unavailable(spec: BackboneSpec, target: Path, why: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"ImageNet weights for backbone {spec.name!r} are not available: {why}. "
        f"Download {spec.weights_url} on a connected machine and copy it to {target} "
        f"(the Keras cache; set KERAS_HOME to use another folder), or pass its path as "
        f"weights='/path/to/{spec.weights_file}', or use weights=None to train from "
        f"scratch. Received: weights='imagenet'"
    )


def _resolve_imagenet_weights(spec: BackboneSpec) -> str:
    """Returns a local path to ``spec``'s ImageNet weights, downloading only if online.

    Raises:
        WeightsUnavailableError: If the file is neither cached nor downloadable now.
    """
    if not spec.weights_file:
        raise WeightsUnavailableError(
            f"Backbone {spec.name!r} declares no ImageNet weights file; pass weights=None "
            "or a path to a weights file. Received: weights='imagenet'"
        )
    target = imagenet_weights_path(spec.name)
    if target.is_file():
        return str(target)
    if not _host_reachable(spec.weights_url):
        raise _unavailable(
            spec,
            target,
            f"{spec.weights_file} is not cached and "
            f"{urlparse(spec.weights_url).hostname} cannot be reached",
        )
    import keras

    try:
        return keras.utils.get_file(
            spec.weights_file,
            spec.weights_url,
            cache_dir=str(target.parent.parent),
            cache_subdir="models",
        )
    except Exception as err:  # network errors come in many types; all mean "unavailable"
        raise _unavailable(spec, target, f"the download failed ({err})") from err


@dataclass(frozen=True)
class WeightsReport:
    """What :func:`load_weights_by_name` loaded.

    Attributes:
        path: The weights file.
        mode: ``"name"`` (legacy/Keras 2 ``.h5``, matched by layer name) or ``"structure"``
            (Keras 3 ``.weights.h5``, which stores no layer names: matched by layer class
            and position, then checked by shape).
        matched: Model layers whose weights were loaded.
        unmatched: Model layers with weights that were not found in the file.
        shape_mismatched: Layers found in the file whose weight shapes differ.
        unused: Entries of the file that no model layer used.
    """

    path: str
    mode: str
    matched: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    shape_mismatched: tuple[str, ...] = ()
    unused: tuple[str, ...] = field(default=(), repr=False)

    @property
    def matched_fraction(self) -> float:
        """Fraction of the weight-carrying layers that loaded."""
        total = len(self.matched) + len(self.unmatched) + len(self.shape_mismatched)
        return len(self.matched) / total if total else 0.0

    @property
    def complete(self) -> bool:
        """Whether every weight-carrying layer (nested blocks included) loaded."""
        return bool(self.matched) and not self.unmatched and not self.shape_mismatched

    def to_dict(self) -> dict[str, Any]:
        """Returns what a report or run folder records about the load (JSON-able).

        Example:
            >>> WeightsReport("w.h5", "name", matched=("a", "b"), unmatched=("c",)).to_dict()[
            ...     "matched_fraction"]
            0.6667
        """
        return {
            "path": self.path,
            "mode": self.mode,
            "matched_fraction": round(self.matched_fraction, 4),
            "partial": not self.complete,
            "unmatched": list(self.unmatched),
            "shape_mismatched": list(self.shape_mismatched),
        }


def _snake(name: str) -> str:  # same rule as keras.src.utils.naming.to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _nested_vars(group: Any, layer: Any) -> list[Any] | None:
    """A Keras 3 file's arrays for ``layer`` in the order of ``layer.weights``.

    Keras 3 stores a layer's own variables under ``vars`` and those of the layers it contains
    (e.g. ConvNeXt's stem and downsampling blocks, which are ``Sequential`` models) under
    ``layers/<snake_class_name>[_<n>]``. Returns ``None`` if a sublayer with weights is missing.
    """
    own = group.get("vars")
    values = [own[str(i)][()] for i in range(len(own))] if own is not None else []
    sublayers = [s for s in getattr(layer, "layers", None) or () if s is not layer]
    if not sublayers:
        return values
    children = group.get("layers")
    counters: dict[str, int] = {}
    for sub in sublayers:
        base = _snake(type(sub).__name__)
        n = counters.get(base, -1) + 1
        counters[base] = n
        child = None if children is None else children.get(base if n == 0 else f"{base}_{n}")
        if child is None:
            if sub.weights:
                return None
            continue
        inner = _nested_vars(child, sub)
        if inner is None:
            return None
        values += inner
    return values


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Returns the SHA-256 hex digest of a file, read in 1 MiB chunks.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b"abc")
        >>> file_sha256(f.name)[:12]
        'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_info(model: Any) -> dict[str, Any] | None:
    """Returns where a classifier's backbone weights came from, or ``None`` if unknown.

    Set by ``build_classifier`` and ``load_model`` (from the saved metadata): ``source``
    (``"imagenet"``, ``"none"`` for random initialisation, or ``"file"``), and for files the
    ``path``, ``sha256``, ``matched_fraction`` and ``partial`` flag of the load.

    Example:
        >>> from fracturenet.models import build_classifier
        >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
        >>> weights_info(m)["source"]
        'none'
    """
    return _PROVENANCE.get(model)


def _remember(model: Any, info: dict[str, Any] | None) -> None:
    if info is not None:
        _PROVENANCE[model] = dict(info)


def _read_file(path: Path, layers: list[Any]) -> tuple[str, dict[str, list[Any]]]:
    """Returns (mode, {model layer name or file key: arrays}) for the given layers."""
    import h5py

    arrays: dict[str, list[Any]] = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in group.attrs:  # Keras 2 / legacy h5: keyed by layer name
            for raw in group.attrs["layer_names"]:
                lname = raw.decode() if isinstance(raw, bytes) else str(raw)
                g = group[lname]
                names = [
                    n.decode() if isinstance(n, bytes) else n
                    for n in g.attrs.get("weight_names", [])
                ]
                if names:
                    arrays[lname] = [g[n][()] for n in names]
            return "name", arrays
        if "layers" in group:  # Keras 3: keyed by class name and position
            counters: dict[str, int] = {}
            for layer in layers:
                base = _snake(type(layer).__name__)
                n = counters.get(base, -1) + 1
                counters[base] = n
                key = base if n == 0 else f"{base}_{n}"
                g = group["layers"].get(key)
                values = None if g is None else _nested_vars(g, layer)
                if values:
                    arrays[layer.name] = values
            return "structure", arrays
    raise WeightsMismatchError(
        f"{path} is not a Keras weights file (no 'layer_names' or 'layers' entries). "
        f"Pass a .h5 or .weights.h5 file saved by Keras. Received: weights={str(path)!r}"
    )


def _auto_name(name: str, layer_class: str) -> bool:
    """Whether ``name`` is Keras' automatic name for a layer of this class (``dense_3``)."""
    return re.fullmatch(re.escape(_snake(layer_class)) + r"(_\d+)?", name) is not None


def _auto_named_matches(layers: list[Any], arrays: dict[str, list[Any]]) -> dict[str, str]:
    """Pairs auto-named model layers with the file's auto-named entries of the same class.

    Keras numbers unnamed layers per process (``conv2d_94`` in the first InceptionV3 built,
    ``conv2d_188`` in the second), so a backbone with unnamed layers (InceptionV3's convs,
    ConvNeXt's last LayerNormalization) saved in one process and rebuilt in another differs
    in those names, and a shifted name may even denote another layer of the file. Such layers
    are paired in order, class by class, when the model and the file hold the same number of
    them; named layers match by name only.
    """
    pairs: dict[str, str] = {}
    for cls in dict.fromkeys(type(la).__name__ for la in layers):
        mine = [la.name for la in layers if type(la).__name__ == cls and la.weights
                and _auto_name(la.name, cls)]  # fmt: skip
        theirs = [k for k in arrays if _auto_name(k, cls)]  # the file keeps model order
        if mine and len(mine) == len(theirs):
            pairs.update(zip(mine, theirs, strict=True))
    return pairs


def load_weights_by_name(
    model: Any,
    path: str | os.PathLike[str],
    *,
    layers: list[Any] | None = None,
    allow_partial: bool = False,
) -> WeightsReport:
    """Loads a weights file into matching layers of ``model``: all of them, or nothing.

    Legacy ``.h5`` files (Keras 2, full or no-top, e.g. RadImageNet's ResNet50 and
    DenseNet121 files) are matched by layer name. Keras 3 ``.weights.h5`` files store no
    layer names and are matched by layer class and order, nested blocks included. Every match
    is shape-checked. A model that claims pretrained weights but is partly random is the
    worst kind of wrong number, so by default every weight-carrying layer must match.

    Args:
        model: The Keras model to fill.
        path: The weights file.
        layers: The layers to fill, in model order. Defaults to every layer of ``model``.
        allow_partial: Load the layers that match even if some do not (they keep their
            random initialisation; a warning gives the matched fraction, which the report
            records). At least half must still match. Defaults to `False`.

    Returns:
        A :class:`WeightsReport`.

    Raises:
        WeightsUnavailableError: If ``path`` does not exist.
        WeightsMismatchError: If a weight-carrying layer did not load (or, with
            ``allow_partial``, fewer than half did); then nothing is changed.

    Example:
        >>> import keras, tempfile, os
        >>> from fracturenet.models import load_weights_by_name
        >>> m = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
        >>> path = os.path.join(tempfile.mkdtemp(), "vgg.weights.h5")
        >>> m.save_weights(path)
        >>> load_weights_by_name(m, path).matched_fraction
        1.0
    """
    file = Path(path)
    if not file.is_file():
        raise WeightsUnavailableError(
            f"Weights file {str(file)!r} does not exist. Pass an existing .h5 or .weights.h5 "
            f"file, 'imagenet' or None. Received: weights={str(path)!r}"
        )
    layers = list(model.layers if layers is None else layers)
    mode, arrays = _read_file(file, layers)
    auto = _auto_named_matches(layers, arrays) if mode == "name" else {}
    matched, unmatched, mismatched, plan = [], [], [], []
    for layer in layers:
        if not layer.weights:
            continue
        values = arrays.get(auto.get(layer.name, layer.name))
        if values is None:
            unmatched.append(layer.name)
        elif [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
            mismatched.append(layer.name)
        else:
            matched.append(layer.name)
            plan.append((layer, values))
    used = {auto.get(n, n) for n in matched + mismatched}
    report = WeightsReport(
        path=str(file),
        mode=mode,
        matched=tuple(matched),
        unmatched=tuple(unmatched),
        shape_mismatched=tuple(mismatched),
        unused=tuple(k for k in arrays if k not in used),
    )
    total = len(matched) + len(unmatched) + len(mismatched)
    if not report.complete and (
        not allow_partial or report.matched_fraction < MIN_MATCHED_FRACTION
    ):
        way_out = (
            ""
            if allow_partial or report.matched_fraction < MIN_MATCHED_FRACTION
            else " or pass allow_partial=True to keep the rest random (recorded as partial)"
        )
        raise WeightsMismatchError(
            f"Only {len(matched)} of {total} layers with weights could be loaded from "
            f"{str(file)!r} (matched by {mode}, {report.matched_fraction:.1%}); nothing was "
            f"loaded. Not found: {unmatched[:5]}; wrong shapes: {mismatched[:5]}. Pass a "
            f"weights file made for this backbone{way_out}. Received: weights={str(path)!r}"
        )
    if not report.complete:
        warnings.warn(
            f"Partial weights: {len(matched)} of {total} layers ({report.matched_fraction:.1%}) "
            f"loaded from {str(file)!r}; {unmatched[:5] + mismatched[:5]} keep their random "
            "initialisation. This is recorded in the model's metadata and reports.",
            UserWarning,
            stacklevel=2,
        )
    for layer, values in plan:
        for variable, value in zip(layer.weights, values, strict=True):
            variable.assign(value)
    return report
