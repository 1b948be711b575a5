"""scripts/compare_eval_runs.py: paired accuracy comparison of eval runs on the same items."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_eval_runs.py"


def _run(folder: Path, correct: list[bool], dtype: str, task: str = "jcm") -> Path:
    folder.mkdir()
    model = {"backend": "hf", "name": f"m#dtype={dtype}", "dtype": dtype}
    summary = {"task": {"name": task, "args": {"shots": 3}}, "model": model}
    (folder / "summary.json").write_text(json.dumps(summary))
    rows = [{"id": f"i{k}", "correct": c, "prediction": int(c)} for k, c in enumerate(correct)]
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _compare(*runs: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, str(SCRIPT), *map(str, runs)]
    return subprocess.run(args, capture_output=True, text=True)


def test_paired_table_counts_discordant_items(tmp_path):
    ref = _run(tmp_path / "ref", [True] * 30 + [False] * 10, "float32")
    # 12 items only the reference gets right, 2 only this one: 40 -> 30 correct.
    other = _run(
        tmp_path / "bf16", [True] * 18 + [False] * 12 + [True] * 2 + [False] * 8, "bfloat16"
    )
    r = _compare(ref, other)
    assert r.returncode == 0, r.stderr
    cells = [c.strip() for c in r.stdout.splitlines()[-1].strip("|").split("|")]
    assert cells[3] == "50.0" and cells[4].startswith("-25.0 [")
    assert cells[5] == "12 / 2" and cells[7] == "26/40"
    assert float(cells[6]) == pytest.approx(0.0129, abs=1e-4)  # two-sided binomial, 12 vs 2


def test_other_items_or_task_is_an_error(tmp_path):
    ref = _run(tmp_path / "ref", [True, False], "float32")
    other = _run(tmp_path / "other", [True, False], "float32", task="ethics")
    r = _compare(ref, other)
    assert r.returncode == 2 and "not the same task on the same items" in r.stderr
