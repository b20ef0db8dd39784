"""The demo's single self-contained HTML page (all images embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["write_demo_report", "phantom_contact_sheet"]

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} .note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em 1em}
.verdict{font-size:1.15em;background:#eef6ff;border-left:4px solid #2a6ebb;padding:.6em 1em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right} th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.3em 0} .grid{display:flex;gap:1em;flex-wrap:wrap}
.grid figure{margin:0;flex:1 1 320px} figcaption{color:#555;font-size:.9em}
"""


def _img(path: Path | str, alt: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def phantom_contact_sheet(manifest: Any, path: Path, *, per_class: int = 3) -> Path:
    """Saves a PNG with the first ``per_class`` training phantoms of each class."""
    from matplotlib.figure import Figure
    from PIL import Image

    k = manifest.num_classes
    fig = Figure(figsize=(1.5 * k, 1.6 * per_class), dpi=90)
    for c, name in enumerate(manifest.class_names):
        idx = [i for i, y in enumerate(manifest.labels) if y == c][:per_class]
        for r, i in enumerate(idx):
            ax = fig.add_subplot(per_class, k, r * k + c + 1)
            ax.imshow(Image.open(manifest.paths[i]).convert("L"), cmap="gray", vmin=0, vmax=255)
            ax.set_axis_off()
            if r == 0:
                ax.set_title(name.replace(" fracture", "").replace(" Fracture", ""), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _metrics_table(reports: dict[str, Any]) -> str:
    rows = []
    names = list(reports)
    keys = ["accuracy", "balanced_accuracy", "macro_f1", "roc_auc_macro", "ece"]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    for key in keys:
        cells = []
        for n in names:
            m = reports[n].metrics
            if key not in m:
                cells.append("<td>–</td>")
                continue
            ci = reports[n].intervals.get(key)
            extra = f" <small>[{ci.low:.3f}, {ci.high:.3f}]</small>" if ci else ""
            cells.append(f"<td>{m[key]:.3f}{extra}</td>")
        rows.append(f"<tr><td>{key}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>metric (95% CI)</th>{head}</tr>{''.join(rows)}</table>"


def write_demo_report(out: Path, settings: Any, manifest: Any, reports: dict[str, Any],
                      comparison: Any, result: Any) -> Path:
    """Writes ``out/report.html`` and the PNGs it embeds; returns the HTML path."""
    from fracturenet import __version__
    from fracturenet.evaluation.plots import plot_confusion_matrix

    sheet = phantom_contact_sheet(manifest, out / "phantoms.png")
    parts = [f"<h1>fracturenet demo: {' vs '.join(reports)}</h1>",
             f"<p>{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · fracturenet {__version__} · "
             f"{result.seconds:.0f} s wall time</p>"]
    random_init = [b for b, w in result.weights.items() if w != "imagenet"]
    if random_init:
        parts.append(
            '<p class="note">No ImageNet weights were cached on this machine, so '
            f"{', '.join(random_init)} started from random weights (<code>weights=None</code>) "
            "and trained all layers. With network access, Keras downloads the weights once "
            "into <code>~/.keras/models/</code> and the demo then fine-tunes pretrained "
            "backbones.</p>")
    parts.append(f'<p class="verdict">{html.escape(comparison.verdict)}</p>')
    parts.append(f"<pre>{html.escape(comparison.to_markdown())}</pre>")
    parts.append("<h2>Held-out phantom test split</h2>" + _metrics_table(reports))
    parts.append(
        "<h2>Data</h2><p>Synthetic phantoms: procedurally drawn radiograph-like long bones with "
        "one fracture pattern per class. A pipeline test bed, <b>not medical data</b>. "
        f"{len(manifest)} images, {manifest.num_classes} classes, budget: "
        f"{settings.images_per_class} images/class, {settings.input_size} px input, "
        f"{settings.epochs} head + {settings.fine_tune_epochs} fine-tune epochs.</p>"
        + _img(sheet, "phantom examples"))
    for name, report in reports.items():
        folder = out / name
        cm = folder / "confusion_matrix.png"
        plot_confusion_matrix(report.metrics["confusion_matrix"], report.class_names,
                              normalized=False).savefig(cm, format="png", dpi=100)
        figs = [(cm, "confusion matrix (counts)"),
                (folder / "training_curves.png", "training curves"),
                (folder / "gradcam.png", "Grad-CAM on test images")]
        body = "".join(f"<figure>{_img(p, c)}<figcaption>{c}</figcaption></figure>"
                       for p, c in figs if Path(p).exists())
        parts.append(f"<h2>{html.escape(name)}</h2><div class='grid'>{body}</div>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>fracturenet demo</title>"
            f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
