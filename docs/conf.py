"""Sphinx configuration for the fracturenet documentation."""

from __future__ import annotations

import os
import sys
from importlib import metadata

sys.path.insert(0, os.path.abspath("../src"))
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
]
autosummary_generate = True
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
templates_path: list[str] = []
exclude_patterns = ["_build"]

try:
    import furo  # noqa: F401

    html_theme = "furo"
except ImportError:  # the docs still build with Sphinx's default theme
    html_theme = "alabaster"
html_title = f"fracturenet {release}"
