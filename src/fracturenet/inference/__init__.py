"""fracturenet.inference: predictions on new images and deployable exports of a trained model.

Example:
    >>> import numpy as np
    >>> from fracturenet.inference import Predictor
    >>> from fracturenet.models import build_classifier
    >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    >>> Predictor(m, precision="float32").predict(np.zeros((2, 32, 32, 3))).probabilities.shape
    (2, 2)
"""

from fracturenet.inference.precision import INFERENCE_PRECISIONS, resolve_precision, with_precision
from fracturenet.inference.predictor import Predictor
from fracturenet.inference.results import PredictionResult
from fracturenet.inference.sources import as_image_batch, iter_image_files, run_model_path

__all__ = [
    "INFERENCE_PRECISIONS",
    "PredictionResult",
    "Predictor",
    "as_image_batch",
    "iter_image_files",
    "resolve_precision",
    "run_model_path",
    "with_precision",
]
