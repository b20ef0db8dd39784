"""fracturenet.explain: heatmaps for a classifier's decisions, overlays, and faithfulness.

The only subpackage that imports tf-keras-vis (lazily, inside functions: it changes the
environment on import).
"""

from fracturenet.data.decode import load_image  # re-exported: explain accepts image files
from fracturenet.explain.cam import METHODS, explain
from fracturenet.explain.compare import (
    DEFAULT_METHODS,
    MethodComparison,
    MethodScore,
    compare_methods,
)
from fracturenet.explain.faithfulness import (
    BASELINES,
    Faithfulness,
    deletion_insertion,
    heat_in_mask_ratio,
    random_heatmaps,
)
from fracturenet.explain.folder import explain_to_folder
from fracturenet.explain.inputs import fit_images
from fracturenet.explain.localisation import (
    LocalisationScores,
    bootstrap_mean,
    brightness_map,
    gaussian_map,
    localisation_scores,
)
from fracturenet.explain.localisation_compare import (
    BASELINE_MAPS,
    LocalisationComparison,
    LocalisationRow,
    compare_localisation,
)
from fracturenet.explain.localisation_report import localisation_report, outline_masks
from fracturenet.explain.overlay import (
    draw_outline,
    outline_colour,
    overlay,
    save_explanation_grid,
)
from fracturenet.explain.results import Explanation, Explanations
from fracturenet.explain.scores import build_score, head_kind, logits_model

__all__ = [
    "BASELINES",
    "BASELINE_MAPS",
    "DEFAULT_METHODS",
    "METHODS",
    "Explanation",
    "Explanations",
    "Faithfulness",
    "LocalisationComparison",
    "LocalisationRow",
    "LocalisationScores",
    "MethodComparison",
    "MethodScore",
    "bootstrap_mean",
    "brightness_map",
    "build_score",
    "compare_localisation",
    "compare_methods",
    "deletion_insertion",
    "draw_outline",
    "explain",
    "explain_to_folder",
    "fit_images",
    "gaussian_map",
    "head_kind",
    "heat_in_mask_ratio",
    "load_image",
    "localisation_report",
    "localisation_scores",
    "logits_model",
    "outline_colour",
    "outline_masks",
    "overlay",
    "random_heatmaps",
    "save_explanation_grid",
]
