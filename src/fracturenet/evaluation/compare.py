"""Paired comparison of models evaluated on the same images: McNemar + paired bootstrap.

For each pair of models (a, b): McNemar's test on the images exactly one of them gets right
(exact two-sided binomial test when there are fewer than 25 such images, chi-square with
continuity correction otherwise; Holm-adjusted over the pairs when there are more than two
models), and paired-bootstrap intervals of the differences ``a - b`` in accuracy and macro-F1.
The verdict weighs accuracy and macro-F1: it says "no significant difference" when both
intervals contain 0, says so in words when the two metrics disagree, and calls a model
significantly more accurate only when the accuracy interval excludes 0 *and* McNemar's p (the
Holm-adjusted one, labelled as such, when there are more than two models) is below alpha.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from fracturenet._json_results import JsonResult, to_jsonable, write_new_file
from fracturenet.evaluation.bootstrap import ConfidenceInterval, paired_bootstrap_diff
from fracturenet.evaluation.html_pages import html_page, markdown_tables_to_html
from fracturenet.evaluation.provenance import (
    describe_split,
    leakage_warning,
    random_weights_warning,
    used_for_selection,
)
from fracturenet.evaluation.report import EvaluationReport
from fracturenet.evaluation.significance import holm_adjust, mcnemar_test
from fracturenet.exceptions import ComparisonError

__all__ = ["compare", "ComparisonResult", "PairwiseComparison"]


@dataclass(frozen=True)
class PairwiseComparison:
    """The comparison of two models (differences are ``a - b``).

    Attributes:
        a: Name of the first model.
        b: Name of the second model.
        only_a_correct: Images a got right and b got wrong.
        only_b_correct: Images b got right and a got wrong.
        p_value: McNemar two-sided p-value.
        p_value_adjusted: Holm-adjusted p-value over all pairs (equal to ``p_value`` for two
            models).
        method: ``"exact"`` or ``"chi2-cc"``.
        accuracy_diff: Paired-bootstrap interval of the accuracy difference.
        macro_f1_diff: Paired-bootstrap interval of the macro-F1 difference.
        verdict: Plain-language conclusion.
    """

    a: str
    b: str
    only_a_correct: int
    only_b_correct: int
    p_value: float
    p_value_adjusted: float
    method: str
    accuracy_diff: ConfidenceInterval
    macro_f1_diff: ConfidenceInterval
    verdict: str


def _p_text(p: float, p_raw: float, n_pairs: int) -> str:
    """The McNemar p-value, labelled as adjusted (and by which method) when it is."""
    if n_pairs < 2:
        return f"McNemar p = {p:.3g}"
    return f"McNemar p = {p:.3g} (Holm-adjusted over {n_pairs} pairs; unadjusted {p_raw:.3g})"


def _verdict(
    a: str,
    b: str,
    acc: ConfidenceInterval,
    f1: ConfidenceInterval,
    p: float,
    alpha: float,
    *,
    p_raw: float | None = None,
    n_pairs: int = 1,
    evaluated_on: str = "",
    selection: bool = False,
    leakage: bool = False,
) -> str:
    """The plain-language verdict; ``p`` is the (Holm-adjusted) p-value it is decided on.

    Accuracy and macro-F1 are both weighed: a difference counts when its interval excludes 0,
    and the verdict says so when the two metrics disagree.
    """
    pts = f"{100 * acc.estimate:+.1f} points, {acc.level:.0%} CI [{100 * acc.low:+.1f}, {100 * acc.high:+.1f}]"
    f1_txt = (
        f"macro-F1 {100 * f1.estimate:+.1f} points, CI [{100 * f1.low:+.1f}, {100 * f1.high:+.1f}]"
    )
    p_txt = _p_text(p, p if p_raw is None else p_raw, n_pairs)
    detail = f"accuracy {a} - {b}: {pts}; {f1_txt}; {p_txt}"
    if evaluated_on:
        detail += f"; {evaluated_on}"
    verdict = _verdict_text(a, b, acc, f1, p, alpha, detail, n_pairs)
    if leakage:
        verdict = (
            "With training images among the evaluated ones (leakage: optimistic, not a test "
            f"result; compared with allow_training_overlap): {verdict}"
        )
    if selection:
        return (
            "On a split used for model selection (optimistic, not a test result; compared "
            f"with allow_selection_split): {verdict}"
        )
    return verdict


def _verdict_text(
    a: str,
    b: str,
    acc: ConfidenceInterval,
    f1: ConfidenceInterval,
    p: float,
    alpha: float,
    detail: str,
    n_pairs: int,
) -> str:
    acc_diff, f1_diff = not acc.spans(0.0), not f1.spans(0.0)
    if not acc_diff and not f1_diff:
        return f"No significant difference between {a} and {b} in accuracy or macro-F1 ({detail})."
    if acc_diff and f1_diff and (acc.estimate > 0) != (f1.estimate > 0):
        return (
            f"The metrics disagree: {a if acc.estimate > 0 else b} is more accurate but "
            f"{a if f1.estimate > 0 else b} has the higher macro-F1, both intervals excluding 0 "
            f"({detail})."
        )
    if not acc_diff:
        better, worse = (a, b) if f1.estimate > 0 else (b, a)
        return (
            f"The metrics disagree: {better} has a higher macro-F1 than {worse} (interval "
            f"excludes 0) but the accuracy difference is not significant ({detail})."
        )
    better, worse = (a, b) if acc.estimate > 0 else (b, a)
    f1_note = "" if f1_diff else "; the macro-F1 difference is not significant"
    if p < alpha:
        return f"{better} is significantly more accurate than {worse}{f1_note} ({detail})."
    return (
        f"{better} scores higher than {worse} and the bootstrap interval excludes 0, but "
        f"McNemar's test is not significant at alpha = {alpha}"
        + (" after Holm's adjustment" if n_pairs > 1 else "")
        + f": weak evidence{f1_note} ({detail})."
    )


def _check_same_images(reports: Sequence[EvaluationReport], names: Sequence[str]) -> None:
    ref, ref_name = reports[0], names[0]
    for rep, name in zip(reports[1:], names[1:], strict=True):
        if tuple(rep.class_names) != tuple(ref.class_names):
            raise ComparisonError(
                f"Reports {ref_name!r} and {name!r} have different class names; compare models "
                f"of the same classes. Received: {list(ref.class_names)} vs {list(rep.class_names)}"
            )
        if len(rep.ids) != len(ref.ids) or tuple(rep.ids) != tuple(ref.ids):
            diff = next(
                (i for i, (u, v) in enumerate(zip(ref.ids, rep.ids, strict=False)) if u != v), None
            )
            where = (
                f"first difference at position {diff}: {ref.ids[diff]!r} vs {rep.ids[diff]!r}"
                if diff is not None
                else ""
            )
            raise ComparisonError(
                f"Reports {ref_name!r} and {name!r} are on different images; evaluate both models "
                f"on the same data in the same order. Received: {len(ref.ids)} vs {len(rep.ids)} "
                f"ids {where}".rstrip()
            )
        if not np.array_equal(rep.y_true, ref.y_true):
            i = int(np.flatnonzero(rep.y_true != ref.y_true)[0])
            raise ComparisonError(
                f"Reports {ref_name!r} and {name!r} disagree on the true labels of the same images. "
                f"Received: y_true[{i}] ({ref.ids[i]!r}) = {ref.y_true[i]} vs {rep.y_true[i]}"
            )


@dataclass(frozen=True)
class ComparisonResult(JsonResult):
    """Side-by-side results of several models and their pairwise comparisons.

    Attributes:
        names: Model names, in the order given.
        reports: The reports compared.
        pairs: One :class:`PairwiseComparison` per pair ``(i < j)``.
        alpha: Significance level.
        n_boot: Paired-bootstrap resamples.
        seed: Bootstrap seed.
    """

    names: tuple[str, ...]
    reports: tuple[EvaluationReport, ...]
    pairs: tuple[PairwiseComparison, ...]
    alpha: float
    n_boot: int
    seed: int

    @property
    def verdict(self) -> str:
        """The verdicts of all pairs, one per line."""
        return "\n".join(p.verdict for p in self.pairs)

    def to_dict(self) -> dict:
        """Returns a strict-JSON-compatible dict (predictions not included)."""
        return to_jsonable(
            {
                "names": list(self.names),
                "alpha": self.alpha,
                "n_boot": self.n_boot,
                "seed": self.seed,
                "n_images": len(self.reports[0].y_true),
                "evaluated_on": {
                    "split": self.reports[0].info.get("split"),
                    "n_images": len(self.reports[0].y_true),
                    "used_for_selection": {
                        n: used_for_selection(r.info)
                        for n, r in zip(self.names, self.reports, strict=True)
                    },
                },
                "models": {
                    n: {
                        "metrics": {m: v for m, v, _ in r.headline_rows()},
                        "intervals": {k: ci.to_dict() for k, ci in r.intervals.items()},
                    }
                    for n, r in zip(self.names, self.reports, strict=True)
                },
                "pairs": [
                    {
                        **{k: v for k, v in vars(p).items() if not k.endswith("_diff")},
                        "accuracy_diff": p.accuracy_diff.to_dict(),
                        "macro_f1_diff": p.macro_f1_diff.to_dict(),
                    }
                    for p in self.pairs
                ],
                "verdict": self.verdict,
            }
        )

    def to_markdown(self) -> str:
        """Returns the side-by-side metric table, the pairwise table and the verdict."""
        rows = [(m, v, ci) for m, v, ci in self.reports[0].headline_rows()]
        lines = ["# Model comparison", ""]
        for n, r in zip(self.names, self.reports, strict=True):
            lines.append(f"{n}: {describe_split(r.info, len(r.y_true))}.")
            warning = random_weights_warning(r.info)
            if warning:
                lines.append(f"**{n}: {warning}**")
        lines += ["", "| metric | " + " | ".join(self.names) + " |"]
        lines.append("|---" * (len(self.names) + 1) + "|")
        for metric, _, _ in rows:
            cells = []
            for r in self.reports:
                ci = r.intervals.get(metric)
                value = r.value(metric)
                cells.append(f"{value:.3f}" + (f" [{ci.low:.3f}, {ci.high:.3f}]" if ci else ""))
            lines.append(f"| {metric} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "| a - b | only a right | only b right | McNemar p"
            + (" (Holm-adjusted)" if len(self.pairs) > 1 else "")
            + " | test | Δ accuracy [CI] | Δ macro-F1 [CI] |",
        ]
        lines.append("|---|---|---|---|---|---|---|")
        for p in self.pairs:
            acc, f1 = p.accuracy_diff, p.macro_f1_diff
            lines.append(
                f"| {p.a} - {p.b} | {p.only_a_correct} | {p.only_b_correct} | {p.p_value_adjusted:.3g} "
                f"| {p.method} | {acc.estimate:+.3f} [{acc.low:+.3f}, {acc.high:+.3f}] "
                f"| {f1.estimate:+.3f} [{f1.low:+.3f}, {f1.high:+.3f}] |"
            )
        lines += ["", "## Verdict", "", *[p.verdict for p in self.pairs]]
        return "\n".join(lines) + "\n"

    def plot(self):
        """Forest plot of accuracy and macro-F1 per model and of the pairwise differences."""
        from fracturenet.evaluation.plots import plot_intervals

        rows: dict[str, dict[str, tuple[float, float, float]]] = {}
        for metric, attr in (("accuracy", "accuracy_diff"), ("macro_f1", "macro_f1_diff")):
            rows[metric] = {}
            for n, r in zip(self.names, self.reports, strict=True):
                ci = r.intervals.get(metric)
                est = r.metrics[metric]
                rows[metric][n] = (est, ci.low, ci.high) if ci else (est, est, est)
            for p in self.pairs:
                d = getattr(p, attr)
                rows[metric][f"{p.a} - {p.b}"] = (d.estimate, d.low, d.high)
        return plot_intervals(rows, title="Models and paired differences", reference=0.0)

    def to_html(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Writes a self-contained HTML page with the tables, verdict and the forest plot."""
        from fracturenet.evaluation.plots import figure_to_base64_png

        img = f'<img alt="comparison" src="data:image/png;base64,{figure_to_base64_png(self.plot())}">'
        page = html_page("Model comparison", markdown_tables_to_html(self.to_markdown()) + img)
        return write_new_file(path, page, overwrite=overwrite)


def compare(
    *reports: EvaluationReport | str | os.PathLike[str],
    names: Sequence[str] | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    allow_selection_split: bool = False,
    allow_training_overlap: bool = False,
) -> ComparisonResult:
    """Compares two or more models evaluated on the same images.

    Args:
        *reports: :class:`EvaluationReport` objects or paths of reports saved with
            ``to_json``, all on the same images in the same order.
        names: One unique name per report. Defaults to `None` (each report's
            ``model_name``, else ``model_1``, ``model_2``, ...).
        alpha: Significance level of McNemar's test; the intervals have level
            ``1 - alpha``. Defaults to `0.05`.
        n_boot: Paired-bootstrap resamples. Defaults to `2000`.
        seed: Bootstrap seed. Defaults to `0`.
        allow_selection_split: Compare reports computed on a split that was used for model
            selection (early stopping / best epoch); every verdict then says so in words.
            Defaults to `False` (such reports are refused).
        allow_training_overlap: Compare reports whose evaluated images include images the
            model was trained on (same file content, found through the model's recorded
            training set); every verdict then says so in words. Defaults to `False` (such
            reports are refused).

    Returns:
        A :class:`ComparisonResult`; ``result.verdict`` is the plain-language answer.

    Raises:
        ComparisonError: If the reports differ in images (ids), labels or class names, or
            one was computed on a model-selection split and ``allow_selection_split`` is
            false, or one was computed on images its model was trained on and
            ``allow_training_overlap`` is false.
        ValueError: On fewer than two reports, bad ``names`` or ``alpha`` outside ``(0, 1)``.

    Example:
        >>> y = [0, 1, 1, 0, 1, 0]
        >>> a = EvaluationReport.from_predictions(y, np.eye(2)[y], class_names=None, bootstrap=0)
        >>> b = EvaluationReport.from_predictions(y, np.eye(2)[[0, 1, 0, 0, 1, 1]],
        ...                                       class_names=None, bootstrap=0)
        >>> compare(a, b, names=["A", "B"], n_boot=200).pairs[0].verdict.split(" (")[0]
        'No significant difference between A and B in accuracy or macro-F1'
    """
    loaded = tuple(
        r if isinstance(r, EvaluationReport) else EvaluationReport.from_json(r) for r in reports
    )
    if len(loaded) < 2:
        raise ValueError(f"compare needs at least two reports. Received: {len(loaded)} report(s)")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"`alpha` must lie strictly between 0 and 1. Received: alpha={alpha}")
    if names is None:
        names = [r.model_name or f"model_{i + 1}" for i, r in enumerate(loaded)]
        if len(set(names)) != len(names):
            names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    names = tuple(str(n) for n in names)
    if len(names) != len(loaded) or len(set(names)) != len(names):
        raise ValueError(
            f"`names` must hold {len(loaded)} unique names, one per report. Received: names={list(names)}"
        )
    _check_same_images(loaded, names)
    selected = [n for n, r in zip(names, loaded, strict=True) if used_for_selection(r.info)]
    if selected and not allow_selection_split:
        raise ComparisonError(
            f"Report(s) {selected} were computed on a split used for model selection (early "
            "stopping / best epoch), so their numbers are optimistic and a verdict on them is "
            "not a test result. Evaluate the models on a held-out test split (fracturenet "
            "evaluate --split test), or pass allow_selection_split=True "
            "(--allow-selection-split) to compare anyway; the verdict then says so. "
            f"Received: {describe_split(loaded[0].info, len(loaded[0].y_true))}"
        )
    leaks = {
        n: text
        for n, r in zip(names, loaded, strict=True)
        if (text := leakage_warning(r.info, len(r.y_true)))
    }
    leaking = list(leaks)
    if leaking and not allow_training_overlap:
        raise ComparisonError(
            f"Report(s) {leaking} were computed on images their model was trained on, so "
            "their numbers are optimistic and a verdict on them is not a test result. "
            "Evaluate the models on images outside their training split, or pass "
            "allow_training_overlap=True (--allow-training-overlap) to compare anyway; the "
            "verdict then says so. Received: "
            + "; ".join(f"{n}: {text}" for n, text in leaks.items())
        )
    y = loaded[0].y_true
    raw = []
    for i, j in combinations(range(len(loaded)), 2):
        ra, rb = loaded[i], loaded[j]
        b_, c_, p, method = mcnemar_test(ra.y_pred == y, rb.y_pred == y)
        diffs = paired_bootstrap_diff(
            y, ra.y_prob, rb.y_prob, n_boot=n_boot, seed=seed, level=1 - alpha
        )
        raw.append((names[i], names[j], b_, c_, p, method, diffs))
    adjusted = holm_adjust([r[4] for r in raw])
    pairs = tuple(
        PairwiseComparison(
            a,
            b,
            b_,
            c_,
            p,
            p_adj,
            method,
            d["accuracy"],
            d["macro_f1"],
            _verdict(
                a,
                b,
                d["accuracy"],
                d["macro_f1"],
                p_adj,
                alpha,
                p_raw=p,
                n_pairs=len(raw),
                evaluated_on=describe_split(loaded[0].info, len(y)),
                selection=a in selected or b in selected,
                leakage=a in leaking or b in leaking,
            ),
        )
        for (a, b, b_, c_, p, method, d), p_adj in zip(raw, adjusted, strict=True)
    )
    return ComparisonResult(names, loaded, pairs, alpha, int(n_boot), int(seed))
