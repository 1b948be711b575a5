"""Paired comparison of `culturealign eval` runs on the same items, each against the first.

Usage: python scripts/compare_eval_runs.py REFERENCE_RUN OTHER_RUN [OTHER_RUN ...]

Prints a Markdown table: accuracy of each run, its difference from the reference with a paired
bootstrap 95% CI, McNemar's exact test on the discordant items, and how many predictions are
equal. Use it to check whether a faster setting (another dtype, a quantized GGUF, a server)
changes a benchmark's numbers before reporting them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from culturealign.errors import CultureAlignError
from culturealign.reports.stats import accuracy_difference, mcnemar_exact


def load_run(run: Path) -> tuple[dict, dict[str, dict]]:
    summary_path, items_path = run / "summary.json", run / "items.jsonl"
    if not summary_path.is_file() or not items_path.is_file():
        raise CultureAlignError(
            f"{run} is not a finished eval run (no summary.json or items.jsonl)",
            "give the --out folders of finished `culturealign eval` runs",
        )
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    lines = items_path.read_text(encoding="utf-8").splitlines()
    return summary, {r["id"]: r for r in map(json.loads, lines)}


def describe(summary: dict) -> str:
    model = summary["model"]
    return f"{model['backend']} {model['name']} ({model['dtype']})"


def compare(runs: list[Path]) -> list[str]:
    (ref_summary, ref), others = load_run(runs[0]), [load_run(r) for r in runs[1:]]
    ids = sorted(ref)
    a = [bool(ref[i]["correct"]) for i in ids]
    rows = [
        "| run | model | n | accuracy | this - reference [95% CI] | only ref / only this right "
        "| McNemar p | same prediction |",
        "|---|---|---|---|---|---|---|---|",
        f"| {runs[0].name} | {describe(ref_summary)} | {len(ids)} | {100 * sum(a) / len(a):.1f} "
        "| reference | | | |",
    ]
    for run, (summary, items) in zip(runs[1:], others, strict=True):
        if summary["task"] != ref_summary["task"] or sorted(items) != ids:
            raise CultureAlignError(
                f"{run} is not the same task on the same items as {runs[0]}",
                "compare runs of one task, split, shots and --limit",
            )
        b = [bool(items[i]["correct"]) for i in ids]
        test, diff = mcnemar_exact(a, b), accuracy_difference(a, b)
        same = sum(ref[i]["prediction"] == items[i]["prediction"] for i in ids)
        rows.append(
            f"| {run.name} | {describe(summary)} | {len(ids)} | {100 * sum(b) / len(b):.1f} "
            f"| {100 * diff.value:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}] "
            f"| {test.only_a} / {test.only_b} | {test.pvalue:.3g} | {same}/{len(ids)} |"
        )
    return rows


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        print("\n".join(compare([Path(p) for p in sys.argv[1:]])))
    except CultureAlignError as exc:
        print(f"error: {exc.message}\nfix: {exc.hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
