"""Leakage-proof splits: stratified train/val/test and stratified group k-fold.

Images that share a group never straddle splits. By default (``groups="auto"``) the groups are
the audit's duplicate clusters, so exact and near copies of one X-ray always land on the same
side; ``"similar"`` also keeps look-alikes the audit did not call copies together (possibly
repeat exposures of one patient); ``"manifest"`` uses ``Manifest.groups`` (e.g. patient
ids), the name of an attribute
(:attr:`Manifest.attributes`, e.g. a study id from a metadata CSV) groups images sharing its
value, a tuple of these joins all of them (``("auto", "patient")``: copies and patients), and
``None`` treats every image as its own group. ``stratify_by`` adds attributes (e.g. a body
region) to the label as strata. Splits are deterministic for a seed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

import numpy as np

from fracturenet.data.manifest import Manifest
from fracturenet.exceptions import DatasetError

__all__ = ["train_val_test_split", "group_kfold"]

_GROUP_CHOICES = ("auto", "similar", "manifest", None)
_POOL = (None, "train")  # images a split may (re)assign; other split names are kept


def _check_fraction(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or not 0 <= value < 1
    ):
        raise ValueError(f"`{name}` must be a fraction in [0, 1). Received: {name}={value!r}")
    return float(value)


def _one_grouping(manifest: Manifest, groups: str | None) -> list[Hashable]:
    if groups in ("auto", "similar"):
        from fracturenet.data.audit import audit

        report = audit(manifest, progress=False)
        return list(report.groups(include_similar=groups == "similar"))
    if groups == "manifest":
        return [("g", g) if g is not None else ("i", i) for i, g in enumerate(manifest.groups)]
    if groups is None:
        return list(range(len(manifest)))
    if isinstance(groups, str) and groups in manifest.attributes:
        # Images without a value (no metadata row) stay single.
        return [
            ("a", v) if v is not None else ("i", i)
            for i, v in enumerate(manifest.attributes[groups])
        ]
    raise ValueError(
        f"`groups` must be one of {_GROUP_CHOICES}, an attribute of the manifest "
        f"({sorted(manifest.attributes) or 'it has none'}), or a tuple of these. "
        f"Received: groups={groups!r}"
    )


def _group_keys(manifest: Manifest, groups: str | None | tuple) -> list[Hashable]:
    """One hashable group key per image for the chosen grouping (several: their union)."""
    if not isinstance(groups, (tuple, list)):
        return _one_grouping(manifest, groups)
    from fracturenet.data.duplicates import UnionFind

    n = len(manifest)
    uf = UnionFind(list(range(n)))
    for g in groups:
        first: dict[Hashable, int] = {}
        for i, k in enumerate(_one_grouping(manifest, g)):
            uf.union(first.setdefault(k, i), i)
    return [uf.find(i) for i in range(n)]


def _strata(
    manifest: Manifest, stratify: bool, stratify_by: str | Sequence[str] | None
) -> list[int]:
    """One stratum index per image: the label (if ``stratify``) and the named attributes."""
    names = [stratify_by] if isinstance(stratify_by, str) else list(stratify_by or [])
    columns = [manifest.attribute(name) for name in names]
    ids: dict[tuple, int] = {}
    return [
        ids.setdefault(
            ((manifest.labels[i] if stratify else 0), *(c[i] for c in columns)), len(ids)
        )
        for i in range(len(manifest))
    ]


def _assign(
    labels: Sequence[int],
    keys: Sequence[Hashable],
    fractions: dict[str, float],
    rng: np.random.Generator,
    num_classes: int,
) -> list[str]:
    """Assigns whole groups to splits so each class is spread in the given proportions."""
    members: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        members.setdefault(k, []).append(i)
    groups = list(members.values())
    counts = np.zeros((len(groups), num_classes))
    for g, idx in enumerate(groups):
        np.add.at(counts[g], [labels[i] for i in idx], 1)
    names = [s for s, f in fractions.items() if f > 0]
    if len(groups) < len(names):
        raise DatasetError(
            f"Cannot make {len(names)} non-empty splits {names} from {len(groups)} group(s); "
            "add images, lower the number of splits, or use finer groups. "
            f"Received: groups={len(groups)}"
        )
    frac = np.array([fractions[s] for s in names])
    n_c = counts.sum(0)
    target = frac[:, None] * n_c[None, :]
    current = np.zeros_like(target)
    sizes = counts.sum(1)
    order = rng.permutation(len(groups))
    order = order[np.argsort(-sizes[order], kind="stable")]  # big groups first, ties random
    where = np.full(len(groups), -1)

    def put(g: int, s: int) -> None:
        where[g] = s
        current[s] += counts[g]

    # Seed every class into every held-out split while a copy is left for the others.
    for c in np.argsort(n_c, kind="stable"):
        for s in range(1, len(names)):
            free = [g for g in order[::-1] if where[g] < 0 and counts[g, c] > 0]
            if current[s, c] == 0 and len(free) >= 2:
                put(free[0], s)  # the smallest free group holding class c
    scale = 1.0 / np.maximum(n_c, 1)
    for g in order:
        if where[g] < 0:
            put(g, int(np.argmax(((target - current) * scale) @ counts[g])))
    for s in range(1, len(names)):  # a held-out split left empty takes the smallest spare group
        if not (where == s).any():
            spare = [g for g in order[::-1] if (where == where[g]).sum() > 1]
            put(spare[0], s)
    split_of = [""] * len(labels)
    for g, idx in enumerate(groups):
        for i in idx:
            split_of[i] = names[where[g]]
    return split_of


def train_val_test_split(
    manifest: Manifest,
    *,
    val: float = 0.2,
    test: float = 0.0,
    seed: int = 0,
    groups: str | None | tuple = "auto",
    stratify: bool = True,
    stratify_by: str | Sequence[str] | None = None,
) -> Manifest:
    """Splits a dataset into train/val(/test) without letting any group straddle splits.

    Only images without a split or in ``"train"`` are split; images the layout already puts
    in ``"val"``, ``"test"`` (or any other named split) keep it, and the fraction of a split
    the layout already has is not applied. Fractions are of the images being split.

    Args:
        manifest: The dataset.
        val: Fraction for validation, in [0, 1). Defaults to `0.2`.
        test: Fraction for test, in [0, 1). Defaults to `0.0`.
        seed: Seed; the same seed gives the same split. Defaults to `0`.
        groups: ``"auto"`` (the audit's duplicate clusters; reads every image),
            ``"similar"`` (those joined by the audit's look-alike pairs too: a conservative
            stand-in for patient ids), ``"manifest"`` (``manifest.groups``; ``None`` entries are single images), an
            attribute name (images sharing its value; ``None`` values are single images),
            ``None`` (every image alone), or a tuple of these, joined. Defaults to `"auto"`.
        stratify: Keep each class's proportions in every split. Defaults to `True`.
        stratify_by: Attribute name(s) whose values are kept in proportion too, crossed
            with the class (e.g. ``"region"``: fractured hands, non-fractured hands, ...).
            Defaults to `None`.

    Returns:
        A new manifest with ``splits`` set; with ``groups="auto"`` also its ``groups`` (the
        audit's duplicate clusters), so later grouped folds on a subset (the Trainer's
        choice of the head's penalty) need not run the audit again.

    Raises:
        ValueError: If a fraction, ``val + test`` or ``groups`` is invalid.
        DatasetError: If there are fewer groups than requested splits.

    Example:
        >>> m = Manifest(paths=[f"/d/{i}.png" for i in range(10)], labels=[0, 1] * 5,
        ...              class_names=("a", "b"))
        >>> s = train_val_test_split(m, val=0.2, groups=None)
        >>> sorted(s.subset("val").labels), len(s.subset("train"))
        ([0, 1], 8)
    """
    val, test = _check_fraction("val", val), _check_fraction("test", test)
    if val + test >= 1:
        raise ValueError(
            "`val + test` must be below 1 so training keeps some images. "
            f"Received: val={val}, test={test}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    keys = _group_keys(manifest, groups)
    present = set(manifest.split_names())
    if test > 0 and "test" in present:
        warnings.warn(
            f"{manifest.root or 'The manifest'} already has a 'test' split; it is kept and "
            f"test={test} is not applied. Pass test=0 to silence this.",
            UserWarning,
            stacklevel=2,
        )
    fractions = {
        "train": 1.0 - val * ("val" not in present) - test * ("test" not in present),
        "val": 0.0 if "val" in present else val,
        "test": 0.0 if "test" in present else test,
    }
    pool = [i for i, s in enumerate(manifest.splits) if s in _POOL]
    pool_keys = {keys[i] for i in pool}
    crossing = sum(
        1 for i, s in enumerate(manifest.splits) if s not in _POOL and keys[i] in pool_keys
    )
    if crossing:
        warnings.warn(
            f"{crossing} image(s) in the layout's fixed splits share a group with images being "
            "split (copies across the layout's own splits); see audit(...).leakage and "
            "AuditReport.cleaned_manifest().",
            UserWarning,
            stacklevel=2,
        )
    if not pool:
        return manifest
    strata = _strata(manifest, stratify, stratify_by)
    labels = [strata[i] for i in pool]
    rng = np.random.default_rng(seed)
    assigned = _assign(labels, [keys[i] for i in pool], fractions, rng, max(strata, default=0) + 1)
    splits = list(manifest.splits)
    for i, s in zip(pool, assigned, strict=True):
        splits[i] = s
    out = manifest.with_splits(splits)
    if groups == "auto":  # keep the audit's clusters: later folds (the head's) respect them too
        out = out.with_groups([str(k) for k in keys])
    return out


def group_kfold(
    manifest: Manifest,
    k: int = 5,
    *,
    seed: int = 0,
    groups: str | None | tuple = "auto",
    stratify: bool = True,
    stratify_by: str | Sequence[str] | None = None,
) -> list[tuple[Manifest, Manifest]]:
    """Stratified group k-fold: ``k`` (train, val) pairs where no group straddles the two.

    Images in the layout's ``"test"`` split are left out of every fold (they stay held out);
    all others take part. Uses scikit-learn's ``StratifiedGroupKFold`` with shuffling.

    Args:
        manifest: The dataset.
        k: Number of folds, at least 2 and at most the number of groups. Defaults to `5`.
        seed: Seed; the same seed gives the same folds. Defaults to `0`.
        groups: ``"auto"``, ``"manifest"``, an attribute name, ``None`` or a tuple, as in
            :func:`train_val_test_split`. Defaults to `"auto"`.
        stratify: Keep class proportions in each fold. Defaults to `True`.
        stratify_by: Attribute name(s) crossed with the class as strata, as in
            :func:`train_val_test_split`. Defaults to `None`.

    Returns:
        ``k`` pairs ``(train, val)`` of manifests whose splits are ``"train"`` / ``"val"``;
        every image of the pool is in exactly one ``val``.

    Raises:
        ValueError: If ``k`` or ``groups`` is invalid.
        DatasetError: If there are fewer groups than ``k``, or, with ``stratify``, every
            class has fewer than ``k`` images.

    Example:
        >>> m = Manifest(paths=[f"/d/{i}.png" for i in range(6)], labels=[0, 1] * 3,
        ...              class_names=("a", "b"))
        >>> folds = group_kfold(m, k=3, groups=None)
        >>> [(len(tr), len(va)) for tr, va in folds]
        [(4, 2), (4, 2), (4, 2)]
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"`k` must be an int >= 2. Received: k={k!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
    keys = _group_keys(manifest, groups)
    pool = [i for i, s in enumerate(manifest.splits) if s != "test"]
    ids: dict[Hashable, int] = {}
    g = np.array([ids.setdefault(keys[i], len(ids)) for i in pool])
    if len(ids) < k:
        raise DatasetError(
            f"Cannot make {k} folds from {len(ids)} group(s) of "
            f"{manifest.root or 'the manifest'}; lower k or use finer groups. Received: k={k}"
        )
    strata = _strata(manifest, stratify, stratify_by)
    y = np.array([strata[i] for i in pool], dtype=int)
    largest = int(np.bincount(y).max()) if len(y) else 0
    if largest < k:  # scikit-learn cannot stratify when every class is smaller than k
        raise DatasetError(
            f"Cannot make {k} stratified folds of {manifest.root or 'the manifest'}: every "
            f"class has fewer than {k} images (the largest has {largest}); lower k or pass "
            f"stratify=False. Received: k={k}"
        )
    cv = StratifiedGroupKFold(n_splits=int(k), shuffle=True, random_state=int(seed))
    folds = []
    for tr, va in cv.split(np.zeros(len(pool)), y, g):
        train = manifest.select(pool[i] for i in tr)
        valid = manifest.select(pool[i] for i in va)
        folds.append(
            (train.with_splits(["train"] * len(train)), valid.with_splits(["val"] * len(valid)))
        )
    return folds
