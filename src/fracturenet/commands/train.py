"""``fracturenet train``: discover -> leakage-proof split -> Trainer -> test metrics."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fracturenet.commands._common import print_json, progress
from fracturenet.commands._registry import UsageError, command
from fracturenet.commands.train_config import (
    add_setting_flags,
    resolve_settings,
    run_config,
    to_toml,
)


@command(
    "train",
    "Train a classifier on a folder of X-rays (flags, or a TOML file whose keys mirror them).",
    "fracturenet train data/bone-break --backbone resnet50 --epochs 10 --out runs/r50",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("--config", metavar="RUN.toml", help="TOML file; keys mirror the flags")
    add_setting_flags(p)
    p.add_argument(
        "--quick",
        action="store_true",
        help="small preset for a first try: 64 px, 2 epochs, batch 16",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--overwrite", action="store_true", help="reuse a non-empty --out")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def _weights(value: str) -> str | None:
    if value.lower() == "none":
        return None
    if value.lower() == "imagenet":
        return "imagenet"
    if not Path(value).is_file():
        raise UsageError(
            f"--weights must be 'imagenet', 'none' or an existing weights file. "
            f"Received: weights={value!r}"
        )
    return value


def split_data(s: dict[str, Any], quiet: bool) -> tuple[Any, Any, Any, Any]:
    """Discovers the data and returns ``(manifest, train, val, test)`` (val/test may be None)."""
    from fracturenet.data import discover, train_val_test_split

    manifest = discover(s["data"])
    progress(
        f"found {len(manifest)} images in {manifest.num_classes} classes"
        + (f" (splits: {', '.join(manifest.split_names())})" if manifest.split_names() else ""),
        quiet=quiet,
    )
    if s["metadata"]:
        from fracturenet.commands._metadata import join_metadata_flags

        manifest = join_metadata_flags(
            manifest, s["metadata"], key=s["metadata_key"], label=s["metadata_label"],
            labels_from=s["labels_from"],
            flags=[f for f in (s["metadata_flags"] or "").split(";") if f.strip()],
            say=lambda m: progress(m, quiet=quiet),
        )  # fmt: skip
    by = [g.strip() for g in (s["group_by"] or "").split(",") if g.strip()]
    groups = tuple((["auto"] if s["group"] else []) + by)
    strata = [a.strip() for a in (s["stratify_by"] or "").split(",") if a.strip()]
    for name in [*strata, *(g for g in by if g != "similar")]:
        if name not in manifest.attributes:
            raise UsageError(
                f"No attribute {name!r} to split by: "
                + (f"--metadata gave {sorted(manifest.attributes)}" if s["metadata"]
                   else "pass --metadata CSV (and --metadata-flags for 0/1 columns)")
                + f". Received: stratify_by={s['stratify_by']!r}, group_by={s['group_by']!r}"
            )  # fmt: skip
    if groups:
        progress(f"grouping ({', '.join(groups)}) so that copies never straddle splits",
                 quiet=quiet)  # fmt: skip
    split = train_val_test_split(
        manifest,
        val=s["val"],
        test=s["test"],
        seed=s["seed"],
        groups=(groups[0] if len(groups) == 1 else groups) if groups else None,
        stratify_by=strata or None,
    )

    def part(name: str) -> Any:
        return split.subset(name) if name in split.split_names() else None

    return split, part("train"), part("val"), part("test")


def run(args: argparse.Namespace) -> int:
    from fracturenet.training import Trainer
    from fracturenet.training.rundir import atomic_write, atomic_write_json, new_run_path

    s = resolve_settings(args)
    quiet = args.quiet or args.json
    weights = _weights(s["weights"])
    out = Path(s["out"]) if s["out"] else new_run_path("fracturenet-runs", "train")
    s["out"] = str(out)
    if args.resume and not out.is_dir():
        raise UsageError(f"--resume needs an existing run folder. Received: out={str(out)!r}")
    t0 = time.perf_counter()
    _, train, val, test = split_data(s, quiet)
    if train is None:
        raise UsageError(
            f"No training images after the split of {s['data']!r}. "
            f"Received: val={s['val']}, test={s['test']}"
        )
    progress(
        f"split: {len(train)} train / {len(val) if val else 0} val / "
        f"{len(test) if test else 0} test",
        quiet=quiet,
    )
    config = run_config(
        s,
        num_classes=train.num_classes,
        weights=weights,
        overwrite=args.overwrite,
        resume=args.resume,
        verbose=0 if quiet else 2,
    )
    trainer = Trainer(config.model, class_names=train.class_names, **config.trainer.kwargs())

    def write_toml() -> None:
        atomic_write(out / "run.toml", lambda t: Path(t).write_text(to_toml(s), encoding="utf-8"))

    if not args.resume:  # a resume rewrites it once fit has accepted the settings
        write_toml()
    history = trainer.fit(train, val, **config.training.kwargs())
    if args.resume:
        write_toml()
    result: dict[str, Any] = {
        "run_dir": str(out),
        "model": str(out / "model.keras"),
        "epochs": history.epochs,
        "best_epoch": history.best_epoch,
        "monitor": history.monitor,
        "best_value": history.best_value,
        "settings": s,
    }
    evaluated = test if test is not None else val
    if evaluated is not None:
        name = "test" if test is not None else "val"
        progress(f"evaluating on the {name} split ({len(evaluated)} images)", quiet=quiet)
        report = _evaluate(trainer.model, evaluated, s, split=name, data=config.data)
        from fracturenet.data.fingerprint import file_set_fingerprint

        report.info.setdefault("data", {})["train"] = file_set_fingerprint(
            train.paths, train.labels
        )
        report.to_json(out / "metrics.json", overwrite=True)
        if test is not None:  # the Trainer wrote the train/val lists; the test list is ours
            from fracturenet.training.provenance import write_provenance

            write_provenance(out, trainer.model, {"test": test})
        result["evaluated_on"] = name
        result["metrics"] = {
            k: report.metrics[k]
            for k in ("accuracy", "balanced_accuracy", "macro_f1")
            if k in report.metrics
        }
        binary = report.metrics.get("binary")
        if binary:  # two classes: what a clinician reads, at the model's operating point
            result["binary"] = {
                k: binary[k]
                for k in ("positive_class", "auroc", "pr_auc", "sensitivity", "specificity")
            }
            result["binary"]["threshold"] = binary["operating_point"].get("threshold")
        result["ci95"] = {k: [ci.low, ci.high] for k, ci in report.intervals.items()}
        result["metrics_json"] = str(out / "metrics.json")
    result["seconds"] = round(time.perf_counter() - t0, 1)
    atomic_write_json(out / "result.json", result)
    if args.json:
        print_json(result)
        return 0
    print(f"run: {out}")
    print(
        f"model: {result['model']}  (best epoch {history.best_epoch}, "
        f"{history.monitor}={history.best_value})"
    )
    if "metrics" in result:
        m = result["metrics"]
        note = "" if result["evaluated_on"] == "test" else " (validation: used to pick the epoch)"
        print(
            f"{result['evaluated_on']}: accuracy {m['accuracy']:.3f}, balanced "
            f"{m['balanced_accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}{note}"
        )
        if "binary" in result:
            b = result["binary"]
            print(
                f"{result['evaluated_on']}: positive class {b['positive_class']}: AUROC "
                f"{b['auroc']:.3f}, sensitivity {b['sensitivity']:.3f}, specificity "
                f"{b['specificity']:.3f} at "
                + (f"threshold {b['threshold']:.4g}" if b["threshold"] is not None else "argmax")
                + " (see metrics.json)"
            )
    return 0


def _evaluate(model: Any, manifest: Any, s: dict[str, Any], split: str, data: Any) -> Any:
    import dataclasses

    from fracturenet.data import make_dataset
    from fracturenet.data.bad_images import kept_paths
    from fracturenet.evaluation import evaluate
    from fracturenet.models import input_spec

    spec = input_spec(model)  # as trained: size, channels, resize mode
    data = dataclasses.replace(  # the run's pipeline settings, fitted as the model was trained
        data, image_size=spec.size, channels=spec.channels, resize_mode=spec.resize_mode
    )
    ds = make_dataset(manifest, **data.kwargs())
    return evaluate(
        model,
        ds,
        class_names=manifest.class_names,
        ids=kept_paths(ds),
        bootstrap=s["bootstrap"],
        seed=s["seed"],
        model_name=s["backbone"],
        split=split,
        used_for_selection=split == "val",  # the validation split picked the best epoch
        info={"resize_mode": spec.resize_mode},
    )
