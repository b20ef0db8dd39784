"""``fracturenet export``: a deployable SavedModel or TFLite file, parity-checked."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from fracturenet.commands._common import print_json, progress
from fracturenet.commands._registry import command


@command(
    "export",
    "Export a trained run to SavedModel, TFLite (optionally quantised) or ONNX, with a parity "
    "check.",
    "fracturenet export runs/r50 --format tflite --quantize float16 --sample xrays/",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("model", metavar="RUN", help="run folder or .keras file")
    p.add_argument(
        "--format",
        default="savedmodel",
        choices=("savedmodel", "tflite", "onnx"),
        help="export format (onnx needs: pip install 'fracturenet[onnx]')",
    )
    p.add_argument(
        "--quantize",
        choices=("float16", "dynamic"),
        default=None,
        help="TFLite post-training quantisation",
    )
    p.add_argument(
        "--out",
        help="destination (default: RUN/export/savedmodel or "
        "RUN/export/model[-QUANTIZE].tflite or RUN/export/model.onnx)",
    )
    p.add_argument(
        "--sample",
        nargs="+",
        metavar="IMAGE_OR_FOLDER",
        help="images for the parity check (default: 8 seeded random images)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    p.add_argument("--json", action="store_true", help="print the parity report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def default_out(model: str, fmt: str, quantize: str | None) -> Path:
    """``RUN/export/savedmodel``, ``RUN/export/model[-QUANTIZE].tflite`` or ``.../model.onnx``."""
    base = Path(model) if Path(model).is_dir() else Path(model).parent
    if fmt == "savedmodel":
        return base / "export" / "savedmodel"
    return base / "export" / (f"model-{quantize}.{fmt}" if quantize else f"model.{fmt}")


def run(args: argparse.Namespace) -> int:
    from fracturenet.inference.export import export_model

    out = Path(args.out) if args.out else default_out(args.model, args.format, args.quantize)
    progress(
        f"exporting {args.model} as {args.format}"
        + (f" ({args.quantize})" if args.quantize else "")
        + f" to {out}",
        quiet=args.quiet or args.json,
    )
    report = export_model(
        args.model,
        out,
        format=args.format,
        quantize=args.quantize,
        sample=args.sample,
        overwrite=args.overwrite,
    )
    if args.json:
        print_json(report)
    else:
        tol = report["tolerance"]
        verdict = "PASSED" if report["passed"] else "FAILED"
        print(f"exported: {report['path']}")
        print(
            f"parity on {report['sample']}: max |dprob| {report['max_abs_diff']:.2e}"
            + (f" (tolerance {tol:.0e})" if tol else "")
            + f", top-1 agreement {report['top1_agreement']:.1%} -> {verdict}"
        )
    return 0 if report["passed"] else 1
