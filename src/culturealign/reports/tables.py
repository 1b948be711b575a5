"""The report's tables, as plain values (text + an optional best/second mark per cell).

Rendering to Markdown or HTML lives in :mod:`.render`; this module decides what the numbers
are: the study table, changes against no fine-tuning, paired significance, label bias and
N/A rates, and the items whose prediction flipped after alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from culturealign.evaluation.records import format_estimate, percent
from culturealign.reports.collect import CellResult, RunResults
from culturealign.reports.stats import (
    accuracy_difference,
    holm,
    mcnemar_exact,
    mean_estimate,
    rank_marks,
    score_difference,
)

FLIP_LIST_LIMIT = 10  # flipped items listed per row and test set (all of them go to flips.csv)


@dataclass(frozen=True)
class Fmt:
    text: str
    mark: str | None = None  # "best" | "second"


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Fmt]]
    intro: str = ""
    notes: list[str] = field(default_factory=list)


def study_table(run: RunResults, model: str) -> Table:
    """Rows x test sets, each test set's headline with its 95% CI (accuracy in percent; a
    judged test set's mean score, from its items); best in each column bold, second underlined."""
    reasons: list[str] = []
    columns: list[list[Fmt]] = []
    headlines = [run.headline(model, col) for col in run.columns]
    for col, headline in zip(run.columns, headlines, strict=True):
        cells = [run.cell(model, row, col) for row in run.row_labels]
        estimates = [_headline_estimate(c, headline) for c in cells]
        marks = rank_marks([e["value"] if e else None for e in estimates])
        columns.append(
            [
                _cell_fmt(c, e, headline, m, reasons)
                for c, e, m in zip(cells, estimates, marks, strict=True)
            ]
        )
    body = [[Fmt(row), *(column[i] for column in columns)] for i, row in enumerate(run.row_labels)]
    judged = [f"{c}: {h}" for c, h in zip(run.columns, headlines, strict=True) if h != "accuracy"]
    return Table(
        f"{model}: accuracy (%) with 95% CI" if not judged else f"{model}: results with 95% CI",
        [
            "training set",
            *(_column_label(c, h) for c, h in zip(run.columns, headlines, strict=True)),
        ],
        body,
        intro=""
        if not judged
        else "Accuracy in %; "
        + "; ".join(judged)
        + " (the mean over rated items with a percentile bootstrap CI).",
        notes=[f"[{n + 1}] {r}" for n, r in enumerate(reasons)],
    )


def _column_label(column: str, headline: str) -> str:
    return column if headline == "accuracy" else f"{column} ({headline})"


def _headline_estimate(cell: CellResult, headline: str) -> dict[str, float] | None:
    """Accuracy from the summary; any other headline as the mean of the items' values."""
    if not cell.ok or headline == "accuracy":
        return cell.metric("accuracy")
    assert cell.items is not None
    values = cell.items["value"].dropna().to_numpy()
    return mean_estimate(values).as_dict() if len(values) else None


def _plain(metric: dict[str, float] | None, signed: bool = False) -> str:
    """``value [low, high]`` as numbers (a judge's 1-10 ratings, P(Yes)), not percent."""
    if metric is None:
        return "—"
    form = "{:+.3g}" if signed else "{:.3g}"
    low, high = (form.format(metric[k]) for k in ("ci_low", "ci_high"))
    return f"{form.format(metric['value'])} [{low}, {high}]"


def _cell_fmt(
    cell: CellResult,
    estimate: dict[str, float] | None,
    headline: str,
    mark: str | None,
    reasons: list[str],
) -> Fmt:
    if cell.ok:
        text = format_estimate(estimate) if headline == "accuracy" else _plain(estimate)
        return Fmt(text, mark)
    reason = f"{cell.row}: not run: {cell.reason}"
    if reason not in reasons:
        reasons.append(reason)
    return Fmt(f"not run [{reasons.index(reason) + 1}]")


def _correct(a: CellResult, b: CellResult) -> tuple[np.ndarray, np.ndarray]:
    """Per-item correctness of two cells on their common items (same test set, same order)."""
    assert a.items is not None and b.items is not None
    common = a.items.index.intersection(b.items.index)
    return (
        a.items.loc[common, "correct"].to_numpy(bool),
        b.items.loc[common, "correct"].to_numpy(bool),
    )


def change_table(run: RunResults, model: str) -> Table | None:
    """Each aligned row's accuracy minus the baseline's, paired bootstrap CI and McNemar p."""
    if run.baseline is None or not run.aligned_rows:
        return None
    body = []
    for row in run.aligned_rows:
        line = [Fmt(row)]
        for col in run.columns:
            base, cell = run.cell(model, run.baseline, col), run.cell(model, row, col)
            if not (base.ok and cell.ok):
                line.append(Fmt("—"))
            elif run.headline(model, col) == "accuracy":
                a, b = _correct(base, cell)
                diff, test = accuracy_difference(a, b), mcnemar_exact(a, b)
                text = format_estimate(diff.as_dict(), signed=True)
                line.append(Fmt(f"{text}, p={test.pvalue:.3g}"))
            else:
                line.append(_score_change(base, cell))
        body.append(line)
    headlines = [run.headline(model, c) for c in run.columns]
    judged = any(h != "accuracy" for h in headlines)
    return Table(
        f"{model}: {'change' if judged else 'accuracy change'} vs {run.baseline} "
        f"({'accuracy in points' if judged else 'points'})",
        [
            "training set",
            *(_column_label(c, h) for c, h in zip(run.columns, headlines, strict=True)),
        ],
        body,
        intro=f"{reference_note(run)} Paired bootstrap 95% CI of the difference; p from the "
        "exact McNemar test (accuracy) or the Wilcoxon signed-rank test (a judged score, over "
        "the items both rows got a rating for).",
    )


def _score_change(base: CellResult, cell: CellResult) -> Fmt:
    """A judged column's change: mean difference over the items both rows have a score for."""
    a, b = _values(base, cell)
    if not len(a):
        return Fmt("— (no item rated in both)")
    diff, p = score_difference(a, b)
    return Fmt(f"{_plain(diff.as_dict(), signed=True)}, p={p:.3g}")


def _values(a: CellResult, b: CellResult) -> tuple[np.ndarray, np.ndarray]:
    """Per-item headline values of two cells on the items both have a value for."""
    assert a.items is not None and b.items is not None
    both = pd.concat([a.items["value"], b.items["value"]], axis=1, join="inner").dropna()
    return both.iloc[:, 0].to_numpy(float), both.iloc[:, 1].to_numpy(float)


def reference_note(run: RunResults) -> str:
    """Which base row the aligned rows are compared with, and whether the shot counts match."""
    base, aligned = run.shots(run.baseline or ""), {run.shots(r) for r in run.aligned_rows}
    if base is None or None in aligned:
        return f"Aligned rows are compared with {run.baseline}."
    known = {s for s in aligned if s is not None}
    if aligned == {base}:
        return (
            f"Aligned rows ({base}-shot) are compared with {run.baseline}, the base row asked "
            "with the same number of few-shot examples."
        )
    shots = ", ".join(str(s) for s in sorted(known))
    return (
        f"Aligned rows ({shots}-shot) are compared with {run.baseline} ({base}-shot): the "
        "difference mixes alignment with the change of few-shot examples; add a base row with "
        "the aligned rows' shot count to the spec's baselines."
    )


def comparable(run: RunResults, row_a: str, row_b: str) -> bool:
    """False for a base row vs an aligned row asked with a different number of shots."""
    kinds = {run.kind(row_a), run.kind(row_b)}
    shots_a, shots_b = run.shots(row_a), run.shots(row_b)
    mixed = kinds == {"baseline", "aligned"} and None not in (shots_a, shots_b)
    return not (mixed and shots_a != shots_b)


def significance_table(run: RunResults, model: str) -> Table:
    """Every pair of rows on each test set: discordant counts, exact McNemar p, Holm-adjusted."""
    body = []
    for col in (c for c in run.columns if run.headline(model, c) == "accuracy"):
        done = [r for r in run.row_labels if run.cell(model, r, col).ok]
        tests = []
        for ra, rb in filter(lambda p: comparable(run, *p), combinations(done, 2)):
            a, b = _correct(run.cell(model, ra, col), run.cell(model, rb, col))
            tests.append((ra, rb, a.mean(), b.mean(), mcnemar_exact(a, b)))
        adjusted = holm([t[4].pvalue for t in tests])
        for (ra, rb, acc_a, acc_b, t), p_holm in zip(tests, adjusted, strict=True):
            body.append(
                [
                    Fmt(col),
                    Fmt(ra),
                    Fmt(rb),
                    Fmt(percent(acc_a)),
                    Fmt(percent(acc_b)),
                    Fmt(str(t.only_a)),
                    Fmt(str(t.only_b)),
                    Fmt(f"{t.pvalue:.3g}"),
                    Fmt(f"{p_holm:.3g}", "best" if p_holm < 0.05 else None),
                ]
            )
    return Table(
        f"{model}: paired significance between rows (exact McNemar)",
        [
            "test set",
            "row A",
            "row B",
            "acc A",
            "acc B",
            "only A right",
            "only B right",
            "p",
            "p (Holm)",
        ],
        body,
        intro="Pairs of rows asked with the same number of few-shot examples (an aligned row "
        "is never tested against a base row with other shots), plus base rows against each "
        "other (the shot effect). " + reference_note(run) + " Holm adjustment within each test "
        "set; bold = significant at 0.05 after it.",
    )


def bias_table(run: RunResults, model: str) -> Table:
    """How often each row answers 'wrong' vs the gold share, N/A rate and macro-F1 (percent)."""
    body = []
    for row in run.row_labels:
        for col in run.columns:
            cell = run.cell(model, row, col)
            if not cell.ok or cell.headline != "accuracy":
                continue
            assert cell.items is not None
            gold_wrong = float((cell.items["target"] == 1).mean())
            pred_wrong = cell.metric("wrong_share")
            bias = pred_wrong["value"] - gold_wrong if pred_wrong else float("nan")
            body.append(
                [
                    Fmt(row),
                    Fmt(col),
                    Fmt(format_estimate(pred_wrong)),
                    Fmt(percent(gold_wrong)),
                    Fmt(percent(bias, signed=True)),
                    Fmt(format_estimate(cell.metric("na_rate"))),
                    Fmt(format_estimate(cell.metric("macro_f1"))),
                ]
            )
    return Table(
        f"{model}: label bias and N/A rate (%)",
        ["training set", "test set", "answers 'wrong'", "gold 'wrong'", "bias", "N/A", "macro-F1"],
        body,
        intro="bias = share answered 'wrong' minus the gold share; N/A = unparseable answers.",
    )


def flips(run: RunResults, model: str) -> pd.DataFrame:
    """Items whose prediction changed between the baseline and an aligned row."""
    frames = []
    baseline = run.baseline or ""
    for row in run.aligned_rows if baseline else []:
        for col in run.columns:
            base, cell = run.cell(model, baseline, col), run.cell(model, row, col)
            if not (base.ok and cell.ok) or cell.headline != "accuracy":
                continue
            assert base.items is not None and cell.items is not None
            after = cell.items[["prediction", "correct"]].add_suffix("_after")
            joined = base.items.join(after, how="inner")
            # N/A (None) on both sides is no flip; fill it so that NaN != NaN does not count.
            before_pred = (
                joined["prediction"].astype(object).where(joined["prediction"].notna(), -1)
            )
            after_pred = (
                joined["prediction_after"]
                .astype(object)
                .where(joined["prediction_after"].notna(), -1)
            )
            changed = joined[before_pred != after_pred]
            frames.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "training set": row,
                        "test set": col,
                        "id": changed.index,
                        "text": changed["text"].to_numpy(),
                        "gold": changed["target"].to_numpy(),
                        "before": changed["prediction"].to_numpy(),
                        "after": changed["prediction_after"].to_numpy(),
                        "effect": np.where(changed["correct_after"], "fixed", "broken"),
                    }
                )
            )
    if not frames:
        return pd.DataFrame(
            columns=[
                "model",
                "training set",
                "test set",
                "id",
                "text",
                "gold",
                "before",
                "after",
                "effect",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def flip_tables(run: RunResults, model: str, flipped: pd.DataFrame) -> list[Table]:
    """Counts per row and test set, then the first few flipped items of each."""
    if flipped.empty:
        return []
    counts = flipped.groupby(["training set", "test set"], sort=False)["effect"].value_counts()
    summary = []
    for (row, col), group in flipped.groupby(["training set", "test set"], sort=False):
        fixed, broken = counts.get((row, col, "fixed"), 0), counts.get((row, col, "broken"), 0)
        summary.append(
            [Fmt(row), Fmt(col), Fmt(str(len(group))), Fmt(str(fixed)), Fmt(str(broken))]
        )
    listing = [
        [
            Fmt(str(r["training set"])),
            Fmt(str(r["test set"])),
            Fmt(str(r["id"])),
            Fmt(_short(str(r["text"]))),
            Fmt(_label(r["gold"])),
            Fmt(_label(r["before"])),
            Fmt(_label(r["after"])),
            Fmt(str(r["effect"])),
        ]
        for _, r in flipped.groupby(["training set", "test set"], sort=False)
        .head(FLIP_LIST_LIMIT)
        .iterrows()
    ]
    return [
        Table(
            f"{model}: predictions flipped by alignment (vs {run.baseline})",
            ["training set", "test set", "flipped", "fixed", "broken"],
            summary,
            intro="fixed = wrong before, right after; broken = the reverse. All are in flips.csv.",
        ),
        Table(
            f"{model}: flipped items (first {FLIP_LIST_LIMIT} per row and test set)",
            ["training set", "test set", "id", "text", "gold", "before", "after", "effect"],
            listing,
        ),
    ]


def _label(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "N/A"
    return {1: "wrong", 0: "not wrong"}.get(int(value), str(value))  # type: ignore[call-overload]


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
