"""``fracturenet audit``: duplicates, leakage, label conflicts and unusable images in a dataset."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fracturenet.commands._common import check_positive, print_json, progress
from fracturenet.commands._registry import command
from fracturenet.exceptions import ImageDecodeError


@command(
    "audit",
    "Audit a dataset: exact/near duplicates, cross-split leakage, label conflicts, bad images.",
    "fracturenet audit data/bone-break --html audit.html --cleaned-manifest clean.csv",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("path", help="dataset folder or CSV manifest")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--html", metavar="OUT", help="write an HTML page with duplicate thumbnails")
    p.add_argument(
        "--cleaned-manifest",
        metavar="OUT.csv",
        help="write a CSV manifest without duplicates/conflicts (files untouched)",
    )
    p.add_argument(
        "--drop",
        choices=("both", "duplicates", "conflicts"),
        default="both",
        help="what the cleaned manifest leaves out (default: both)",
    )
    p.add_argument(
        "--near-threshold",
        type=int,
        default=6,
        help="pHash Hamming distance for near-duplicates (default: 6; 0 = re-encodes)",
    )
    p.add_argument("--min-side", type=int, default=64, help="smaller images count as tiny")
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="skip",
        help="unreadable images: list them in the report (skip) or also fail (raise, exit 1)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --html file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def run(args: argparse.Namespace) -> int:
    from fracturenet.data import audit, discover

    check_positive("near_threshold", args.near_threshold, allow_zero=True)
    check_positive("min_side", args.min_side, allow_zero=True)
    manifest = discover(args.path)
    quiet = args.quiet or args.json
    progress(f"auditing {len(manifest)} images in {args.path}", quiet=quiet)
    report = audit(
        manifest, near_threshold=args.near_threshold, min_side=args.min_side, progress=not quiet
    )
    written = {}
    if args.html:
        written["html"] = report.to_html(args.html, overwrite=args.overwrite)
    if args.cleaned_manifest:
        cleaned = report.cleaned_manifest(args.drop)
        written["cleaned_manifest"] = cleaned.to_csv(args.cleaned_manifest)
        written["cleaned_images"] = len(cleaned)
    ignored = [{"path": p, "reason": r} for p, r in manifest.ignored_files]
    if args.json:
        print_json({**report.to_dict(), "ignored_by_discovery": ignored, "written": written})
        return _unreadable_status(report, args.on_error)
    print(report.summary())
    if ignored:
        print(f"Passed over by discovery ({len(ignored)}):")
        for item in ignored:
            print(f"  {item['reason']}: {item['path']}")
    for key, value in written.items():
        print(f"{key.replace('_', ' ')}: {value}")
    return _unreadable_status(report, args.on_error)


def _unreadable_status(report: Any, on_error: str) -> int:
    if on_error == "raise" and report.unreadable:
        path, reason = report.unreadable[0]
        n = len(report.unreadable)
        raise ImageDecodeError(
            path, f"{reason} ({n} unreadable file(s) in all, listed in the report)"
        )
    return 0
