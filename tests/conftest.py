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


# pytest-xdist (the README's test command runs `-n auto`) hands each worker whole test modules,
# so a module's module- and session-scoped fixtures (a trained model, a cross-validation run)
# are built by one worker, not by each; the modules parametrized over every backbone or example
# are cut into one unit per parameter (each unit builds its own backbone or runs its example),
# and so are the docstring examples, module by module.
SPLIT_BY_PARAMETER = (
    "tests/test_every_backbone.py",
    "tests/models/test_backbones.py",
    "tests/examples/test_examples.py",
    "tests/test_doctests.py",  # 120-odd modules' docstring examples, no shared fixture
)


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: its module, or for the modules
    in ``SPLIT_BY_PARAMETER`` its module and parameter id."""
    module, _, name = nodeid.partition("::")
    if module in SPLIT_BY_PARAMETER and name.endswith("]"):
        return f"{module}[{name[name.index('[') + 1 : -1]}]"
    return module


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pytest-xdist is in the test extra; without it the suite runs serially
    pass
else:

    class _WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    def pytest_xdist_make_scheduler(config, log):
        return _WorkUnitScheduling(config, log)
