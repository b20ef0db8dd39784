"""fracturenet.inference: predictions on new images and deployable exports of a trained model.

Example:
    >>> import numpy as np
    >>> from fracturenet.inference import Predictor
    >>> from fracturenet.models import build_classifier
    >>> m = build_classifier("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    >>> Predictor(m, precision="float32").predict(np.zeros((2, 32, 32, 3))).probabilities.shape
    (2, 2)
"""

from fracturenet._deprecation import moved_names
from fracturenet.inference.precision import INFERENCE_PRECISIONS
from fracturenet.inference.predictor import Predictor
from fracturenet.inference.results import PredictionResult
from fracturenet.inference.sources import as_image_batch, iter_image_files

__all__ = [
    "INFERENCE_PRECISIONS",
    "PredictionResult",
    "Predictor",
    "as_image_batch",
    "iter_image_files",
]

# internals that used to be exported (the CLI's and the Predictor's helpers)
__getattr__ = moved_names(
    __name__,
    {
        "resolve_precision": "fracturenet.inference.precision",
        "with_precision": "fracturenet.inference.precision",
        "run_model_path": "fracturenet.inference.sources",
    },
)
