"""A short run of benchmarks/backend_throughput.py: every in-process arm, the report it writes."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "backend_throughput.py"


def test_short_run_writes_every_arm_with_hf_first(tmp_path):
    out = tmp_path / "report.md"
    args = (
        "--limit 3 --threads 1 --skip-server --parallel 1,2 --bf16-parallel 2 --hf-dtypes float32"
    )
    cmd = [sys.executable, str(SCRIPT), *args.split(), "--hf-batch-sizes", "1,3"]
    res = subprocess.run(
        [*cmd, "--repeats", "2", "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    lines = out.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.startswith("| ")][1:]  # below the header
    names = [row.split(" | ")[0].lstrip("| ") for row in rows]
    assert sorted(names[:2]) == ["hf, batch 1", "hf, batch 3"]
    speeds = [float(row.split(" | ")[4]) for row in rows[:2]]  # generated tokens/s
    assert speeds[0] >= speeds[1]  # the fastest HF run first: the baseline
    assert names[2:] == [
        "llama.cpp in-process, one by one",
        "llama.cpp in-process, batched, parallel=2",
        "llama.cpp in-process, batched, parallel=2,head=bf16",
    ]
    first = rows[0].split(" | ")
    assert first[2] == "1.00" and first[5] == "1.00" and first[-1] == "3/3 |"  # the baseline
    assert "the median of 2 run(s)" in out.read_text(encoding="utf-8")
    assert "Batched vs one-by-one llama.cpp in-process:" in res.stdout
