"""A short run of benchmarks/llamacpp_step.py: body and head costs for each size, both engines."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")

pytestmark = [pytest.mark.integration]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "llamacpp_step.py"


def test_short_run_prints_a_line_per_model_size_and_dtype():
    cmd = [sys.executable, str(SCRIPT), "--threads", "1", "--sizes", "1,4"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    steps = re.findall(r"^(\S+) n=(\d+): head ([\d.]+) / body ([\d.]+) ms", res.stdout, re.M)
    assert [(m, n) for m, n, _, _ in steps] == [
        ("llamacpp:gemma-3-270m", "1"),
        ("llamacpp:gemma-3-270m", "4"),
        ("llamacpp:gemma-3-270m#head=bf16", "1"),
        ("llamacpp:gemma-3-270m#head=bf16", "4"),
    ]
    # the 262k-row output layer costs more than the 18-layer body for one token
    assert all(float(head) > float(body) for _, n, head, body in steps if n == "1")
    heads = re.findall(r"^torch (float32|bfloat16) head n=(\d+)", res.stdout, re.M)
    assert heads == [("float32", "1"), ("float32", "4"), ("bfloat16", "1"), ("bfloat16", "4")]
