"""fracturenet: bone-fracture classification in X-ray images with transfer learning.

Importing the package is cheap and has no side effects: the public names below are loaded
from their subpackages on first use (TensorFlow is imported only when a name that needs it
is touched).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fracturenet._version import __version__
from fracturenet.exceptions import (
    ComparisonError,
    DatasetError,
    ExplainError,
    FractureNetError,
    ImageDecodeError,
    MissingExtraError,
    ModelFormatError,
    RunDirectoryExistsError,
    UnknownBackboneError,
    WeightsMismatchError,
    WeightsUnavailableError,
)

# public name -> submodule that defines it
_LAZY: dict[str, str] = {
    "DataConfig": "fracturenet.config",
    "ModelConfig": "fracturenet.config",
    "TrainingConfig": "fracturenet.config",
    "RunConfig": "fracturenet.config",
    "Manifest": "fracturenet.data",
}

if TYPE_CHECKING:  # pragma: no cover
    from fracturenet.config import DataConfig, ModelConfig, RunConfig, TrainingConfig
    from fracturenet.data import Manifest

__all__ = [
    "__version__",
    "ComparisonError",
    "DatasetError",
    "ExplainError",
    "FractureNetError",
    "ImageDecodeError",
    "MissingExtraError",
    "ModelFormatError",
    "RunDirectoryExistsError",
    "UnknownBackboneError",
    "WeightsMismatchError",
    "WeightsUnavailableError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fracturenet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
