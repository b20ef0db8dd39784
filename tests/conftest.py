"""Shared fixtures: the real Bone Break folder (when present) and small phantom datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs derandomised (the same examples every run: a failure there is never intermittent and
# reproduces locally with CI=true); local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]


def bone_break_path() -> Path:
    """``$FRACTURENET_SHARED_DATA`` or ``<repo>/../shared/data/bone-break``."""
    env = os.environ.get("FRACTURENET_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data" / "bone-break"


@pytest.fixture(scope="session")
def bone_break_dir() -> Path:
    """The real Bone Break Train split; skips the test when it is not on this machine."""
    path = bone_break_path()
    if not path.is_dir():
        pytest.skip(f"real data not present at {path} (set FRACTURENET_SHARED_DATA to use it)")
    return path


@pytest.fixture(scope="session")
def phantoms(tmp_path_factory):
    """A small phantom dataset (8 classes x 8 images at 48 px), shared by the session."""
    from fracturenet.phantoms import make_synthetic_fractures

    root = tmp_path_factory.mktemp("phantoms") / "data"
    return make_synthetic_fractures(root, images_per_class=8, image_size=48, seed=1)
