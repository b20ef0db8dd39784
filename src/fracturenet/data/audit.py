"""Dataset audit: exact and near-duplicates, leakage, label conflicts, unreadable and tiny files.

The audit reads every image of a :class:`~fracturenet.data.manifest.Manifest` once (in a thread
pool), hashes the file bytes, the decoded pixels and two perceptual hashes, and groups copies of
the same picture into clusters with union-find. It never deletes, moves or writes a user file.

The near-duplicate rule and its thresholds are documented in
:mod:`fracturenet.data.duplicates`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fracturenet.data.audit_report import AuditReport, ImageRecord
from fracturenet.data.decode import load_image
from fracturenet.data.decode_budget import decode_scope
from fracturenet.data.duplicates import (
    DEFAULT_NEAR_THRESHOLD,
    TRANSFORMS,
    UnionFind,
    near_duplicate_pairs,
    transformed_duplicate_pairs,
)
from fracturenet.data.manifest import Manifest
from fracturenet.data.verify import DEFAULT_MIN_DETAIL, detail_similarity, grey_thumbnail
from fracturenet.exceptions import ImageDecodeError, MissingExtraError

_THUMB_SIDE = 128
_BOX = 4  # PIL.Image.Resampling.BOX, without importing PIL at import time
# PIL.Image.Transpose values of duplicates.TRANSFORMS (PIL is imported lazily).
_TRANSPOSE = {
    "rot90": 2,  # ROTATE_90
    "rot180": 3,  # ROTATE_180
    "rot270": 4,  # ROTATE_270
    "flip_lr": 0,  # FLIP_LEFT_RIGHT
    "flip_ud": 1,  # FLIP_TOP_BOTTOM
    "transpose": 5,  # TRANSPOSE
    "transverse": 6,  # TRANSVERSE
}

__all__ = ["audit", "group_duplicates"]


def _hash_one(path: str, hash_size: int) -> tuple[ImageRecord, np.ndarray | None]:
    """Reads one file; returns its hashes and size (or why it is unreadable) and its grey
    thumbnail for :func:`~fracturenet.data.verify.detail_similarity` (``None`` if unreadable)."""
    import imagehash
    from PIL import Image

    try:
        with open(path, "rb") as f:
            file_sha = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        return ImageRecord(error=f"cannot read file ({e.strerror or e})"), None
    try:
        # The same decoding the model sees (EXIF orientation, alpha on black, 16-bit
        # scaling, DICOM), so "identical pixels" means identical network input.
        pixels = load_image(path)
    except ImageDecodeError as e:
        return ImageRecord(file_sha256=file_sha, error=e.reason), None
    except MissingExtraError as e:  # a DICOM file without pydicom: report, do not abort
        return ImageRecord(file_sha256=file_sha, error=str(e)), None
    im = Image.fromarray(pixels)
    pix = hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()
    # Perceptual hashes only look at a 32x32 (pHash) or 9x8 (dHash) grey image: hashing an
    # area-averaged thumbnail gives the same bits about 6x faster than the full picture.
    side = max(_THUMB_SIDE, 4 * hash_size)
    gray = im.resize((side, side), resample=_BOX).convert("L")
    hist = np.bincount(np.asarray(gray).ravel() >> 4, minlength=16)
    turned = [gray.transpose(_TRANSPOSE[t]) for t in TRANSFORMS]
    variants = tuple(str(imagehash.phash(g, hash_size=hash_size)) for g in turned)
    dvariants = tuple(str(imagehash.dhash(g, hash_size=hash_size)) for g in turned)
    return ImageRecord(
        width=im.width,
        height=im.height,
        file_sha256=file_sha,
        pixel_sha256=pix,
        phash=str(imagehash.phash(gray, hash_size=hash_size)),
        dhash=str(imagehash.dhash(gray, hash_size=hash_size)),
        histogram=tuple(round(float(x), 5) for x in hist / max(hist.sum(), 1)),
        phash_variants=variants,
        dhash_variants=dvariants,
    ), grey_thumbnail(gray)


def _hash_in_budget(path: str, hash_size: int) -> tuple[ImageRecord, np.ndarray | None]:
    with decode_scope(copies=5):  # measured: ~24 bytes a pixel at peak for a 100 MP PNG
        return _hash_one(path, hash_size)


def _progress(total: int, enabled: bool) -> Callable[[int], None]:
    start, last = time.perf_counter(), [0.0]
    interval = 0.2 if sys.stderr.isatty() else 5.0  # keep logs short when not a terminal

    def update(done: int) -> None:
        now = time.perf_counter()
        if not enabled or (done < total and now - last[0] < interval):
            return
        last[0] = now
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "=" * filled + ">" * (filled < width) + "." * (width - filled - 1)
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\rAuditing images {done}/{total} [{bar[:width]}] {now - start:.1f}s{end}"
        )
        sys.stderr.flush()

    return update


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return value


def audit(
    manifest: Manifest,
    *,
    near_threshold: int = DEFAULT_NEAR_THRESHOLD,
    min_detail: float | None = DEFAULT_MIN_DETAIL,
    hash_size: int = 8,
    min_side: int = 64,
    workers: int | None = None,
    progress: bool = True,
) -> AuditReport:
    """Audits a dataset for duplicates, leakage, label conflicts and unusable images.

    Reads every file once; never deletes, moves or writes a file.

    Args:
        manifest: The dataset to audit.
        near_threshold: pHash Hamming distance (for 64-bit hashes) at or below which two images
            are near-duplicates; up to twice this distance they also are when their dHash
            distance is at most ``near_threshold + 3``. Use 0 for re-encodes only, larger
            values to catch stronger re-crops at the risk of pairing different X-rays.
            Defaults to `6`.
        min_detail: Verification of hash candidates: a pair is called the same picture
            only when the detail similarity of the aligned thumbnails
            (:func:`~fracturenet.data.verify.detail_similarity`) is at least this; pairs
            below it are reported as *similar* (``AuditReport.similar_pairs``) and neither
            grouped nor counted as conflicts. ``None`` trusts the hashes alone (the former
            behaviour). Defaults to `0.83`.
        hash_size: Side of the perceptual hashes (``hash_size**2`` bits); thresholds scale
            with the bit count. Defaults to `8`.
        min_side: Images whose shorter side is below this many pixels are reported as tiny.
            Defaults to `64`.
        workers: Threads reading and hashing images; ``None`` picks
            ``min(8, 2 * os.cpu_count())``. Defaults to `None`.
        progress: Show a progress bar on stderr. Defaults to `True`.

    Returns:
        The :class:`AuditReport`.

    Raises:
        ValueError: If an argument is out of range (the message names it).

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> d = tempfile.mkdtemp()
        >>> paths = [os.path.join(d, f"{i}.png") for i in range(3)]
        >>> rng = np.random.default_rng(0)
        >>> a, b = (rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(2))
        >>> for p, x in zip(paths, (a, a, b)):
        ...     Image.fromarray(x).save(p)
        >>> m = Manifest(paths=paths, labels=(0, 1, 1), class_names=("a", "b"))
        >>> report = audit(m, progress=False)
        >>> report.clusters, len(report.conflicts)
        ([[0, 1]], 1)
    """
    if not isinstance(manifest, Manifest):
        raise TypeError(
            f"`manifest` must be a fracturenet Manifest. Received: manifest={type(manifest).__name__}"
        )
    _check_int("near_threshold", near_threshold, 0)
    _check_int("hash_size", hash_size, 2)
    _check_int("min_side", min_side, 0)
    if min_detail is not None and (
        isinstance(min_detail, bool)
        or not isinstance(min_detail, (int, float))
        or not -1 <= min_detail <= 1
    ):
        raise ValueError(
            f"`min_detail` must be None or a number in [-1, 1]. Received: min_detail={min_detail!r}"
        )
    if workers is None:
        workers = min(8, 2 * (os.cpu_count() or 1))
    _check_int("workers", workers, 1)

    t0 = time.perf_counter()
    n = len(manifest)
    update = _progress(n, progress)
    records: list[ImageRecord] = []
    thumbs: list[np.ndarray | None] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for rec, thumb in pool.map(lambda p: _hash_in_budget(p, hash_size), manifest.paths):
            records.append(rec)
            thumbs.append(thumb)
            update(len(records))
        if n == 0:
            update(0)

        uf = UnionFind(list(range(n)))
        for key in ("file_sha256", "pixel_sha256"):
            first: dict[str, int] = {}
            for i, rec in enumerate(records):
                h = getattr(rec, key)
                if h:
                    uf.union(first.setdefault(h, i), i)
        exact_root = [uf.find(i) for i in range(n)]

        def side(t: tuple) -> int:
            return min(records[t[0]].width, records[t[0]].height,
                       records[t[1]].width, records[t[1]].height)  # fmt: skip

        def verified(pairs: list, transform_of) -> tuple[list, list]:
            """Splits hash candidates into (same picture, similar) by detail similarity."""
            if min_detail is None or not pairs:
                return pairs, []
            scores = list(
                pool.map(
                    lambda t: detail_similarity(
                        thumbs[t[0]], thumbs[t[1]], transform_of(t), smallest_side=side(t)
                    ),
                    pairs,
                )
            )
            same = [t for t, s in zip(pairs, scores, strict=True) if s >= min_detail]
            similar = [
                (t[0], t[1], t[2], round(s, 3))
                for t, s in zip(pairs, scores, strict=True)
                if s < min_detail
            ]
            return same, similar

        ok = [i for i, r in enumerate(records) if r.error is None]
        near = near_duplicate_pairs(
            [records[i].phash for i in ok],
            [records[i].dhash for i in ok],
            [records[i].histogram for i in ok],
            near_threshold=near_threshold,
        )
        near = [(ok[a], ok[b], dp, dd) for a, b, dp, dd in near]
        near = [t for t in near if exact_root[t[0]] != exact_root[t[1]]]
        near, similar = verified(near, lambda t: None)
        for i, j, _, _ in near:
            uf.union(i, j)
        turned = transformed_duplicate_pairs(
            [records[i].phash_variants for i in ok],
            [records[i].phash for i in ok],
            [records[i].dhash_variants for i in ok],
            [records[i].dhash for i in ok],
            [records[i].histogram for i in ok],
            near_threshold=near_threshold,
        )
        turned = [(ok[a], ok[b], d, t) for a, b, d, t in turned]
        turned = [p for p in turned if uf.find(p[0]) != uf.find(p[1])]  # new pairs only
        turned, similar_turned = verified(turned, lambda t: t[3])
        similar += similar_turned
        for i, j, _, _ in turned:
            uf.union(i, j)
    thumbs.clear()  # up to 16 KB an image, not needed past this point
    # A pair that failed the check can still end up in one cluster through copies of both.
    similar = sorted(p for p in similar if uf.find(p[0]) != uf.find(p[1]))

    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(uf.find(i), []).append(i)
    exact: dict[int, list[int]] = {}
    for i in range(n):
        exact.setdefault(exact_root[i], []).append(i)
    clusters = [g for g in members.values() if len(g) > 1]
    labels, splits = manifest.labels, manifest.splits

    return AuditReport(
        manifest=manifest,
        records=tuple(records),
        exact_groups=[g for g in exact.values() if len(g) > 1],
        near_pairs=near,
        transformed_pairs=turned,
        similar_pairs=similar,
        clusters=clusters,
        leakage=[g for g in clusters if len({splits[i] for i in g}) > 1],
        conflicts=[g for g in clusters if len({labels[i] for i in g}) > 1],
        unreadable=[(manifest.paths[i], r.error) for i, r in enumerate(records) if r.error],
        tiny=[
            i
            for i, r in enumerate(records)
            if r.error is None and min(r.width, r.height) < min_side
        ],
        size_stats=_size_stats(records),
        settings={
            "near_threshold": near_threshold,
            "min_detail": min_detail,
            "hash_size": hash_size,
            "min_side": min_side,
            "workers": workers,
        },
        elapsed_s=round(time.perf_counter() - t0, 3),
    )


def _size_stats(records: Sequence[ImageRecord]) -> dict:
    """Width, height and aspect (width / height) distribution of the readable images."""
    ok = [r for r in records if r.error is None]
    if not ok:
        return {}
    w = np.array([r.width for r in ok], dtype=float)
    h = np.array([r.height for r in ok], dtype=float)
    aspect = w / h

    def describe(x: np.ndarray) -> dict[str, float]:
        q = np.percentile(x, [0, 5, 50, 95, 100])
        return {
            k: round(float(v), 3)
            for k, v in zip(("min", "p5", "median", "p95", "max"), q, strict=True)
        }

    edges = [("tall (<0.5)", 0.0, 0.5), ("portrait [0.5, 0.9)", 0.5, 0.9),
             ("square [0.9, 1.1]", 0.9, 1.1 + 1e-9), ("landscape (1.1, 2]", 1.1 + 1e-9, 2.0 + 1e-9),
             ("wide (>2)", 2.0 + 1e-9, np.inf)]  # fmt: skip
    sizes: dict[str, int] = {}
    for r in ok:
        key = f"{r.width}x{r.height}"
        sizes[key] = sizes.get(key, 0) + 1
    common = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {
        "width": describe(w),
        "height": describe(h),
        "aspect": describe(aspect),
        "aspect_bins": {
            name: int(((aspect >= lo) & (aspect < hi)).sum()) for name, lo, hi in edges
        },
        "common_sizes": dict(common),
    }


def group_duplicates(manifest: Manifest, **audit_kwargs) -> Manifest:
    """Returns ``manifest`` with its groups set to the audit's duplicate clusters.

    Images in one cluster (exact or near copies) share a group id, every other image gets its
    own, so splits that respect groups never put copies on both sides.

    Args:
        manifest: The dataset.
        **audit_kwargs: Passed to :func:`audit` (e.g. ``near_threshold``, ``progress``).

    Returns:
        A new manifest whose ``groups`` are :meth:`AuditReport.groups`.

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> d = tempfile.mkdtemp()
        >>> paths = [os.path.join(d, f"{i}.png") for i in range(3)]
        >>> rng = np.random.default_rng(0)
        >>> a, b = (rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(2))
        >>> for p, x in zip(paths, (a, b, b)):
        ...     Image.fromarray(x).save(p)
        >>> group_duplicates(Manifest(paths, (0, 0, 0), ("a",)), progress=False).groups
        ('img-0', 'dup-1', 'dup-1')
    """
    return manifest.with_groups(audit(manifest, **audit_kwargs).groups())
