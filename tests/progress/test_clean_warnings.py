"""Clean logs (issue 13.2): a normal ``eval``, ``train`` and demo-shaped ``run`` print no
FutureWarning or DeprecationWarning, and one attributed to culturealign's own code is an error.

Each command runs in a fresh interpreter with filters set before culturealign is imported:
``error`` for warnings whose caller is a ``culturealign`` module (the ``-W error::FutureWarning``
semantics, scoped to our code), and the default ``print`` for the rest, so a warning a library
raises on our behalf (TRL's own ``is_gradient_checkpointing`` call, say) shows in stderr and
fails the text check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.needs_data

STRICT = (
    "import runpy, sys, warnings\n"
    "for kind in (FutureWarning, DeprecationWarning):\n"
    "    warnings.simplefilter('default', kind)\n"
    "    warnings.filterwarnings('error', category=kind, module=r'culturealign(\\.|$)')\n"
    "sys.argv[0] = 'culturealign'\n"
    "runpy.run_module('culturealign.cli', run_name='__main__', alter_sys=True)\n"
)
TINY_DEMO = {  # the demo spec's shape (two baselines, DPO rows, two test sets) at toy size
    "name": "tiny-demo",
    "seed": 0,
    "models": [{"id": "gemma-3-270m", "threads": 2}],
    "baselines": [{"label": "no fine-tuning (3-shot)", "shots": 3}],
    "aligned_shots": 0,
    "training": {"learning_rate": 2e-4, "max_steps": 1, "batch_size": 2},
    "train_sets": [{"name": "JCM", "data": {"dataset": "jcm", "split": "train", "limit": 4}}],
    "evaluations": [
        {"name": "JCM", "task": "jcm", "options": {"split": "test", "limit": 4}},
        {"name": "ETHICS", "task": "ethics", "options": {"split": "test", "limit": 4}},
    ],
}


def _strict(*args: str) -> str:
    """Run the CLI under the strict filters; return its stderr after checking it is clean
    (no warning, and no raw log dict such as transformers' PrinterCallback prints)."""
    res = subprocess.run(
        [sys.executable, "-c", STRICT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": ""},
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    for kind in ("FutureWarning", "DeprecationWarning", "UserWarning"):
        assert kind not in res.stderr, res.stderr[-3000:]
    assert "{'loss'" not in res.stdout + res.stderr, res.stdout[-3000:]
    return res.stderr


def test_the_filters_catch_a_warning_from_our_code():
    """The check itself can fail: a FutureWarning attributed to a culturealign module raises."""
    code = STRICT.replace(
        "runpy.run_module('culturealign.cli', run_name='__main__', alter_sys=True)\n",
        "warnings.warn_explicit('old', FutureWarning, 'p.py', 1, module='culturealign.paths')\n",
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "FutureWarning: old" in res.stderr


def test_eval_and_both_training_engines_are_warning_free(tmp_path):
    _strict("eval", "--model", "gemma-3-270m", "--task", "jcm", "--limit", "4",
            "--threads", "2", "--out", str(tmp_path / "eval"))  # fmt: skip
    prefs = tmp_path / "p.jsonl"
    _strict("prefs", "from-labels", "--dataset", "jcm", "--limit", "4", "--out", str(prefs))
    for engine in ("fast", "trl"):
        _strict("train", "dpo", "--model", "gemma-3-270m", "--prefs", str(prefs),
                "--engine", engine, "--max-steps", "1", "--batch-size", "2", "--threads", "2",
                "--out", str(tmp_path / engine))  # fmt: skip


@pytest.mark.integration
def test_a_demo_shaped_run_is_warning_free(tmp_path: Path):
    spec = tmp_path / "tiny_demo.yaml"
    spec.write_text(yaml.safe_dump(TINY_DEMO))
    _strict("run", str(spec), "--out", str(tmp_path / "run"))
    assert (tmp_path / "run" / "report.md").is_file()
