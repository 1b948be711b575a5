"""Kill the runner process (SIGKILL) at a random point, resume, and get the same report."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from culturealign.reports.experiment import write_experiment_report
from tests.experiments.conftest import write_spec

REPO = Path(__file__).resolve().parents[2]
REPORT_FILES = ("report.md", "report.html", "heatmap.png", "flips.csv")


def _runner(spec: Path, out: Path, delay: str) -> subprocess.Popen:
    env = {**os.environ, "FAKE_DELAY": delay}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.experiments.fakes", str(spec), str(out)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _finished_stages(out: Path) -> int:
    log = out / "log.jsonl"
    return len(log.read_text().splitlines()) if log.is_file() else 0


def _kill_after(proc: subprocess.Popen, out: Path, stages_done: int, extra_s: float) -> None:
    deadline = time.monotonic() + 120
    while _finished_stages(out) < stages_done and proc.poll() is None:
        assert time.monotonic() < deadline, "runner made no progress"
        time.sleep(0.01)
    time.sleep(extra_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("seed", [11, 23])
def test_kill_anywhere_then_resume_gives_the_same_report(grid, tmp_path, seed):
    rng = random.Random(seed)
    spec = write_spec(tmp_path / "spec.yaml", grid)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    reference = _runner(spec, clean, "0")
    assert reference.wait() == 0, reference.stderr.read().decode()
    total = _finished_stages(clean)
    # Stop after a random number of finished stages, somewhere inside the next one.
    proc = _runner(spec, killed, "0.01")
    done_before_kill = rng.randrange(total - 1)
    _kill_after(proc, killed, done_before_kill, rng.uniform(0.05, 0.4))
    assert proc.returncode == -signal.SIGKILL
    assert _finished_stages(killed) < total, "the kill came too late to test anything"
    resumed = _runner(spec, killed, "0")
    assert resumed.wait() == 0, resumed.stderr.read().decode()
    log = [json.loads(line) for line in (killed / "log.jsonl").read_text().splitlines()]
    # The resumed run reused every stage finished before the kill.
    assert sum(r["cached"] for r in log) >= done_before_kill
    assert not list((killed / "stages").glob("*/*.partial"))
    a, b = write_experiment_report([clean]), write_experiment_report([killed])
    for name in REPORT_FILES:
        assert (clean / name).read_bytes() == (killed / name).read_bytes(), name
    assert a.markdown.name == b.markdown.name
