"""Data layer: discovery of images and labels, decoding, splits, audit, tf.data pipeline.

The synthetic phantom generator (:mod:`fracturenet.data.synthetic`) lives here too.
"""

from fracturenet.data.audit import audit, group_duplicates
from fracturenet.data.audit_report import AuditReport, ImageRecord
from fracturenet.data.manifest import Manifest
from fracturenet.data.splits import group_kfold, train_val_test_split

__all__ = [
    "AuditReport",
    "ImageRecord",
    "Manifest",
    "audit",
    "group_duplicates",
    "group_kfold",
    "train_val_test_split",
]
