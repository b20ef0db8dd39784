"""Names that moved to their layer (issue 17) keep their old import paths, with a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

# old module, name, new module
MOVED = [
    ("fracturenet.training", "detect_hardware", "fracturenet.hardware"),
    ("fracturenet.training", "plan_execution", "fracturenet.hardware"),
    ("fracturenet.training", "HardwareInfo", "fracturenet.hardware"),
    ("fracturenet.training", "ExecutionPlan", "fracturenet.hardware"),
    ("fracturenet.training", "apply_plan", "fracturenet.hardware"),
    ("fracturenet.training", "is_chief", "fracturenet.hardware"),
    ("fracturenet.training.hardware", "plan_execution", "fracturenet.hardware"),
    ("fracturenet.training.hardware", "PRECISIONS", "fracturenet.hardware"),
    ("fracturenet.evaluation", "cross_validate", "fracturenet.workflows"),
    ("fracturenet.evaluation.crossval", "cross_validate", "fracturenet.workflows"),
    ("fracturenet.demo", "run_demo", "fracturenet.workflows"),
    ("fracturenet.demo", "DemoSettings", "fracturenet.workflows"),
    ("fracturenet.demo", "QUICK", "fracturenet.workflows"),
    ("fracturenet.demo_report", "write_demo_report", "fracturenet.workflows.demo_report"),
    ("fracturenet.data", "make_synthetic_fractures", "fracturenet.phantoms"),
    ("fracturenet.data", "load_fracture_mask", "fracturenet.phantoms"),
    ("fracturenet.data", "render_phantom", "fracturenet.phantoms"),
    ("fracturenet.data", "PHANTOM_CLASSES", "fracturenet.phantoms"),
    ("fracturenet.data.synthetic", "make_synthetic_fractures", "fracturenet.phantoms"),
    ("fracturenet.data.synthetic", "NO_FRACTURE", "fracturenet.phantoms.generator"),
    # internals no longer exported by their package (issue 17 item 5)
    ("fracturenet.training", "fit_distributed", "fracturenet.training.distributed"),
    ("fracturenet.training", "predict_local", "fracturenet.training.distributed"),
    ("fracturenet.inference", "resolve_precision", "fracturenet.inference.precision"),
    ("fracturenet.inference", "with_precision", "fracturenet.inference.precision"),
    ("fracturenet.inference", "run_model_path", "fracturenet.inference.sources"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{o}.{n}" for o, n, _ in MOVED])
def test_old_path_warns_and_gives_the_same_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"`{old}\.{name}` moved to `{new}\.{name}`"):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)
    assert name not in getattr(module, "__all__", [])


@pytest.mark.parametrize(
    ("name", "new"),
    [
        ("run_demo", "fracturenet.workflows"),
        ("cross_validate", "fracturenet.workflows"),
        ("make_synthetic_fractures", "fracturenet.phantoms"),
        ("load_fracture_mask", "fracturenet.phantoms"),
        ("detect_hardware", "fracturenet.hardware"),
        ("plan_execution", "fracturenet.hardware"),
    ],
)
def test_top_level_names_point_at_the_new_home_without_a_warning(name, new):
    import fracturenet

    fracturenet.__dict__.pop(name, None)  # the lazy loader caches what it served
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = getattr(fracturenet, name)
    assert value is getattr(importlib.import_module(new), name)


def test_unknown_names_still_raise_attribute_error():
    import fracturenet.data

    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        fracturenet.data.no_such_name  # noqa: B018


def test_data_layer_does_not_import_the_phantoms():
    code = "import sys, fracturenet.data; print('fracturenet.phantoms' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
