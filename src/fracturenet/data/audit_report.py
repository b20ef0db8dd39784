"""The result of :func:`fracturenet.data.audit`: findings, terminal summary, JSON and HTML.

:class:`AuditReport` holds what the audit found, as image indices into the audited
:class:`~fracturenet.data.manifest.Manifest`, and renders it for people (``summary``,
``to_html`` with a thumbnail strip per duplicate cluster) and programs (``to_dict``,
``to_json``). It also derives what a split or a training run needs: ``groups()`` (one id per
duplicate cluster) and ``cleaned_manifest()``. Writers never overwrite a file unless told to.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from typing import Any

from fracturenet._json_results import JsonResult, write_new_file
from fracturenet.data.manifest import Manifest

__all__ = ["AuditReport", "ImageRecord"]

_DROP_CHOICES = ("duplicates", "conflicts", "both")
_MAX_SIMILAR_SHOWN = 50


@dataclass(frozen=True)
class ImageRecord:
    """What the audit read from one file.

    Attributes:
        width: Width in pixels after EXIF orientation (0 when unreadable).
        height: Height in pixels after EXIF orientation (0 when unreadable).
        file_sha256: SHA-256 of the file bytes ("" when the file cannot be read).
        pixel_sha256: SHA-256 of the decoded RGB pixels and their shape ("" when unreadable).
        phash: Hex perceptual hash ("" when unreadable).
        dhash: Hex difference hash ("" when unreadable).
        histogram: 16-bin grey-level histogram summing to 1 (empty when unreadable).
        error: Why the file is unreadable, or ``None``.
        phash_variants: pHashes of the image rotated and flipped, one per
            :data:`~fracturenet.data.duplicates.TRANSFORMS` (empty when unreadable).
        dhash_variants: dHashes of the same rotated and flipped pictures.
    """

    width: int = 0
    height: int = 0
    file_sha256: str = ""
    pixel_sha256: str = ""
    phash: str = ""
    dhash: str = ""
    histogram: tuple[float, ...] = ()
    error: str | None = None
    phash_variants: tuple[str, ...] = ()
    dhash_variants: tuple[str, ...] = ()


def _refuse_existing(path: str, overwrite: bool) -> None:
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{path!r} already exists and the audit does not overwrite files. Choose another "
            f"path or pass overwrite=True. Received: path={path!r}, overwrite={overwrite}"
        )


@dataclass(frozen=True)
class AuditReport(JsonResult):
    """Findings of a dataset audit; image references are indices into ``manifest``.

    Attributes:
        manifest: The audited dataset.
        records: One :class:`ImageRecord` per image.
        exact_groups: Images whose file bytes or decoded pixels are identical.
        near_pairs: ``(i, j, phash_distance, dhash_distance)`` near-duplicate pairs that are
            not already exact duplicates.
        clusters: Connected groups (size >= 2) of exact and near-duplicates (union-find).
        leakage: The clusters whose images lie in more than one split.
        conflicts: The clusters whose images carry more than one label.
        unreadable: ``(path, reason)`` of each file that could not be decoded.
        tiny: Images whose shorter side is below ``settings["min_side"]``.
        size_stats: Width, height and aspect distribution, aspect bins and common sizes.
        settings: The audit arguments (thresholds, hash size, workers).
        elapsed_s: Wall time of the audit in seconds.
        transformed_pairs: ``(i, j, phash_distance, transform)`` pairs that are copies of
            each other rotated or flipped (by pixels or by an EXIF orientation tag), not
            already paired otherwise.
        similar_pairs: ``(i, j, phash_distance, detail_similarity)`` pairs whose hashes
            matched but whose aligned pixels did not (``settings["min_detail"]``): similar
            pictures, e.g. two radiographs of the same anatomy, not copies. They are not
            clustered, grouped or counted as conflicts; pairs already joined through other
            copies are left out.
    """

    manifest: Manifest
    records: tuple[ImageRecord, ...]
    exact_groups: list[list[int]] = field(default_factory=list)
    near_pairs: list[tuple[int, int, int, int]] = field(default_factory=list)
    clusters: list[list[int]] = field(default_factory=list)
    leakage: list[list[int]] = field(default_factory=list)
    conflicts: list[list[int]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    tiny: list[int] = field(default_factory=list)
    size_stats: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    transformed_pairs: list[tuple[int, int, int, str]] = field(default_factory=list)
    similar_pairs: list[tuple[int, int, int, float]] = field(default_factory=list)

    def groups(self, *, include_similar: bool = False) -> list[str]:
        """Returns one group id per image: ``"dup-<i>"`` shared by a duplicate cluster (``i``
        is its first image), ``"img-<i>"`` for an image with no copy. Usable as
        ``Manifest.groups``.

        Args:
            include_similar: Also join the *similar, not same* pairs (``"sim-<i>"`` for a
                group that needs them): a conservative grouping for data without patient ids,
                where look-alike radiographs may be repeat exposures of one patient. This
                is the grouping of the hashes alone: look-alikes chain (on FracAtlas one
                group of 591 images), so it suits small datasets. Defaults to `False`.

        Example:
            >>> m = Manifest(["/a.png", "/b.png", "/c.png"], [0, 0, 0], ("x",))
            >>> r = AuditReport(manifest=m, records=(), clusters=[[0, 1]],
            ...                 similar_pairs=[(1, 2, 4, 0.5)])
            >>> r.groups(), r.groups(include_similar=True)
            (['dup-0', 'dup-0', 'img-2'], ['sim-0', 'sim-0', 'sim-0'])
        """
        ids = [f"img-{i}" for i in range(len(self.manifest))]
        for cluster in self.clusters:
            for i in cluster:
                ids[i] = f"dup-{cluster[0]}"
        if not include_similar or not self.similar_pairs:
            return ids
        from fracturenet.data.duplicates import UnionFind

        uf = UnionFind(list(range(len(ids))))
        for cluster in self.clusters:
            for i in cluster[1:]:
                uf.union(cluster[0], i)
        for i, j, _, _ in self.similar_pairs:
            uf.union(i, j)
        joined = {i for p in self.similar_pairs for i in p[:2]}
        roots = {uf.find(i) for i in joined}
        return [f"sim-{uf.find(i)}" if uf.find(i) in roots else g for i, g in enumerate(ids)]

    def cleaned_manifest(self, drop: str = "both") -> Manifest:
        """Returns the manifest without redundant or contradictory images (files untouched).

        Unreadable files are always left out. ``"duplicates"`` keeps one image per cluster (the
        one with the most pixels, then the first); ``"conflicts"`` drops every image of a
        cluster that spans classes; ``"both"`` does both.

        Args:
            drop: ``"duplicates"``, ``"conflicts"`` or ``"both"``. Defaults to `"both"`.

        Returns:
            A new manifest with the kept images in their original order.

        Raises:
            ValueError: If ``drop`` is not one of the accepted values.
        """
        if drop not in _DROP_CHOICES:
            raise ValueError(f"`drop` must be one of {_DROP_CHOICES}. Received: drop={drop!r}")
        out = {i for i, r in enumerate(self.records) if r.error is not None}
        if drop in ("conflicts", "both"):
            out.update(i for c in self.conflicts for i in c)
        if drop in ("duplicates", "both"):
            for c in self.clusters:
                best = max(c, key=lambda i: (self.records[i].width * self.records[i].height, -i))
                out.update(i for i in c if i != best)
        return self.manifest.select(i for i in range(len(self.manifest)) if i not in out)

    # ----- plain data -------------------------------------------------------------------
    def _image(self, i: int) -> dict[str, Any]:
        m, r = self.manifest, self.records[i]
        return {"path": m.paths[i], "label": m.class_names[m.labels[i]], "split": m.splits[i],
                "width": r.width, "height": r.height}  # fmt: skip

    def counts(self) -> dict[str, int]:
        """Returns the headline numbers (images, clusters, leaks, conflicts, ...)."""
        return {
            "images": len(self.manifest),
            "exact_duplicate_groups": len(self.exact_groups),
            "exact_duplicate_images": sum(len(g) for g in self.exact_groups),
            "near_duplicate_pairs": len(self.near_pairs),
            "rotated_or_flipped_pairs": len(self.transformed_pairs),
            "similar_not_same_pairs": len(self.similar_pairs),
            "duplicate_clusters": len(self.clusters),
            "images_in_clusters": sum(len(c) for c in self.clusters),
            "redundant_images": sum(len(c) - 1 for c in self.clusters),
            "leaking_clusters": len(self.leakage),
            "conflicting_clusters": len(self.conflicts),
            "unreadable": len(self.unreadable),
            "tiny": len(self.tiny),
        }

    def cross_split_copies(self) -> dict[str, int]:
        """Per pair of splits, the images of the later split with a copy in the earlier one.

        Splits are ordered train, val, test, then any others by name. The key
        ``"test <- train"`` counts the test images that have an exact or near copy
        (same cluster) in train: the number a reader of a study needs.

        Example:
            >>> m = Manifest(["/a.png", "/b.png", "/c.png"], [0, 0, 0], ("x",),
            ...              splits=["train", "test", "test"])
            >>> AuditReport(manifest=m, records=(), exact_groups=[], near_pairs=[],
            ...             clusters=[[0, 1]], leakage=[[0, 1]], conflicts=[], unreadable=[],
            ...             tiny=[], size_stats={}).cross_split_copies()
            {'test <- train': 1}
        """
        splits = self.manifest.splits
        known = ("train", "val", "test")
        present = {s for s in splits if s is not None}
        order = [s for s in known if s in present] + sorted(present - set(known))
        in_split: dict[int, set[str]] = {}  # cluster index -> splits it touches
        cluster_of: dict[int, int] = {}
        for k, cluster in enumerate(self.clusters):
            in_split[k] = {splits[i] for i in cluster if splits[i] is not None}
            for i in cluster:
                cluster_of[i] = k
        out = {}
        for a, earlier in enumerate(order):
            for later in order[a + 1 :]:
                out[f"{later} <- {earlier}"] = sum(
                    1
                    for i, s in enumerate(splits)
                    if s == later and i in cluster_of and earlier in in_split[cluster_of[i]]
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Returns the report as JSON-serialisable data (images named by path)."""
        gid = self.groups()
        paths = self.manifest.paths

        def cluster(c: list[int]) -> dict[str, Any]:
            return {"id": gid[c[0]], "images": [self._image(i) for i in c]}

        return {
            "root": self.manifest.root,
            "class_names": list(self.manifest.class_names),
            "settings": dict(self.settings),
            "elapsed_s": self.elapsed_s,
            "counts": self.counts(),
            "cross_split_copies": self.cross_split_copies(),
            "class_counts": self.manifest.class_counts(),
            "size_stats": self.size_stats,
            "exact_groups": [[paths[i] for i in g] for g in self.exact_groups],
            "near_pairs": [
                {"a": paths[i], "b": paths[j], "phash_distance": a, "dhash_distance": b}
                for i, j, a, b in self.near_pairs
            ],
            "rotated_or_flipped_pairs": [
                {"a": paths[i], "b": paths[j], "phash_distance": d, "transform": t}
                for i, j, d, t in self.transformed_pairs
            ],
            "similar_pairs": [
                {"a": paths[i], "b": paths[j], "phash_distance": d, "detail_similarity": s}
                for i, j, d, s in self.similar_pairs
            ],
            "clusters": [cluster(c) for c in self.clusters],
            "leakage": [gid[c[0]] for c in self.leakage],
            "conflicts": [gid[c[0]] for c in self.conflicts],
            "unreadable": [{"path": p, "reason": r} for p, r in self.unreadable],
            "tiny": [self._image(i) for i in self.tiny],
        }

    def summary(self) -> str:
        """Returns a readable multi-line summary for the terminal."""
        c, s = self.counts(), self.settings
        t = s.get("near_threshold", "?")
        lines = [
            f"Audit of {self.manifest.root or 'manifest'}: {c['images']} images, "
            f"{self.manifest.num_classes} classes ({self.elapsed_s:.1f} s)",
            f"  exact duplicates     {c['exact_duplicate_groups']} groups, "
            f"{c['exact_duplicate_images']} images (same bytes or same pixels)",
            f"  near-duplicates      {c['near_duplicate_pairs']} pairs, the same picture "
            f"(pHash <= {t}, or <= {2 * t if isinstance(t, int) else '?'} with dHash <= "
            f"{t + 3 if isinstance(t, int) else '?'} and similar grey histograms; 64-bit scale"
            + (
                f"; aligned detail similarity >= {s['min_detail']})"
                if s.get("min_detail") is not None
                else ")"
            ),
            f"  rotated / flipped    {c['rotated_or_flipped_pairs']} pairs (the same picture "
            "turned or mirrored, by its pixels or an EXIF tag)",
            *(
                [
                    f"  similar, not same    {c['similar_not_same_pairs']} pairs (hashes match, "
                    f"aligned detail similarity < {s['min_detail']}: not grouped)"
                ]
                if s.get("min_detail") is not None
                else []
            ),
            f"  duplicate clusters   {c['duplicate_clusters']} holding "
            f"{c['images_in_clusters']} images ({c['redundant_images']} redundant copies)",
            f"  cross-split leakage  {c['leaking_clusters']} clusters span splits",
            *(
                f"  copies across splits {n} {later} images have a copy in {earlier}"
                for key, n in self.cross_split_copies().items()
                for later, earlier in [key.split(" <- ")]
            ),
            f"  label conflicts      {c['conflicting_clusters']} clusters span classes",
            f"  unreadable files     {c['unreadable']}",
            f"  tiny images          {c['tiny']} (shorter side < {s.get('min_side', '?')} px)",
        ]
        counts = self.manifest.class_counts()
        if counts:
            lo, hi = min(counts.values()), max(counts.values())
            ratio = f"{hi / lo:.2f}" if lo else "inf"
            lines.append(f"Class balance (largest / smallest = {ratio}):")
            width = max(len(k) for k in counts)
            for name, k in counts.items():
                bar = "#" * round(30 * k / hi) if hi else ""
                lines.append(f"  {name:<{width}}  {k:>6}  {bar}")
        if self.size_stats:
            w, h, a = (self.size_stats[k] for k in ("width", "height", "aspect"))
            lines.append(
                f"Sizes: width {w['min']:.0f}-{w['max']:.0f} (median {w['median']:.0f}), "
                f"height {h['min']:.0f}-{h['max']:.0f} (median {h['median']:.0f}), "
                f"aspect w/h {a['min']:.2f}-{a['max']:.2f}"
            )
            bins = ", ".join(f"{k}: {v}" for k, v in self.size_stats["aspect_bins"].items())
            lines.append(f"  aspect bins: {bins}")
        for title, items in (("label conflict", self.conflicts), ("leakage", self.leakage)):
            for cl in items[:5]:
                files = "; ".join(
                    f"{self.manifest.class_names[self.manifest.labels[i]]}"
                    f"{'/' + str(self.manifest.splits[i]) if self.manifest.splits[i] else ''}:"
                    f"{os.path.basename(self.manifest.paths[i])}"
                    for i in cl[:4]
                )
                lines.append(f"  {title}: {files}")
        for p, why in self.unreadable:  # every one: a study must account for each file
            lines.append(f"  unreadable: {p}: {why}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _thumb(self, i: int, side: int) -> str | None:
        """Base64 JPEG thumbnail of image ``i``, or ``None`` when it cannot be decoded (a
        truncated file that is a byte copy of another sits in a cluster too)."""
        from PIL import Image

        from fracturenet.data.decode import load_image
        from fracturenet.exceptions import ImageDecodeError, MissingExtraError

        if self.records and self.records[i].error is not None:
            return None
        try:
            im = Image.fromarray(load_image(self.manifest.paths[i], draft=side))
        except (ImageDecodeError, MissingExtraError):
            return None
        im.thumbnail((side, side))
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=80)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    def to_html(
        self, path: str | os.PathLike[str], *, overwrite: bool = False, thumb_size: int = 160
    ) -> str:
        """Writes a self-contained HTML page: the summary and a thumbnail strip per cluster.

        Args:
            path: Output file.
            overwrite: Replace an existing file. Defaults to `False`.
            thumb_size: Longest side of the embedded thumbnails, in pixels. Defaults to `160`.

        Returns:
            The path written.

        Raises:
            FileExistsError: If ``path`` exists and ``overwrite`` is false.
        """
        _refuse_existing(os.fspath(path), overwrite)
        gid, m = self.groups(), self.manifest
        leaks = {id(c) for c in self.leakage}
        conflicts = {id(c) for c in self.conflicts}
        parts = [
            "<!doctype html><html><head><meta charset='utf-8'><title>fracturenet audit</title>",
            "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;"
            "margin:4px;vertical-align:top;max-width:" + str(thumb_size + 10) + "px}"
            "figcaption{font-size:11px;word-break:break-all}.flag{color:#b00;font-weight:bold}"
            "section{border-top:1px solid #ccc;padding:6px 0}</style></head><body>",
            f"<h1>Dataset audit</h1><pre>{html.escape(self.summary())}</pre>",
            f"<h2>Duplicate clusters ({len(self.clusters)})</h2>",
        ]
        for c in self.clusters:
            flags = []
            if id(c) in leaks:
                flags.append(
                    "LEAKAGE: spans splits " + ", ".join(sorted({str(m.splits[i]) for i in c}))
                )
            if id(c) in conflicts:
                flags.append(
                    "CONFLICT: " + " vs ".join(sorted({m.class_names[m.labels[i]] for i in c}))
                )
            parts.append(f"<section><b>{gid[c[0]]}</b> ({len(c)} images) "
                         f"<span class='flag'>{html.escape('; '.join(flags))}</span><br>")  # fmt: skip
            for i in c:
                info = self._image(i)
                cap = html.escape(f"{info['label']} | {info['split'] or '-'} | "
                                  f"{info['width']}x{info['height']} | {os.path.basename(info['path'])}")  # fmt: skip
                thumb, title = self._thumb(i, thumb_size), html.escape(info["path"], quote=True)
                img = (f"<img src='data:image/jpeg;base64,{thumb}' title='{title}'>" if thumb else
                       f"<div class='flag' title='{title}'>unreadable</div>")  # fmt: skip
                parts.append(f"<figure>{img}<figcaption>{cap}</figcaption></figure>")
            parts.append("</section>")
        if self.similar_pairs:
            shown = self.similar_pairs[:_MAX_SIMILAR_SHOWN]
            parts.append(
                f"<h2>Similar pictures, not copies ({len(self.similar_pairs)} pairs"
                f"{f', first {len(shown)} shown' if len(shown) < len(self.similar_pairs) else ''}"
                ")</h2><p>Their hashes match but their aligned detail does not "
                f"(similarity &lt; {self.settings.get('min_detail')}): they are not grouped. "
                "Look at a few to check the verification.</p>"
            )
            for i, j, d, sim in shown:
                parts.append(f"<section>pHash distance {d}, detail similarity {sim:.3f}<br>")
                for k in (i, j):
                    info, thumb = self._image(k), self._thumb(k, thumb_size)
                    cap = html.escape(f"{info['label']} | {os.path.basename(info['path'])}")
                    img = f"<img src='data:image/jpeg;base64,{thumb}'>" if thumb else "unreadable"
                    parts.append(f"<figure>{img}<figcaption>{cap}</figcaption></figure>")
                parts.append("</section>")
        if self.unreadable:
            parts.append("<h2>Unreadable files</h2><ul>")
            parts += [f"<li>{html.escape(p)}: {html.escape(r)}</li>" for p, r in self.unreadable]
            parts.append("</ul>")
        parts.append("</body></html>")
        return write_new_file(path, "\n".join(parts), overwrite=overwrite)
