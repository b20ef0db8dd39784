"""``fracturenet audit``: duplicates, leakage, label conflicts and unusable images in a dataset."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fracturenet.commands._common import check_positive, print_json, progress
from fracturenet.commands._registry import command
from fracturenet.data.verify import DEFAULT_MIN_DETAIL
from fracturenet.exceptions import ImageDecodeError

_MAX_FACET_VALUES = 12


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
    p.add_argument(
        "--min-detail",
        type=_min_detail,
        default=DEFAULT_MIN_DETAIL,
        help="aligned detail similarity a hash match needs to count as the same picture "
        f"(default: {DEFAULT_MIN_DETAIL}; 'none' trusts the hashes alone)",
    )
    p.add_argument("--min-side", type=int, default=64, help="smaller images count as tiny")
    p.add_argument(
        "--metadata",
        metavar="CSV",
        help="a table describing the images (one row per file), joined by file name: "
        "per-attribute class counts and label conflicts are reported",
    )
    p.add_argument("--metadata-key", metavar="COL", help="its file-name column (default: guessed)")
    p.add_argument(
        "--metadata-label",
        metavar="COL[:V=CLASS,...]",
        help="a column repeating the label, with its values mapped to classes, e.g. "
        "fractured:1=Fractured,0=Non_fractured; disagreements with the folders are listed",
    )
    p.add_argument(
        "--labels-from",
        choices=("layout", "metadata"),
        default="layout",
        help="which label wins where folder and --metadata-label disagree (default: layout)",
    )
    p.add_argument(
        "--metadata-flags",
        metavar="NAME=COL,COL,...",
        action="append",
        default=[],
        help="make one attribute from 0/1 flag columns, e.g. region=hand,leg,hip (repeatable)",
    )
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
    if args.metadata:
        manifest = _join(manifest, args)
    quiet = args.quiet or args.json
    progress(f"auditing {len(manifest)} images in {args.path}", quiet=quiet)
    report = audit(
        manifest,
        near_threshold=args.near_threshold,
        min_detail=args.min_detail,
        min_side=args.min_side,
        progress=not quiet,
    )
    written = {}
    if args.html:
        written["html"] = report.to_html(args.html, overwrite=args.overwrite)
    if args.cleaned_manifest:
        cleaned = report.cleaned_manifest(args.drop)
        written["cleaned_manifest"] = cleaned.to_csv(args.cleaned_manifest)
        written["cleaned_images"] = len(cleaned)
    ignored = [{"path": p, "reason": r} for p, r in manifest.ignored_files]
    meta = _metadata_summary(manifest) if args.metadata else None
    if args.json:
        extra = {"metadata": meta} if meta else {}
        print_json(
            {**report.to_dict(), **extra, "ignored_by_discovery": ignored, "written": written}
        )
        return _unreadable_status(report, args.on_error)
    print(report.summary())
    if meta:
        _print_metadata(meta)
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


def _min_detail(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not -1 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be a number in [-1, 1] or 'none'. Received: min_detail={text!r}"
        )
    return value


def _join(manifest: Any, args: argparse.Namespace) -> Any:
    """The manifest joined with ``--metadata`` (label column and flag groups parsed)."""
    from fracturenet.commands._metadata import join_metadata_flags

    return join_metadata_flags(
        manifest, args.metadata, key=args.metadata_key, label=args.metadata_label,
        labels_from=args.labels_from, flags=args.metadata_flags,
        say=lambda m: progress(m, quiet=args.quiet or args.json),
    )  # fmt: skip


def _metadata_summary(manifest: Any) -> dict[str, Any]:
    """Per attribute with few values: images per value and class; the label conflicts."""
    facets = {}
    for name, values in manifest.attributes.items():
        distinct = sorted({str(v) for v in values})
        if len(distinct) > _MAX_FACET_VALUES:
            continue
        table = {v: dict.fromkeys(manifest.class_names, 0) for v in distinct}
        for v, y in zip(values, manifest.labels, strict=True):
            table[str(v)][manifest.class_names[y]] += 1
        facets[name] = table
    return {
        "attributes": list(manifest.attributes),
        "class_counts_by_attribute": facets,
        "label_conflicts": [
            {"path": p, "layout": a, "metadata": b} for p, a, b in manifest.label_conflicts
        ],
    }


def _print_metadata(meta: dict[str, Any]) -> None:
    print(f"Metadata attributes: {', '.join(meta['attributes'])}")
    for name, table in meta["class_counts_by_attribute"].items():
        if len(table) < 2:
            continue
        cells = "; ".join(
            f"{value}: " + ", ".join(f"{c} {k}" for c, k in counts.items())
            for value, counts in table.items()
        )
        print(f"  {name:<12} {cells}")
    conflicts = meta["label_conflicts"]
    print(f"Label conflicts between the layout and the metadata: {len(conflicts)}")
    for c in conflicts:
        print(f"  {c['path']}: {c['layout']} (layout) vs {c['metadata']} (metadata)")
