"""The real services on the embedded gemma-3-270m: a tiny grid, killed with SIGKILL and resumed.

Tiny on purpose (8 pairs, 2 DPO steps, 16 test items): it checks the wiring of pairs -> DPO +
LoRA -> evaluation with an adapter, and that a resumed run reports exactly what an
uninterrupted one does, not the model's accuracy.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from culturealign.experiments.executor import run_experiment
from culturealign.experiments.services import LibraryServices
from culturealign.experiments.spec import load_spec
from culturealign.reports.experiment import write_experiment_report

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "name": "tiny-real",
    "seed": 0,
    "models": [{"id": "gemma-3-270m", "threads": 2}],
    "training": {"learning_rate": 1e-4, "max_steps": 2, "batch_size": 2, "save_every": 1},
    "train_sets": [{"name": "JCM", "data": {"dataset": "jcm", "split": "train", "limit": 8}}],
    "evaluations": [{"name": "JCM", "task": "jcm", "options": {"split": "test", "limit": 16}}],
}
RUN = (
    "import sys; from pathlib import Path; "
    "from culturealign.experiments import LibraryServices, load_spec, run_experiment; "
    "run_experiment(load_spec(Path(sys.argv[1])), Path(sys.argv[2]), LibraryServices())"
)


def _log_lines(out: Path) -> int:
    log = out / "log.jsonl"
    return len(log.read_text().splitlines()) if log.is_file() else 0


def test_kill_and_resume_with_the_real_model(tmp_path):
    spec_path = tmp_path / "tiny.yaml"
    spec_path.write_text(yaml.safe_dump(TINY))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    plan = run_experiment(load_spec(spec_path), clean, LibraryServices())
    assert [s.kind for s in plan.stages.values()] == ["eval", "pairs", "train", "eval"]
    assert (
        next((clean / "stages" / "train").iterdir()) / "adapter" / "adapter_config.json"
    ).is_file()

    # The baseline evaluation is not what this test is about: hand it over as a cache hit.
    baseline = next(s for s in plan.stages.values() if s.kind == "eval")
    shutil.copytree(
        clean / "stages" / "eval" / baseline.key, killed / "stages" / "eval" / baseline.key
    )

    rng = random.Random(os.environ.get("CULTUREALIGN_TEST_SEED", "7"))
    stop_after = rng.choice([1, 2])  # inside training (after pairs) or the aligned evaluation
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, str(spec_path), str(killed)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while _log_lines(killed) < stop_after + 1 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(rng.uniform(0.5, 4.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Otherwise the comparison below would hold without any resume having happened.
    assert proc.returncode == -signal.SIGKILL, "the run ended before the kill landed"
    finished = [p for p in (killed / "stages").glob("*/*") if not p.name.endswith(".partial")]
    assert _log_lines(killed) < len(plan.stages) and len(finished) < len(plan.stages)

    run_experiment(load_spec(spec_path), killed, LibraryServices())
    write_experiment_report([clean]), write_experiment_report([killed])
    for name in ("report.md", "report.html", "flips.csv"):
        assert (clean / name).read_text() == (killed / name).read_text(), name
