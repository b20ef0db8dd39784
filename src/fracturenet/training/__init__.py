"""Training: the two-phase :class:`Trainer`, hardware planning, feature cache, run folders."""

from fracturenet.training.feature_cache import FeatureCache, extract_features
from fracturenet.training.hardware import (
    ExecutionPlan,
    HardwareInfo,
    apply_plan,
    detect_hardware,
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
    "plan_execution",
    "plot_history",
]
