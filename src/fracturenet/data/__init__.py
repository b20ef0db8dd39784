"""Data layer: discovery of images and labels, decoding, splits, audit, tf.data pipeline.

The synthetic phantom generator (:mod:`fracturenet.data.synthetic`) lives here too.
"""

from fracturenet.data.audit import audit, group_duplicates
from fracturenet.data.audit_report import AuditReport, ImageRecord
from fracturenet.data.manifest import Manifest
from fracturenet.data.splits import group_kfold, train_val_test_split
from fracturenet.data.synthetic import (
    PHANTOM_CLASSES,
    load_fracture_mask,
    make_synthetic_fractures,
    render_phantom,
)

__all__ = [
    "PHANTOM_CLASSES",
    "AuditReport",
    "ImageRecord",
    "Manifest",
    "audit",
    "group_duplicates",
    "group_kfold",
    "load_fracture_mask",
    "make_synthetic_fractures",
    "render_phantom",
    "train_val_test_split",
]
