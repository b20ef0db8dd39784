"""The end-to-end demo: phantoms -> two backbones -> evaluation -> comparison -> report.

:func:`run_demo` is what ``fracturenet demo`` runs. It exercises every layer of the library
through its public API on the embedded synthetic phantom dataset, offline and on a CPU.

Which two backbones: VGG16 and ResNet50 when their ImageNet weights are cached or can be
downloaded (the transfer recipe: a head on frozen pretrained features, then fine-tuning).
With only one of the two files (VGG16 alone can be rebuilt offline), that backbone from
ImageNet against SmallCNN from scratch. Without either
(offline, a fresh machine) VGG16 and ResNet50 from random weights learn nothing in a
CPU demo's budget (measured: a head on their frozen random features scored 0.24 and 0.335
on the 8 phantom classes; the scratch recipe stayed at chance after 8 minutes per backbone),
so the demo trains :class:`~fracturenet.models.SmallCNN` and its quarter-width
``"smallcnn_tiny"`` end to end from random weights (the scratch recipe) instead, which learn
the phantoms in minutes. The banner, ``metrics.json`` and the report say which ran.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fracturenet.exceptions import RunDirectoryExistsError
from fracturenet.workflows.demo_backbones import (
    IMAGENET_PAIR,
    OFFLINE_PAIR,
    default_backbones,
    weights_availability,
)

__all__ = [
    "DemoSettings",
    "DemoResult",
    "run_demo",
    "default_backbones",
    "default_cache_dir",
    "QUICK",
    "STANDARD",
    "IMAGENET_PAIR",
    "OFFLINE_PAIR",
]



@dataclass(frozen=True)
class DemoSettings:
    """Budget of a demo run (the same for every backbone, so the comparison is fair).

    Attributes:
        images_per_class: Phantom images generated per class (train + test).
        phantom_size: Side of the generated phantom images in pixels.
        input_size: Side of the model input in pixels.
        epochs: End-to-end epochs from random weights (the scratch recipe), or head-only
            epochs when ImageNet weights are cached (the transfer recipe).
        fine_tune_epochs: With ImageNet weights: epochs with the top blocks unfrozen.
        lr: Phase-1 learning rate; ``None`` for the recipe's own.
        fine_tune_lr: Phase-2 learning rate (transfer recipe).
        batch_size: Batch size.
        gradcam_images: Test images shown with Grad-CAM overlays per model.
        recipe: The Trainer's recipe: ``"auto"`` (transfer from ImageNet weights, scratch
            from random weights: all layers end to end), or ``"transfer"`` (from random
            weights a head on frozen random features: a pipeline check that learns little).
    """

    images_per_class: int = 200
    phantom_size: int = 64
    input_size: int = 64
    epochs: int = 20
    fine_tune_epochs: int = 2
    lr: float | None = None
    fine_tune_lr: float = 1e-5
    batch_size: int = 32
    gradcam_images: int = 8
    recipe: str = "auto"


STANDARD = DemoSettings()
QUICK = DemoSettings(images_per_class=60, input_size=32, epochs=20, fine_tune_epochs=0,
                     gradcam_images=4)


@dataclass
class DemoResult:
    """What :func:`run_demo` produced.

    Attributes:
        out_dir: The demo's run directory.
        report_html: Path of the self-contained HTML report.
        metrics: ``{backbone: {metric: value}}`` on the held-out phantom test split.
        comparison: The paired comparison (verdict, McNemar p-value, bootstrap CIs).
        weights: ``{backbone: "imagenet" | "none"}``: which initial weights each model used.
        recipes: ``{backbone: "scratch" | "transfer"}``: how each model was trained.
        seconds: Wall time of the whole demo.
        imagenet_files: ``{backbone: "cached" | "downloaded" | why unavailable}`` for VGG16
            and ResNet50 when the demo chose its backbones (empty when they were given).
    """

    out_dir: str
    report_html: str
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    comparison: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)
    recipes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    imagenet_files: dict[str, str] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """Returns the phantom cache root: ``$FRACTURENET_CACHE`` or ``~/.cache/fracturenet``."""
    env = os.environ.get("FRACTURENET_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fracturenet"


def _log(verbose: int, message: str) -> None:
    if verbose:
        print(f"[demo] {message}", flush=True)


def run_demo(
    out_dir: str | os.PathLike[str] | None = None,
    *,
    quick: bool = False,
    settings: DemoSettings | None = None,
    backbones: tuple[str, ...] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    verbose: int = 1,
    precision: str = "auto",
    download_weights: bool = True,
) -> DemoResult:
    """Trains, evaluates, explains and compares backbones on the synthetic phantoms.

    Writes into a new run directory: per backbone the Trainer's run folder (config,
    environment, history, curves, checkpoints, ``model.keras``), ``metrics.json``, a
    confusion-matrix PNG and a Grad-CAM overlay PNG; at the top ``metrics.json`` with the
    comparison and ``report.html`` that puts it all on one self-contained page.

    ImageNet weights are used when Keras already has them cached (the transfer recipe);
    otherwise the models start from random weights (``weights=None``) and train end to end
    (the scratch recipe). The output, ``metrics.json`` and the report say which ran.

    Args:
        out_dir: New folder for the results. Defaults to
            ``./fracturenet-runs/demo-<timestamp>``.
        quick: Use the smaller :data:`QUICK` budget (under 2 minutes on 2 CPU cores).
            Defaults to `False`.
        settings: An explicit budget, overriding ``quick``. Defaults to `None`.
        backbones: Registered backbones to train and compare. Defaults to `None`:
            :func:`default_backbones` (VGG16 and ResNet50 with cached ImageNet weights,
            SmallCNN and SmallCNN-tiny without).
        cache_dir: Where the phantoms are generated (reused when present). Defaults to
            :func:`default_cache_dir`.
        seed: Seed for the phantoms, splits and training. Defaults to `0`.
        verbose: 0 quiet, 1 progress. Defaults to `1`.
        precision: The Trainer's compute precision: ``"auto"`` (``mixed_bfloat16`` on
            CPUs with AVX512-BF16 or AMX and recent GPUs, else ``float32``; see
            :func:`~fracturenet.hardware.plan_execution`), ``"float32"``,
            ``"mixed_float16"`` or ``"mixed_bfloat16"``. Defaults to `"auto"`.
        download_weights: With ``backbones=None``, download a missing VGG16 or ResNet50
            ImageNet file first when the host can be reached (Keras shows the progress; the
            ``FRACTURENET_OFFLINE`` variable also stops it). Defaults to `True`.

    Returns:
        A :class:`DemoResult`.

    Raises:
        RunDirectoryExistsError: If ``out_dir`` exists and is not empty.
    """
    from fracturenet.phantoms import make_synthetic_fractures
    from fracturenet.training.rundir import atomic_write_json, new_run_path
    from fracturenet.workflows.demo_report import write_demo_report

    t_start = time.perf_counter()
    s = settings or (QUICK if quick else STANDARD)
    files: dict[str, str] = {}
    if backbones is None:
        files = weights_availability(download=download_weights, log=lambda m: _log(verbose, m))
        backbones = default_backbones()  # the files are in the cache now, or will not be
        if backbones == OFFLINE_PAIR:
            _log(verbose, "no ImageNet weights for VGG16 and ResNet50, which learn "
                          "nothing from random weights in a CPU demo's budget: comparing "
                          f"{' and '.join(OFFLINE_PAIR)}, trained from scratch")  # fmt: skip
        elif backbones != IMAGENET_PAIR:
            _log(verbose, f"comparing {backbones[0]} (ImageNet weights) with {backbones[1]} "
                          "trained from scratch (random weights)")  # fmt: skip
    out = Path(out_dir) if out_dir is not None else new_run_path("fracturenet-runs", "demo")
    if out.exists() and any(out.iterdir()):
        raise RunDirectoryExistsError(
            f"Demo output folder {str(out)!r} exists and is not empty; choose a new one. "
            f"Received: out_dir={str(out)!r}"
        )
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    phantom_dir = cache / f"phantoms-n{s.images_per_class}-s{s.phantom_size}-seed{seed}"
    _log(verbose, f"1/4 phantoms: {phantom_dir}")
    manifest = make_synthetic_fractures(
        phantom_dir, images_per_class=s.images_per_class, image_size=s.phantom_size, seed=seed
    )
    train, val, test = _split(manifest, seed)
    _log(verbose, f"    {len(train)} train / {len(val)} val / {len(test)} test images, "
                  f"{manifest.num_classes} classes")
    result = DemoResult(out_dir=str(out), report_html="", imagenet_files=files)
    reports = {}
    for i, backbone in enumerate(backbones, 1):
        _log(verbose, f"2/4 training {backbone} ({i}/{len(backbones)})")
        reports[backbone] = _train_one(backbone, s, train, val, test, out, seed, verbose, result,
                                       precision)
    _log(verbose, "3/4 comparing the models on the same test images")
    from fracturenet.evaluation import compare

    comparison = compare(*reports.values(), names=list(reports))
    result.comparison = comparison.to_dict()
    result.metrics = {b: _headline(r) for b, r in reports.items()}
    result.seconds = round(time.perf_counter() - t_start, 1)
    atomic_write_json(out / "metrics.json", {
        "settings": asdict(s), "seed": seed, "backbones": list(backbones),
        "weights": result.weights, "recipes": result.recipes,
        "imagenet_files": result.imagenet_files,
        "metrics": result.metrics, "comparison": result.comparison, "seconds": result.seconds,
    })
    _log(verbose, "4/4 writing the report")
    result.report_html = str(write_demo_report(out, s, manifest, reports, comparison, result))
    _log(verbose, f"done in {result.seconds:.0f}s")  # the verdict: once, in the summary
    return result


def _headline(report: Any) -> dict[str, Any]:
    keys = ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc_macro", "ece")
    out: dict[str, Any] = {k: report.metrics[k] for k in keys if k in report.metrics}
    out["ci95"] = {k: [ci.low, ci.high] for k, ci in report.intervals.items()}
    return out


def _split(manifest: Any, seed: int) -> tuple[Any, Any, Any]:
    from fracturenet.data import train_val_test_split

    split = train_val_test_split(manifest, val=0.2, seed=seed, groups=None)
    return split.subset("train"), split.subset("val"), split.subset("test")


def _train_one(backbone: str, s: DemoSettings, train: Any, val: Any, test: Any, out: Path,
               seed: int, verbose: int, result: DemoResult, precision: str) -> Any:
    from fracturenet.config import ModelConfig
    from fracturenet.data import make_dataset
    from fracturenet.evaluation import evaluate
    from fracturenet.models import imagenet_weights_cached
    from fracturenet.training import Trainer

    pretrained = imagenet_weights_cached(backbone)
    result.weights[backbone] = "imagenet" if pretrained else "none"
    result.recipes[backbone] = "transfer" if pretrained or s.recipe == "transfer" else "scratch"
    if s.recipe == "transfer" and not pretrained:
        _log(verbose, f"    no cached ImageNet weights for {backbone}: pipeline check only, a "
                      f"head trained for {s.epochs} epochs on frozen RANDOM features (it learns "
                      "little; training all layers needs a GPU or a far larger budget: DemoSettings(recipe='auto'))")
    elif pretrained:
        _log(verbose, f"    ImageNet weights for {backbone} are cached: transfer recipe, "
                      f"{s.epochs} head epochs + {s.fine_tune_epochs} fine-tuning epochs")
    else:
        from fracturenet.models.registry import get_backbone

        why = ("no cached ImageNet weights" if get_backbone(backbone).weights_file
               else "no ImageNet weights exist")  # fmt: skip
        _log(verbose, f"    {why} for {backbone}: scratch recipe, all "
                      f"layers trained end to end from random weights for {s.epochs} epochs")
    config = ModelConfig(backbone=backbone, num_classes=train.num_classes,
                         input_shape=(s.input_size, s.input_size, 3),
                         weights="imagenet" if pretrained else None, dropout=0.2)
    # a demo folder is never resumed (run_demo refuses an existing one): once model.keras
    # is saved its checkpoints are only a second copy of the backbone, so they go
    trainer = Trainer(config, run_dir=out / backbone, seed=seed, verbose=verbose,
                      class_names=train.class_names, keep_checkpoints="none",
                      precision=precision)
    trainer.fit(train, val, epochs=s.epochs,
                fine_tune_epochs=s.fine_tune_epochs if pretrained else 0,
                lr=s.lr, fine_tune_lr=s.fine_tune_lr, batch_size=s.batch_size,
                recipe=s.recipe)
    test_ds = make_dataset(test, image_size=s.input_size, batch_size=s.batch_size)
    report = evaluate(trainer.model, test_ds, class_names=test.class_names, ids=test.paths,
                      seed=seed, model_name=backbone, split="test", used_for_selection=False)
    report.to_json(out / backbone / "metrics.json")
    _explain_examples(trainer.model, test, s, out / backbone)
    return report


def _explain_examples(model: Any, test: Any, s: DemoSettings, folder: Path) -> None:
    from fracturenet.data import load_image
    from fracturenet.explain import explain, save_explanation_grid

    # one image per class first, so the grid shows every fracture pattern
    picked: list[int] = []
    for label in range(test.num_classes):
        picked.extend([i for i, y in enumerate(test.labels) if y == label][:1])
    picked = picked[: s.gradcam_images]
    originals = [load_image(test.paths[i]) for i in picked]
    explanations = explain(model, originals, method="gradcam", class_names=test.class_names)
    save_explanation_grid(originals, explanations, folder / "gradcam.png",
                          true_labels=[test.labels[i] for i in picked],
                          class_names=test.class_names)
