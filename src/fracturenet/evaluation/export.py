"""Writers shared by reports and comparisons: strict JSON, no-overwrite files, plain HTML."""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_jsonable", "from_jsonable", "write_new_file", "markdown_tables_to_html", "html_page"]


def to_jsonable(value: Any) -> Any:
    """Replaces nan/inf by None (strict JSON) and NumPy values by Python ones."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable` for metric trees: None back to nan."""
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return float("nan") if value is None else value


def write_new_file(path: str | os.PathLike[str], text: str, *, overwrite: bool) -> str:
    """Writes ``text`` to ``path`` (parents created), refusing to replace an existing file."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists and would be overwritten; choose another path or "
            f"pass overwrite=True. Received: path={str(target)!r}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w" if overwrite else "x", encoding="utf-8") as fh:
        fh.write(text)
    return str(target)


def markdown_tables_to_html(markdown: str) -> str:
    """Converts the simple Markdown this package writes (headings, pipe tables, text) to HTML."""
    out: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            head, *body = table
            out.append("<table><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body)
            out.append("</table>")
            table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        flush()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    return "\n".join(out)


def html_page(title: str, body: str) -> str:
    """Wraps ``body`` in a standalone HTML document with inline CSS (no external resources)."""
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%;margin:1em 0}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
