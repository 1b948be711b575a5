"""kill -9 in the middle of question generation: the re-run ends with the same questions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from culturealign.culturespa.generate import (
    ATTEMPTS,
    QUESTIONS_FILE,
    GenerateSettings,
    generate_questions,
)
from tests.culturespa.conftest import released_questions
from tests.culturespa.replay import ReplayModel

REPO = Path(__file__).resolve().parents[2]
CFG = dict(topics=[3, 5], per_topic=25, batch_size=4, seed=7)
SCRIPT = """
import sys
from pathlib import Path
from culturealign.culturespa.generate import GenerateSettings, generate_questions
from tests.culturespa.conftest import released_questions
from tests.culturespa.replay import ReplayModel
pool = released_questions(3)[:200] + released_questions(5)[:200]
generate_questions(ReplayModel(pool, delay=0.2), GenerateSettings(**{cfg}), Path(sys.argv[1]))
"""


def _pool():
    return released_questions(3)[:200] + released_questions(5)[:200]


def test_kill_9_mid_generation_then_resume(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    killed.mkdir()
    clean.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(cfg=CFG), str(killed)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    attempts = killed / ATTEMPTS
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if attempts.is_file() and len(attempts.read_text().splitlines()) >= 12:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the generation finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = attempts.read_text().splitlines()
    assert 12 <= len(before) < 2 * 25 * 4
    # Simulate a write cut off mid-line by the kill, too.
    with attempts.open("a") as fh:
        fh.write('{"topic": 3, "round": 99, "of": 4, "raw"')

    cfg = GenerateSettings(**CFG)
    resumed = generate_questions(ReplayModel(_pool()), cfg, killed)
    reference = generate_questions(ReplayModel(_pool()), cfg, clean)
    got = (killed / QUESTIONS_FILE).read_text()
    assert got == (clean / QUESTIONS_FILE).read_text()
    rows = [json.loads(x) for x in got.splitlines()]
    assert len(rows) == 50 and len({r["question"] for r in rows}) == 50
    assert len({r["id"] for r in rows}) == 50
    # Nothing finished before the kill was generated again.
    assert resumed["new_this_run"] < reference["new_this_run"]
    assert resumed["per_topic"] == reference["per_topic"]
    assert (killed / ATTEMPTS).read_text().splitlines()[: len(before)] == before
