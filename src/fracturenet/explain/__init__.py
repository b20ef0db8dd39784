"""fracturenet.explain: heatmaps for a classifier's decisions, overlays, and faithfulness.

The only subpackage that imports tf-keras-vis (lazily, inside functions: it changes the
environment on import).
"""

from fracturenet.explain.cam import METHODS, Explanation, Explanations, explain
from fracturenet.explain.scores import build_model_modifiers, build_score, head_kind

__all__ = [
    "METHODS",
    "Explanation",
    "Explanations",
    "explain",
    "head_kind",
    "build_score",
    "build_model_modifiers",
]
