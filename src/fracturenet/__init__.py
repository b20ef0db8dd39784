"""fracturenet: bone-fracture classification in X-ray images with transfer learning.

Importing the package is cheap and has no side effects: the public names below are loaded
from their subpackages on first use (TensorFlow is imported only when a name that needs it
is touched). The public surface has one source: ``_LAZY`` (name -> defining module) and
:mod:`fracturenet.exceptions`' ``__all__``; ``__all__`` is made from them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fracturenet import exceptions as _exceptions
from fracturenet._version import __version__
from fracturenet.exceptions import (  # noqa: F401  (re-exported: __all__ is built below)
    CheckpointError,
    ComparisonError,
    DatasetError,
    DiskFullError,
    ExplainError,
    FractureNetError,
    ImageDecodeError,
    MissingExtraError,
    ModelFormatError,
    ResumeMismatchError,
    RunDirectoryExistsError,
    RunLockedError,
    UnknownBackboneError,
    WeightsMismatchError,
    WeightsUnavailableError,
)

# public name -> submodule that defines it (imported on first use)
_LAZY: dict[str, str] = {
    "DataConfig": "fracturenet.config",
    "ModelConfig": "fracturenet.config",
    "TrainerConfig": "fracturenet.config",
    "TrainingConfig": "fracturenet.config",
    "RunConfig": "fracturenet.config",
    "Manifest": "fracturenet.data",
    "discover": "fracturenet.data",
    "load_image": "fracturenet.data",
    "make_dataset": "fracturenet.data",
    "audit": "fracturenet.data",
    "AuditReport": "fracturenet.data",
    "train_val_test_split": "fracturenet.data",
    "group_kfold": "fracturenet.data",
    "make_synthetic_fractures": "fracturenet.phantoms",
    "load_fracture_mask": "fracturenet.phantoms",
    "class_weights": "fracturenet.data",
    "build_classifier": "fracturenet.models",
    "list_backbones": "fracturenet.models",
    "get_backbone": "fracturenet.models",
    "register_backbone": "fracturenet.models",
    "BackboneSpec": "fracturenet.models",
    "save_model": "fracturenet.models",
    "load_model": "fracturenet.models",
    "read_metadata": "fracturenet.models",
    "save_backbone_weights": "fracturenet.models",
    "set_trainable": "fracturenet.models",
    "trainable_summary": "fracturenet.models",
    "imagenet_weights_cached": "fracturenet.models",
    "Trainer": "fracturenet.training",
    "TrainingHistory": "fracturenet.training",
    "plan_execution": "fracturenet.hardware",
    "detect_hardware": "fracturenet.hardware",
    "evaluate": "fracturenet.evaluation",
    "compare": "fracturenet.evaluation",
    "compute_metrics": "fracturenet.evaluation",
    "EvaluationReport": "fracturenet.evaluation",
    "ComparisonResult": "fracturenet.evaluation",
    "fit_temperature": "fracturenet.evaluation",
    "calibrate": "fracturenet.evaluation",
    "overlay": "fracturenet.explain",
    "save_explanation_grid": "fracturenet.explain",
    "explain_to_folder": "fracturenet.explain",
    "compare_methods": "fracturenet.explain",
    "Explanations": "fracturenet.explain",
    "run_demo": "fracturenet.workflows",
    "cross_validate": "fracturenet.workflows",
    "CrossValidationResult": "fracturenet.evaluation",
    "Predictor": "fracturenet.inference",
    "PredictionResult": "fracturenet.inference",
    "export_model": "fracturenet.inference.export",
}

if TYPE_CHECKING:  # pragma: no cover
    from fracturenet.config import (  # noqa: F401
        DataConfig,
        ModelConfig,
        RunConfig,
        TrainerConfig,
        TrainingConfig,
    )
    from fracturenet.data import (  # noqa: F401
        AuditReport,
        Manifest,
        audit,
        class_weights,
        discover,
        group_kfold,
        load_image,
        make_dataset,
        train_val_test_split,
    )
    from fracturenet.evaluation import (  # noqa: F401
        ComparisonResult,
        CrossValidationResult,
        EvaluationReport,
        calibrate,
        compare,
        compute_metrics,
        evaluate,
        fit_temperature,
    )
    from fracturenet.explain import (  # noqa: F401
        Explanations,
        compare_methods,
        explain_to_folder,
        overlay,
        save_explanation_grid,
    )
    from fracturenet.hardware import detect_hardware, plan_execution  # noqa: F401
    from fracturenet.inference import (  # noqa: F401
        PredictionResult,
        Predictor,
    )
    from fracturenet.inference.export import export_model  # noqa: F401
    from fracturenet.models import (  # noqa: F401
        BackboneSpec,
        build_classifier,
        get_backbone,
        imagenet_weights_cached,
        list_backbones,
        load_model,
        read_metadata,
        register_backbone,
        save_backbone_weights,
        save_model,
        set_trainable,
        trainable_summary,
    )
    from fracturenet.phantoms import load_fracture_mask, make_synthetic_fractures  # noqa: F401
    from fracturenet.training import Trainer, TrainingHistory  # noqa: F401
    from fracturenet.workflows import cross_validate, run_demo  # noqa: F401

# one source: the exceptions module's __all__ and the lazy map (tests/test_public_surface.py
# checks that the imports above and under TYPE_CHECKING list exactly these names)
__all__ = ["__version__", *_exceptions.__all__, *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fracturenet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
