"""``--metadata`` and its companions, shared by ``fracturenet audit`` and ``train``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fracturenet.commands._registry import UsageError

__all__ = ["join_metadata_flags", "parse_flags", "parse_label"]


def parse_label(text: str | None) -> tuple[str | None, dict[str, str] | None]:
    """``COL`` or ``COL:VALUE=CLASS,VALUE=CLASS`` -> the column and the value mapping.

    Example:
        >>> parse_label("fractured:1=Fractured,0=Non_fractured")
        ('fractured', {'1': 'Fractured', '0': 'Non_fractured'})
    """
    if not text:
        return None, None
    column, _, mapping = text.partition(":")
    try:
        values = dict(pair.split("=", 1) for pair in mapping.split(",")) if mapping else None
    except ValueError:
        raise UsageError(
            "--metadata-label must look like COL or COL:VALUE=CLASS,VALUE=CLASS. "
            f"Received: metadata_label={text!r}"
        ) from None
    return column, values


def parse_flags(items: Sequence[str]) -> dict[str, list[str]]:
    """``NAME=COL,COL`` items -> ``{NAME: [COL, COL]}``.

    Example:
        >>> parse_flags(["region=hand,leg"])
        {'region': ['hand', 'leg']}
    """
    flags = {}
    for item in items:
        name, _, cols = item.partition("=")
        if not name or not cols:
            raise UsageError(
                f"--metadata-flags must look like NAME=COL,COL. Received: metadata_flags={item!r}"
            )
        flags[name] = cols.split(",")
    return flags


def join_metadata_flags(
    manifest: Any,
    csv: str,
    *,
    key: str | None,
    label: str | None,
    labels_from: str,
    flags: Sequence[str],
    say: Callable[[str], None],
) -> Any:
    """The manifest joined with the ``--metadata`` table; its warnings go to ``say``."""
    import warnings

    from fracturenet.data import join_metadata

    label_column, values = parse_label(label)
    categories = parse_flags(flags)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        joined = join_metadata(
            manifest, csv, on=key, label_column=label_column, label_values=values,
            labels_from=labels_from, categories=categories or None,
        )  # fmt: skip
    for w in caught:
        say(str(w.message))
    return joined
