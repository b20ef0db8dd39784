"""Workflows: orchestration over the layers below (cross-validation, the end-to-end demo).

A workflow drives the :class:`~fracturenet.training.Trainer`, the evaluation and the
explanations through their public APIs; nothing below this layer imports it. Importing the
package does not import TensorFlow.
"""

from fracturenet.workflows.crossval import cross_validate
from fracturenet.workflows.demo import (
    IMAGENET_PAIR,
    OFFLINE_PAIR,
    QUICK,
    STANDARD,
    DemoResult,
    DemoSettings,
    default_backbones,
    default_cache_dir,
    run_demo,
)

__all__ = [
    "IMAGENET_PAIR",
    "OFFLINE_PAIR",
    "QUICK",
    "STANDARD",
    "DemoResult",
    "DemoSettings",
    "cross_validate",
    "default_backbones",
    "default_cache_dir",
    "run_demo",
]
