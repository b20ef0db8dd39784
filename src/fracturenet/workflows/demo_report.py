"""The demo's single self-contained HTML page (all images embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fracturenet.workflows.demo_backbones import OFFLINE_PAIR

__all__ = ["write_demo_report", "phantom_contact_sheet"]

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em 1em}
.verdict{font-size:1.15em;background:#eef6ff;border-left:4px solid #2a6ebb;padding:.6em 1em;
overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right} th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
figure{margin:1em 0} figcaption{color:#555;font-size:.9em;max-width:60em}
img{max-width:100%;height:auto;border:1px solid #ddd;cursor:zoom-in;display:block}
img.zoom{position:fixed;inset:0;margin:auto;max-width:98vw;max-height:98vh;width:auto;
z-index:9;background:#fff;box-shadow:0 0 0 100vmax rgba(0,0,0,.6);cursor:zoom-out}
.side{display:grid;grid-template-columns:minmax(0,520px) minmax(0,1fr);gap:1.5em;
align-items:start} .side figcaption{font-size:.95em}
.caveat{background:#fdf0ef;border-left:4px solid #c0392b;padding:.4em .8em;margin:.5em 0}
@media (max-width:800px){.side{grid-template-columns:1fr}}
"""
# Click an image to see it at full size, click again to go back (no external files).
_ZOOM_JS = (
    "<script>document.querySelectorAll('img').forEach(function(i){i.title="
    "'click to enlarge';i.onclick=function(){i.classList.toggle('zoom')}})</script>"
)


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


def _budget(settings: Any, result: Any) -> str:
    """The epochs that ran, per recipe (fine-tuning only runs from ImageNet weights)."""
    recipes = getattr(result, "recipes", {}) or {}
    if recipes and all(r == "scratch" for r in recipes.values()):
        return f"{settings.epochs} end-to-end epochs (scratch recipe)."
    tuned = settings.fine_tune_epochs if "imagenet" in result.weights.values() else 0
    return f"{settings.epochs} head epochs" + (f" + {tuned} fine-tune epochs." if tuned else ".")


def _qualifiers(manifest: Any, weights: dict[str, str], n_test: int) -> str:
    """The conditions a verdict holds under, for the same sentence as the verdict."""
    random_init = [b for b, w in weights.items() if w != "imagenet"]
    if not random_init:
        init = "fine-tuned from ImageNet weights"
    elif len(random_init) == len(weights):
        init = "trained from random weights (no ImageNet weights)"
    else:
        init = f"{', '.join(random_init)} trained from random weights"
    return f"On {n_test} synthetic test phantoms (not medical data), with models {init}: "


def _chance_caveats(reports: dict[str, Any]) -> dict[str, str]:
    """Models whose accuracy interval reaches chance level: their maps mean little."""
    out = {}
    for name, report in reports.items():
        chance = 1.0 / len(report.class_names)
        ci = report.intervals.get("accuracy")
        low = ci.low if ci is not None else report.metrics.get("accuracy", 0.0)
        if low <= chance * 1.5:
            out[name] = (
                f"{name}'s accuracy ({report.metrics['accuracy']:.3f}, 95% CI from {low:.3f}) "
                f"is near chance ({chance:.3f} for {len(report.class_names)} classes): its "
                "per-class numbers and Grad-CAM maps say little about what it learned."
            )
    return out


def _calibration_note(reports: dict[str, Any]) -> str:
    """A sentence when the models' expected calibration errors differ markedly."""
    eces = {n: r.metrics["ece"] for n, r in reports.items() if "ece" in r.metrics}
    if len(eces) < 2:
        return ""
    best, worst = min(eces, key=eces.get), max(eces, key=eces.get)
    if eces[worst] - eces[best] < 0.05 or eces[worst] < 2 * eces[best]:
        if eces[best] < 0.1:
            return ""
        listed = ", ".join(f"{html.escape(n)} {e:.3f}" for n, e in eces.items())
        return (
            f"<p class='caveat'><b>Calibration:</b> every model's expected calibration error "
            f"is above 0.1 ({listed}): its predicted probabilities are not reliable as "
            "confidences, whatever its accuracy. Fit a temperature on validation data "
            "(<code>fracturenet.evaluation.calibrate</code>) before reading them as "
            "probabilities.</p>"
        )
    return (
        f"<p class='caveat'><b>Calibration differs:</b> {html.escape(worst)}'s expected "
        f"calibration error is {eces[worst]:.3f} against {eces[best]:.3f} for "
        f"{html.escape(best)}, so {html.escape(worst)}'s predicted probabilities are much "
        "less trustworthy as confidences, whatever its accuracy.</p>"
    )


def _figure(path: Path, caption: str) -> str:
    return f"<figure>{_img(path, caption)}<figcaption>{caption}</figcaption></figure>"


def _gradcam_block(path: Path, name: str, weights: str, caveat: str | None) -> str:
    notes = [
        "Grad-CAM on test images: left the input, right the map over it with the predicted "
        "and true class; the colour bar gives the scale (each map is scaled to its own "
        "maximum, so colours compare regions within an image, not across images)."
    ]
    if weights != "imagenet":
        notes.append(
            "<p class='caveat'>This backbone started from random weights and saw only a few "
            "hundred phantoms: its maps show where this model looks, not where a fracture "
            "is.</p>"
        )
    if caveat:
        notes.append(f"<p class='caveat'>{html.escape(caveat)}</p>")
    text = "".join(n if n.startswith("<p") else f"<p>{n}</p>" for n in notes)
    return (
        f"<div class='side'><figure>{_img(path, f'Grad-CAM, {name}')}</figure>"
        f"<figcaption>{text}</figcaption></div>"
    )


def write_demo_report(
    out: Path, settings: Any, manifest: Any, reports: dict[str, Any], comparison: Any, result: Any
) -> Path:
    """Writes ``out/report.html`` and the PNGs it embeds; returns the HTML path.

    The page reads like a figure page: the verdict with the conditions it holds under in
    the same sentence, one metrics table, each plot at its natural size (click to enlarge),
    and caveats where a number or a map means little.
    """
    from fracturenet._version import __version__
    from fracturenet.evaluation.plots import plot_confusion_matrix

    sheet = phantom_contact_sheet(manifest, out / "phantoms.png")
    n_test = len(next(iter(reports.values())).y_true)
    parts = [
        f"<h1>fracturenet demo: {' vs '.join(reports)}</h1>",
        f"<p>{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · fracturenet {__version__} · "
        f"{result.seconds:.0f} s wall time</p>",
    ]
    said = comparison.verdict
    said = said[0].lower() + said[1:] if said.startswith("No ") else said
    verdict = _qualifiers(manifest, result.weights, n_test) + said
    parts.append(f'<p class="verdict">{html.escape(verdict)}</p>')
    random_init = [b for b, w in result.weights.items() if w != "imagenet"]
    if set(result.weights) == set(OFFLINE_PAIR):
        parts.append(
            '<p class="note">No ImageNet weights for VGG16 and ResNet50 were cached on this '
            "machine, and from random weights they learn nothing in a CPU demo's budget, so "
            f"the demo compares {' and '.join(OFFLINE_PAIR)}, small CNNs trained end to end "
            "from random weights (the scratch recipe; the two differ only in width). With "
            "network access, Keras downloads the ImageNet weights once into "
            "<code>~/.keras/models/</code> and the demo then compares VGG16 and ResNet50 "
            "fine-tuned from them.</p>"
        )
    elif random_init and len(random_init) < len(result.weights):
        files = getattr(result, "imagenet_files", {}) or {}
        missing = [f"{b}: {why}" for b, why in files.items() if why not in ("cached", "downloaded")]
        pretrained = [b for b in result.weights if b not in random_init]
        parts.append(
            f'<p class="note">{html.escape(", ".join(pretrained))} started from ImageNet '
            f"weights; {html.escape(', '.join(random_init))} is the from-scratch reference "
            "(random weights, all layers trained: the scratch recipe)."
            + (
                " The other ImageNet file was not available ("
                + html.escape("; ".join(missing))
                + "), so the demo did not compare two pretrained backbones."
                if missing
                else ""
            )
            + "</p>"
        )
    elif random_init:
        parts.append(
            '<p class="note">No ImageNet weights were cached on this machine, so '
            f"{', '.join(random_init)} started from random weights (<code>weights=None</code>) "
            + (
                "and, as a pipeline check, only a head was trained on their frozen "
                "random features: these numbers do not show what the backbones can learn. "
                if any(
                    getattr(result, "recipes", {}).get(b, "transfer") == "transfer"
                    for b in random_init
                )
                else "and trained all layers end to end (the scratch recipe). "
            )
            + "With network access, Keras downloads the weights once "
            "into <code>~/.keras/models/</code> and the demo then fine-tunes pretrained "
            "backbones.</p>"
        )
    parts.append("<h2>Held-out phantom test split</h2>" + _metrics_table(reports))
    parts.append(_calibration_note(reports))
    caveats = _chance_caveats(reports)
    parts.extend(f"<p class='caveat'>{html.escape(c)}</p>" for c in caveats.values())
    parts.append(
        "<h2>Data</h2><p>Synthetic phantoms: procedurally drawn radiograph-like long bones with "
        "one fracture pattern per class. A pipeline test bed, <b>not medical data</b>. "
        f"{len(manifest)} images, {manifest.num_classes} classes, budget: "
        f"{settings.images_per_class} images/class, {settings.input_size} px input, "
        + _budget(settings, result)
        + "</p>"
        + _figure(sheet, "Training phantoms, three per class.")
    )
    for name, report in reports.items():
        folder = out / name
        cm = folder / "confusion_matrix.png"
        plot_confusion_matrix(
            report.metrics["confusion_matrix"], report.class_names, normalized=False
        ).savefig(cm, format="png", dpi=100)
        body = [f"<h2>{html.escape(name)}</h2>"]
        body.append(_figure(cm, f"{name}: confusion matrix on the test phantoms (counts)."))
        curves = folder / "training_curves.png"
        if curves.exists():
            body.append(_figure(curves, f"{name}: loss and accuracy per epoch."))
        gradcam = folder / "gradcam.png"
        if gradcam.exists():
            weights = result.weights.get(name, "none")
            body.append(_gradcam_block(gradcam, name, weights, caveats.get(name)))
        parts.append("".join(body))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>fracturenet demo</title><style>{_CSS}</style></head>"
        f"<body>{''.join(parts)}{_ZOOM_JS}</body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
