"""Sphinx configuration for the fracturenet documentation.

Build: ``PYTHONPATH=src python -m sphinx -W -b html docs docs/_build/html`` (warnings are
errors). The examples in ``examples/`` run in ``--quick`` mode during the build
(``docs/_ext/run_examples.py``); ``FRACTURENET_DOCS_EXAMPLES=skip`` leaves them out.
"""

from __future__ import annotations

import os
import socket
import sys
from importlib import metadata

sys.path.insert(0, os.path.abspath("../src"))
sys.path.insert(0, os.path.abspath("_ext"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

project = "fracturenet"
author = "fracturenet developers"
copyright = "2026, fracturenet developers"
try:
    release = metadata.version("fracturenet")
except metadata.PackageNotFoundError:
    release = "0.0.0+unknown"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "run_examples",
    "guide_run",
    "constants",
    "cli_help",
    "page_check",
]
autosummary_generate = True
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
templates_path: list[str] = []
exclude_patterns = ["_build", "_ext"]
# Cross-references to types of other projects that have no inventory offline stay plain text.
nitpicky = False

# The examples executed during the build: (script in examples/, page title).
fracturenet_examples = [
    ("demo_api.py", "The demo through the API"),
    ("train_on_folder.py", "Train on a folder"),
    ("audit_dataset.py", "Audit a dataset"),
    ("explain_predictions.py", "Explain predictions"),
    ("compare_backbones.py", "Compare backbones with cross-validation"),
    ("export_and_predict.py", "Export and predict"),
    ("transfer_own_images.py", "Transfer learning from your own images"),
]


def _online(host: str = "docs.python.org", timeout: float = 2.0) -> bool:
    if os.environ.get("FRACTURENET_OFFLINE", "").strip() not in ("", "0"):
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


# Intersphinx needs the network; offline (or FRACTURENET_OFFLINE=1) the links are skipped
# instead of failing the -W build.
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "tensorflow": (
            "https://www.tensorflow.org/api_docs/python",
            "https://github.com/GPflow/tensorflow-intersphinx/raw/master/tf2_py_objects.inv",
        ),
    }
    if _online()
    else {}
)
intersphinx_timeout = 5

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the docs still build with Sphinx's default theme
    html_theme = "alabaster"
html_title = f"fracturenet {release}"


def _remove_stale_api_pages(app) -> None:
    """Autosummary never deletes pages of names that left the API; start from a clean slate."""
    import shutil

    shutil.rmtree(os.path.join(app.srcdir, "api", "generated"), ignore_errors=True)


def setup(app) -> None:
    app.connect("builder-inited", _remove_stale_api_pages, priority=100)
