"""Reports from fake-backend runs: marks, CIs, not-run rows, embedded heatmap, flips, compare."""

from __future__ import annotations

import base64
import csv
import json
import re
from pathlib import Path

import pytest

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.spec import load_spec
from culturealign.reports.experiment import write_experiment_report
from tests.experiments import fakes
from tests.experiments.conftest import write_spec


@pytest.fixture
def run_dir(grid, tmp_path) -> Path:
    out = tmp_path / "run"
    run_experiment(load_spec(write_spec(tmp_path / "spec.yaml", grid)), out, fakes.FakeServices())
    return out


def _summaries(run: Path) -> dict[tuple[str, str], dict]:
    plan = json.loads((run / "plan.json").read_text())
    return {
        (c["row"], c["column"]): json.loads(
            (run / "stages" / "eval" / c["stage"] / "summary.json").read_text()
        )
        for c in plan["cells"]
        if c["stage"]
    }


def _study_rows(markdown: str) -> dict[str, list[str]]:
    table = markdown.split("accuracy (%) with 95% CI", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows}


def test_study_table_values_and_marks(run_dir):
    files = write_experiment_report([run_dir])
    rows = _study_rows(files.markdown.read_text())
    summaries = _summaries(run_dir)
    for col_index, col in enumerate(["A", "B"]):
        accs = {r: summaries[r, col]["metrics"]["accuracy"] for r, c in summaries if c == col}
        ranked = sorted(accs, key=lambda r: -accs[r]["value"])
        for row, acc in accs.items():
            cell = rows[row][col_index]
            number = (
                f"{100 * acc['value']:.1f} [{100 * acc['ci_low']:.1f}, {100 * acc['ci_high']:.1f}]"
            )
            assert number in cell
            if row == ranked[0]:
                assert cell == f"**{number}**"
            elif row == ranked[1]:
                assert cell == f"<u>{number}</u>"
            else:
                assert cell == number
    assert rows["MISSING-EN"] == ["not run [1]", "not run [1]"]


def test_not_run_reason_is_reported(run_dir):
    files = write_experiment_report([run_dir])
    for text in (files.markdown.read_text(), files.html.read_text()):
        assert "MISSING-EN: not run: needs jcm train translated ja-&gt;en" in text or (
            "MISSING-EN: not run: needs jcm train translated ja->en" in text
        )


def test_html_is_self_contained_with_the_heatmap(run_dir):
    files = write_experiment_report([run_dir])
    page = files.html.read_text()
    assert not re.search(r"(src|href)=['\"](?!data:)", page)  # nothing fetched from elsewhere
    encoded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page).group(1)
    assert base64.b64decode(encoded) == files.heatmap.read_bytes()
    assert files.heatmap.read_bytes().startswith(b"\x89PNG")
    for section in ("accuracy change vs", "paired significance", "label bias", "flipped"):
        assert section in page


def test_flips_match_the_items(run_dir):
    files = write_experiment_report([run_dir])
    plan = json.loads((run_dir / "plan.json").read_text())
    stage = {(c["row"], c["column"]): c["stage"] for c in plan["cells"]}

    def predictions(row: str, col: str) -> dict[str, int]:
        lines = (run_dir / "stages" / "eval" / stage[row, col] / "items.jsonl").read_text()
        return {r["id"]: r["prediction"] for r in map(json.loads, lines.splitlines())}

    with files.flips.open() as fh:
        flipped = list(csv.DictReader(fh))
    for row in ("NATIVE", "NATIVE-JA"):
        for col in ("A", "B"):
            before, after = predictions("no fine-tuning (3-shot)", col), predictions(row, col)
            expected = {i for i in before if i in after and before[i] != after[i]}
            got = {f["id"] for f in flipped if f["training set"] == row and f["test set"] == col}
            assert got == expected and expected


def test_report_is_deterministic(run_dir, tmp_path):
    first = write_experiment_report([run_dir], tmp_path / "r1")
    second = write_experiment_report([run_dir], tmp_path / "r2")
    assert first.markdown.read_text() == second.markdown.read_text()
    assert first.html.read_bytes() == second.html.read_bytes()


def test_two_runs_side_by_side(grid, tmp_path, run_dir):
    grid["training"]["learning_rate"] = 0.1
    other = tmp_path / "other"
    run_experiment(load_spec(write_spec(tmp_path / "b.yaml", grid)), other, fakes.FakeServices())
    files = write_experiment_report([run_dir, other])
    assert files.markdown.parent == tmp_path / "compare-run-other"
    text = files.markdown.read_text()
    assert "| training set | run: A | run: B | other: A | other: B |" in text
    assert "# Run run" in text and "# Run other" in text


def test_report_of_a_non_run_folder(tmp_path):
    from culturealign.errors import CultureAlignError

    with pytest.raises(CultureAlignError, match="not an experiment run"):
        write_experiment_report([tmp_path])
