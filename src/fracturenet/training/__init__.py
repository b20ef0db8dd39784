"""Training: the two-phase :class:`Trainer`, hardware planning, feature cache, run folders."""

from fracturenet.training.checkpoint import load_checkpoint
from fracturenet.training.distributed import fit_distributed, predict_local
from fracturenet.training.feature_cache import FeatureCache, extract_features
from fracturenet.training.hardware import (
    ExecutionPlan,
    HardwareInfo,
    apply_plan,
    detect_hardware,
    is_chief,
    plan_execution,
)
from fracturenet.training.history import TrainingHistory, plot_history
from fracturenet.training.rundir import RunDirectory
from fracturenet.training.trainer import Trainer

__all__ = [
    "ExecutionPlan",
    "FeatureCache",
    "HardwareInfo",
    "RunDirectory",
    "Trainer",
    "TrainingHistory",
    "apply_plan",
    "detect_hardware",
    "extract_features",
    "fit_distributed",
    "is_chief",
    "load_checkpoint",
    "plan_execution",
    "plot_history",
    "predict_local",
]
