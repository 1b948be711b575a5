"""Judged tasks (mt-bench-ja, culturebank-grounded) as test sets of an experiment spec.

The real pipeline on the embedded smollm2-135m-instruct, tiny on purpose (2 questions each,
8 new tokens, 2 DPO steps): it checks the wiring (no few-shot option reaches a task that has
none; the report shows each judged column's mean score and a paired test), not the scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.services import LibraryServices
from culturealign.experiments.spec import load_spec
from culturealign.reports.experiment import write_experiment_report
from culturealign.reports.stats import mean_estimate

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

SPEC = {
    "name": "judged-columns",
    "seed": 0,
    "models": [{"id": "smollm2-135m-instruct", "threads": 2}],
    "baselines": [{"label": "base (0-shot)", "shots": 0}],
    "training": {"learning_rate": 1e-4, "max_steps": 2, "batch_size": 2, "save_every": 1},
    "train_sets": [{"name": "JCM", "data": {"dataset": "jcm", "split": "train", "limit": 4}}],
    "evaluations": [
        {"name": "JCM", "task": "jcm", "options": {"split": "test", "limit": 8}},
        {
            "name": "MT-Bench",
            "task": "mt-bench-ja",
            "options": {
                "limit": 2,
                "turns": 1,
                "judge_max_new_tokens": 4,
                "judge_cue": "評価: [[",
            },
            "max_new_tokens": 8,
        },
        {
            "name": "CultureBank",
            "task": "culturebank-grounded",
            "options": {"limit": 3},
            "max_new_tokens": 8,
        },
    ],
}


def _items(run: Path, row: str, column: str) -> list[dict]:
    plan = json.loads((run / "plan.json").read_text())
    cell = next(c for c in plan["cells"] if c["row"] == row and c["column"] == column)
    path = run / "stages" / "eval" / cell["stage"] / "items.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_judged_tasks_run_as_test_sets_and_are_reported(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC, allow_unicode=True))
    out = tmp_path / "run"
    plan = run_experiment(load_spec(spec_path), out, LibraryServices())
    assert all(c.stage is not None for c in plan.cells), "every cell ran"

    report = write_experiment_report([out]).markdown.read_text(encoding="utf-8")
    assert "MT-Bench (average)" in report and "CultureBank (mean_score)" in report

    # Each judged cell shows the mean of its items' values (a judge's rating, P(Yes)).
    for column, field in (("MT-Bench", "rating"), ("CultureBank", "p_yes")):
        for row in ("base (0-shot)", "JCM"):
            items = _items(out, row, column)
            assert len(items) == (2 if column == "MT-Bench" else 3)
            values = [r[field] for r in items if r.get(field) is not None]
            if values:
                est = mean_estimate(np.asarray(values, dtype=float))
                assert f"{est.value:.3g} [{est.low:.3g}, {est.high:.3g}]" in report
    # CultureBank's P(Yes) always exists, so its change has a paired test.
    change = report.split("change vs base (0-shot)", 1)[1].split("\n## ", 1)[0]
    jcm_row = next(line for line in change.splitlines() if line.startswith("| JCM |"))
    assert jcm_row.count("p=") >= 2  # JCM (McNemar) and CultureBank (Wilcoxon)
    # The judged columns are no accuracy: no McNemar rows, no label-bias rows for them.
    mcnemar = report.split("paired significance between rows", 1)[1].split("\n## ", 1)[0]
    assert "MT-Bench" not in mcnemar and "CultureBank" not in mcnemar
