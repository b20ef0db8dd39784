"""Data layer: discovery of images and labels, decoding, splits, audit, tf.data pipeline.

Importing this package does not import TensorFlow or Keras; :func:`make_dataset` and
:func:`build_augmentation` import them when called.
"""

from fracturenet._deprecation import moved_names
from fracturenet.data.annotations import (
    ImageAnnotation,
    annotation_mask,
    annotations_for,
    fit_mask,
    read_coco,
    read_yolo,
)
from fracturenet.data.audit import audit, group_duplicates
from fracturenet.data.audit_report import AuditReport, ImageRecord
from fracturenet.data.augment import AUGMENT_PRESETS, build_augmentation
from fracturenet.data.class_weighting import (
    CLASS_WEIGHT_MODES,
    SKEW_RATIO,
    class_weight_choice,
    class_weights,
    imbalance_ratio,
)
from fracturenet.data.csv_manifest import read_csv_manifest
from fracturenet.data.decode import DEFAULT_MAX_PIXELS, load_image
from fracturenet.data.dicom import load_dicom
from fracturenet.data.discovery import IMAGE_EXTENSIONS, discover
from fracturenet.data.load_resized import load_resized
from fracturenet.data.manifest import Manifest, normalise_split
from fracturenet.data.metadata import join_metadata
from fracturenet.data.pipeline import DecodeReport, make_dataset, skipped_files
from fracturenet.data.resize import RESIZE_MODES, resize_geometry, resize_image, restore_geometry
from fracturenet.data.splits import group_kfold, train_val_test_split

__all__ = [
    "AUGMENT_PRESETS",
    "CLASS_WEIGHT_MODES",
    "SKEW_RATIO",
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "RESIZE_MODES",
    "AuditReport",
    "DecodeReport",
    "ImageAnnotation",
    "ImageRecord",
    "Manifest",
    "annotation_mask",
    "annotations_for",
    "audit",
    "build_augmentation",
    "class_weight_choice",
    "class_weights",
    "imbalance_ratio",
    "discover",
    "fit_mask",
    "group_duplicates",
    "group_kfold",
    "join_metadata",
    "load_dicom",
    "load_image",
    "load_resized",
    "make_dataset",
    "normalise_split",
    "read_coco",
    "read_csv_manifest",
    "read_yolo",
    "resize_geometry",
    "resize_image",
    "restore_geometry",
    "skipped_files",
    "train_val_test_split",
]

# The phantom generator moved to fracturenet.phantoms (a layer above data); the old names are
# served lazily, so importing the data layer does not import the phantoms.
_MOVED_TO_PHANTOMS = (
    "PHANTOM_CLASSES",
    "load_fracture_mask",
    "make_synthetic_fractures",
    "render_phantom",
)
__getattr__ = moved_names(__name__, dict.fromkeys(_MOVED_TO_PHANTOMS, "fracturenet.phantoms"))
