"""Aligned rows are compared with the base row of the same shot count (fake backend).

The study's aligned rows are asked zero-shot and its baseline three-shot; a comparison between
them mixes the effect of alignment with the effect of dropping the few-shot examples. With a
0-shot base row in the spec, every change, flip and significance test of an aligned row must use
that row.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.spec import load_spec
from culturealign.reports.experiment import write_experiment_report
from culturealign.reports.stats import accuracy_difference, mcnemar_exact
from tests.experiments import fakes
from tests.experiments.conftest import write_spec

THREE, ZERO = "no fine-tuning (3-shot)", "no fine-tuning (0-shot)"


@pytest.fixture
def two_baselines(grid, tmp_path) -> Path:
    grid["baselines"] = [{"label": THREE, "shots": 3}, {"label": ZERO, "shots": 0}]
    out = tmp_path / "run"
    run_experiment(load_spec(write_spec(tmp_path / "spec.yaml", grid)), out, fakes.FakeServices())
    return out


def _items(run: Path, row: str, col: str) -> dict[str, dict]:
    plan = json.loads((run / "plan.json").read_text())
    stage = next(c["stage"] for c in plan["cells"] if (c["row"], c["column"]) == (row, col))
    lines = (run / "stages" / "eval" / stage / "items.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def _correct(run: Path, row: str, col: str) -> list[bool]:
    items = _items(run, row, col)
    return [items[i]["correct"] for i in sorted(items)]


def _section(markdown: str, title: str) -> str:
    return markdown.split(title, 1)[1].split("\n###", 1)[0]


def test_plan_records_shots_and_the_same_shot_baseline(two_baselines):
    plan = json.loads((two_baselines / "plan.json").read_text())
    assert plan["baseline"] == ZERO
    shots = {r["label"]: r["shots"] for r in plan["rows"]}
    assert shots == {THREE: 3, ZERO: 0, "NATIVE": 0, "NATIVE-JA": 0, "MISSING-EN": 0}


def test_change_table_uses_the_zero_shot_base_row(two_baselines):
    text = write_experiment_report([two_baselines]).markdown.read_text()
    change = _section(text, f"accuracy change vs {ZERO} (points)")
    assert f"Aligned rows (0-shot) are compared with {ZERO}, the base row asked" in change
    line = next(x for x in change.splitlines() if x.startswith("| NATIVE |"))
    for col, cell in zip("AB", line.strip("|").split(" | ")[1:], strict=True):
        a, b = _correct(two_baselines, ZERO, col), _correct(two_baselines, "NATIVE", col)
        diff, test = accuracy_difference(a, b), mcnemar_exact(a, b)
        assert cell.strip() == (
            f"{100 * diff.value:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}], "
            f"p={test.pvalue:.3g}"
        )
    # The shot effect really moves the fake model's answers, so the choice of base row matters.
    assert _correct(two_baselines, THREE, "A") != _correct(two_baselines, ZERO, "A")


def test_significance_never_pairs_an_aligned_row_with_another_shot_count(two_baselines):
    text = write_experiment_report([two_baselines]).markdown.read_text()
    table = _section(text, "paired significance between rows (exact McNemar)")
    pairs = {
        tuple(c.strip() for c in line.strip("|").split(" | ")[:3])
        for line in table.splitlines()
        if line.startswith("| A |") or line.startswith("| B |")
    }
    assert ("A", ZERO, "NATIVE") in pairs and ("B", ZERO, "NATIVE-JA") in pairs
    assert ("A", THREE, ZERO) in pairs  # the shot effect itself is still tested
    assert ("A", "NATIVE", "NATIVE-JA") in pairs
    assert not any(THREE in p and ("NATIVE" in p or "NATIVE-JA" in p) for p in pairs)


def test_flips_are_against_the_zero_shot_base_row(two_baselines):
    files = write_experiment_report([two_baselines])
    with files.flips.open() as fh:
        flipped = list(csv.DictReader(fh))
    for col in "AB":
        before, after = _items(two_baselines, ZERO, col), _items(two_baselines, "NATIVE", col)
        expected = {i for i in before if before[i]["prediction"] != after[i]["prediction"]}
        got = {f["id"] for f in flipped if (f["training set"], f["test set"]) == ("NATIVE", col)}
        assert got == expected and expected


def test_a_spec_without_a_same_shot_base_row_says_what_it_mixes(grid, tmp_path):
    out = tmp_path / "run"
    run_experiment(load_spec(write_spec(tmp_path / "spec.yaml", grid)), out, fakes.FakeServices())
    text = write_experiment_report([out]).markdown.read_text()
    assert json.loads((out / "plan.json").read_text())["baseline"] == THREE
    assert f"compared with {THREE} (3-shot): the difference mixes alignment" in text
