"""``culturealign translate`` as a subprocess: kill -9 mid-run, resume from the cache, --check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from culturealign.translation.run import meta_path


def _cli(*args: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CULTUREALIGN_CACHE": str(cache)}
    cmd = [str(Path(sys.executable).parent / "culturealign"), "translate", *args]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_kill9_resume_and_check(tiny_m2m: Path, tmp_path: Path, own_cache: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [{"id": i, "text": f"電車で{i}番の席を譲った。", "label": i % 2} for i in range(150)]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    out = tmp_path / "out.jsonl"
    args = [
        str(src),
        "--from",
        "ja",
        "--to",
        "en",
        "--translator",
        f"seq2seq:{tiny_m2m}",
        "--out",
        str(out),
        "--batch-size",
        "1",
        "--max-length",
        "24",
        "--threads",
        "1",
    ]
    proc = _cli(*args, cache=own_cache)
    cache_files = own_cache / "translations"
    deadline = time.monotonic() + 240
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        files = list(cache_files.glob("*.jsonl")) if cache_files.is_dir() else []
        done = sum(1 for _ in files[0].open()) - 1 if files else 0
        if done >= 10:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed: " + proc.stdout.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists()  # nothing half-written

    again = _cli(*args, "--check", "--check-sample", "4", cache=own_cache)
    log, _ = again.communicate(timeout=300)
    assert again.returncode == 0, log
    meta = json.loads(meta_path(out).read_text(encoding="utf-8"))
    assert meta["cache_hits"] >= done >= 10  # finished sentences were not translated again
    written = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert [r["id"] for r in written] == list(range(150)) and written[7]["label"] == 1
    check = json.loads(out.with_name("out.jsonl.check.json").read_text("utf-8"))
    assert check["sentences"] == 4 and 0 <= check["chrf"] <= 100 and "round trip" in log


def test_cli_bad_input_exits_2(tmp_path: Path, own_cache: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("text,label\n,1\n", "utf-8")
    proc = _cli(
        str(src),
        "--from",
        "ja",
        "--to",
        "en",
        "--out",
        str(tmp_path / "o.csv"),
        "--translator",
        "lm:gemma-3-270m",
        cache=own_cache,
    )
    log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "empty in every row" in log
