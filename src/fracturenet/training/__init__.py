"""Training: the two-phase :class:`Trainer`, feature cache, run folders.

Hardware planning (:func:`~fracturenet.hardware.detect_hardware`,
:func:`~fracturenet.hardware.plan_execution`) moved to :mod:`fracturenet.hardware`; the old
names here still work, with a :class:`DeprecationWarning`, as do ``fit_distributed`` and
``predict_local``, internals of the Trainer now imported from
:mod:`fracturenet.training.distributed`.
"""

from fracturenet._deprecation import moved_names
from fracturenet.training.checkpoint import load_checkpoint
from fracturenet.training.feature_cache import FeatureCache, extract_features
from fracturenet.training.history import TrainingHistory, plot_history
from fracturenet.training.rundir import RunDirectory
from fracturenet.training.trainer import Trainer

__all__ = [
    "FeatureCache",
    "RunDirectory",
    "Trainer",
    "TrainingHistory",
    "extract_features",
    "load_checkpoint",
    "plot_history",
]

_MOVED_TO_HARDWARE = (
    "ExecutionPlan",
    "HardwareInfo",
    "apply_plan",
    "detect_hardware",
    "is_chief",
    "plan_execution",
)
# internals that used to be exported: the Trainer's multi-worker helpers
_INTERNAL = {
    "fit_distributed": "fracturenet.training.distributed",
    "predict_local": "fracturenet.training.distributed",
}
__getattr__ = moved_names(
    __name__, {**dict.fromkeys(_MOVED_TO_HARDWARE, "fracturenet.hardware"), **_INTERNAL}
)
