"""Progress in log files (issue 13.3) and the --quiet / --verbose flags."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest
from rich.console import Console

from culturealign.progress import LineProgress, progress


def _log_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=60, force_terminal=False), buffer


def test_a_log_gets_lines_not_a_truncated_bar():
    console, buffer = _log_console()
    with progress(console, stats=True) as bar:
        assert isinstance(bar, LineProgress)
        bar.every = 0  # a line on every update
        task = bar.add_task("[bold]DPO (fast path)[/]", total=150, stats="")
        for step in range(1, 4):
            bar.update(task, completed=step, stats=f"loss {0.7 - step / 100:.3f}")
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3
    # Whole words, no bar glyphs, no cut at the console width (60) despite a long line.
    assert lines[-1].startswith("DPO (fast path)  3/150 (2%)  ")
    assert "ETA " in lines[-1] and lines[-1].endswith("loss 0.670")
    assert not re.search("[━…]", buffer.getvalue())


def test_lines_are_throttled_and_the_end_is_always_printed():
    console, buffer = _log_console()
    with progress(console) as bar:
        bar.every = 3600
        task = bar.add_task("items", total=100, completed=40)  # resumed: 40 done before
        for _ in range(60):
            bar.advance(task)
    lines = buffer.getvalue().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("items  100/100 (100%)")


def test_an_unfinished_task_reports_where_it_stopped():
    console, buffer = _log_console()
    with progress(console) as bar:
        bar.every = 3600
        task = bar.add_task("items", total=10)
        bar.advance(task, 4)
    assert buffer.getvalue().startswith("items  4/10 (40%)")


def test_a_terminal_gets_the_rich_bar():
    from rich.progress import Progress

    console = Console(file=io.StringIO(), force_terminal=True)
    with progress(console) as bar:
        assert isinstance(bar, Progress)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CULTUREALIGN_PROGRESS_EVERY": "0"}
    return subprocess.run(
        [sys.executable, "-m", "culturealign.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.needs_data
def test_eval_into_a_log_file_and_quiet(tmp_path):
    args = ("eval", "--model", "gemma-3-270m", "--task", "jcm", "--limit", "6", "--threads", "1")
    res = _cli(*args, "--out", str(tmp_path / "a"))
    assert res.returncode == 0, res.stderr[-2000:]
    log = res.stderr
    assert "loading gemma-3-270m" in log and "loaded gemma-3-270m in" in log
    assert "jcm  6/6 (100%)" in log
    assert "Loading weights" not in log and "━" not in log  # transformers' and rich's bars
    quiet = _cli("--quiet", *args, "--out", str(tmp_path / "b"))
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "| jcm (3-shot) | gemma-3-270m |" in quiet.stdout
    bad = _cli("--quiet", "eval", "--model", "gemma-3-270m", "--task", "nope")
    assert bad.returncode == 2 and "unknown task" in bad.stderr  # errors print under --quiet


@pytest.mark.needs_data
def test_training_log_is_clean_lines(tmp_path):
    """A fast-engine DPO run into a log: step lines with the loss, no warnings, no bars."""
    prefs = tmp_path / "p.jsonl"
    made = _cli("prefs", "from-labels", "--dataset", "jcm", "--limit", "4", "--out", str(prefs))
    assert made.returncode == 0, made.stderr[-2000:]
    res = _cli(
        "train", "dpo", "--model", "gemma-3-270m", "--prefs", str(prefs),
        "--out", str(tmp_path / "a"), "--max-steps", "1", "--batch-size", "2", "--threads", "1",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert "DPO (fast path)  1/1 (100%)" in res.stderr and "loss 0." in res.stderr
    assert "Warning" not in res.stderr and "━" not in res.stderr, res.stderr
