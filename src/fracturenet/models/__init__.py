"""fracturenet.models: backbone registry, ``build_classifier``, weights, fine-tuning, the
model's input description (``InputSpec``), I/O.

Example:
    >>> from fracturenet.models import build_classifier, get_backbone
    >>> spec = get_backbone("densenet121")
    >>> model = build_classifier("densenet121", num_classes=3, input_shape=(32, 32, 3),
    ...                          weights=None)
    >>> len(model.get_layer(spec.cam_layer).output.shape)
    4
"""

from fracturenet.models.backbone_file import read_backbone_info, save_backbone_weights
from fracturenet.models.decision import (
    DecisionThreshold,
    choose_threshold,
    decision_threshold_of,
)
from fracturenet.models.factory import POOLINGS, build_classifier, split_feature_extractor
from fracturenet.models.finetune import block_start_index, set_trainable, trainable_summary
from fracturenet.models.fold import fold_batchnorm
from fracturenet.models.input_spec import InputSpec, input_spec
from fracturenet.models.io import load_model, read_metadata, save_model
from fracturenet.models.layout import HEAD_LAYERS, backbone_layers, backbone_of
from fracturenet.models.losses import SparseCategoricalCrossentropyWithSmoothing
from fracturenet.models.preprocessing import (
    BackbonePreprocessing,
    GrayscaleToRGB,
    preprocessing_layer,
)
from fracturenet.models.registry import (
    PREPROCESSING_MODES,
    BackboneSpec,
    get_backbone,
    list_backbones,
    register_backbone,
)
from fracturenet.models.small_cnn import SmallCNN
from fracturenet.models.weights import (
    WeightsReport,
    file_sha256,
    imagenet_weights_cached,
    imagenet_weights_path,
    load_weights_by_name,
    weights_info,
)

__all__ = [
    "HEAD_LAYERS",
    "POOLINGS",
    "PREPROCESSING_MODES",
    "BackbonePreprocessing",
    "BackboneSpec",
    "DecisionThreshold",
    "GrayscaleToRGB",
    "InputSpec",
    "SmallCNN",
    "SparseCategoricalCrossentropyWithSmoothing",
    "WeightsReport",
    "backbone_layers",
    "backbone_of",
    "preprocessing_layer",
    "block_start_index",
    "build_classifier",
    "choose_threshold",
    "decision_threshold_of",
    "file_sha256",
    "fold_batchnorm",
    "get_backbone",
    "imagenet_weights_cached",
    "imagenet_weights_path",
    "input_spec",
    "list_backbones",
    "load_model",
    "load_weights_by_name",
    "read_backbone_info",
    "read_metadata",
    "register_backbone",
    "save_backbone_weights",
    "save_model",
    "set_trainable",
    "split_feature_extractor",
    "trainable_summary",
    "weights_info",
]
