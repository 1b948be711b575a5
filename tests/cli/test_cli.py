"""The real CLI in a subprocess: help, listing, one clear error per bad input, kill + resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli


def _assert_clean_error(result, *phrases):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "error:" in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    """An empty current directory for runs without --out (their default is ./runs/eval/...)."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # the CLI subprocess inherits it
    return cwd


def _assert_nothing_written(cwd: Path) -> None:
    assert sorted(p.name for p in cwd.iterdir()) == []


def test_help_lists_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("eval", "models", "tasks"):
        assert command in result.stdout


def test_tasks_lists_judgement_tasks():
    result = run_cli("tasks")
    assert result.returncode == 0 and "jcm" in result.stdout and "ethics" in result.stdout


def test_missing_file(tmp_path):
    r = run_cli(
        "eval",
        "--model",
        "gemma-3-270m",
        "--task",
        "judgement",
        "--path",
        str(tmp_path / "nope.csv"),
        "--out",
        str(tmp_path / "o"),
    )
    _assert_clean_error(r, "not found")
    assert not (tmp_path / "o").exists()


def test_wrong_columns(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("a,b\nx,1\n")
    r = run_cli(
        "eval",
        "--model",
        "gemma-3-270m",
        "--task",
        "judgement",
        "--path",
        str(f),
        "--out",
        str(tmp_path / "o"),
    )
    _assert_clean_error(r, "lacks column", "--text-column")
    assert not (tmp_path / "o").exists()


def test_unknown_label_value(tmp_path, workdir):
    f = tmp_path / "d.csv"
    f.write_text("text,label\nx,yes\n")
    r = run_cli("eval", "--model", "gemma-3-270m", "--task", "judgement", "--path", str(f))
    _assert_clean_error(r, "unknown label value 'yes'", "--label-values")
    _assert_nothing_written(workdir)


def test_empty_split(tmp_path, workdir):
    f = tmp_path / "d.jsonl"
    f.write_text("")
    r = run_cli("eval", "--model", "gemma-3-270m", "--task", "judgement", "--path", str(f))
    _assert_clean_error(r, "no items")
    _assert_nothing_written(workdir)


def test_row_with_extra_fields(tmp_path, workdir):
    f = tmp_path / "d.csv"
    f.write_text("text,label\nI helped,0\nI lied, then apologised,1\n")
    r = run_cli("eval", "--model", "gemma-3-270m", "--task", "judgement", "--path", str(f))
    _assert_clean_error(r, "d.csv:3:", "row has 3 fields but the header has 2", "fix:")
    assert "None" not in r.stderr
    _assert_nothing_written(workdir)


def test_nul_bytes(tmp_path, workdir):
    f = tmp_path / "d.csv"
    f.write_bytes(b"text,label\nI helped,0\nI\x00lied,1\n")
    r = run_cli("eval", "--model", "gemma-3-270m", "--task", "judgement", "--path", str(f))
    _assert_clean_error(r, "d.csv:3: contains a NUL byte", "UTF-8")
    _assert_nothing_written(workdir)


def test_missing_dataset_says_where_to_get_it(tmp_path, workdir):
    env = {
        "CULTUREALIGN_DATA": str(tmp_path),
        "CULTUREALIGN_CACHE": str(tmp_path / "c"),
        "no_proxy": "*",
        "https_proxy": "http://127.0.0.1:9",
    }
    r = run_cli("eval", "--model", "gemma-3-270m", "--task", "jcm", env=env)
    _assert_clean_error(r, "jcm/data_test.csv", "CULTUREALIGN_DATA")
    _assert_nothing_written(workdir)


def test_unknown_model(tmp_path):
    r = run_cli(
        "eval",
        "--model",
        "./no/such/model",
        "--task",
        "jcm",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "o"),
    )
    _assert_clean_error(r, "model folder not found")


@pytest.mark.parametrize(
    ("model", "folder"),
    [
        ("gemma-3-270m", "gemma-3-270m"),
        ("org/model", "model"),
        ("gemma-3-270m#dtype=bfloat16", "gemma-3-270m-dtype=bfloat16"),
        (
            "llamacpp:/m/x.Q4_K_M.gguf#head=bf16,parallel=32",
            "llamacpp-x.Q4_K_M.gguf-head=bf16-parallel=32",
        ),
        ("openai:org/m@http://localhost:8000/v1#api=chat", "openai-m-api=chat"),
    ],
)
def test_default_run_folder_names_the_model_not_its_url(model, folder):
    from culturealign.models.registry import model_slug

    assert model_slug(model) == folder


@pytest.mark.integration
def test_eval_without_out_writes_the_model_folder(workdir):
    r = run_cli("eval", "--model", "gemma-3-270m#dtype=bfloat16", "--task", "jcm", "--limit", "2")
    assert r.returncode == 0, r.stderr
    assert (workdir / "runs/eval/jcm-gemma-3-270m-dtype=bfloat16/summary.json").is_file()


def test_unknown_task(workdir):
    _assert_clean_error(
        run_cli("eval", "--model", "gemma-3-270m", "--task", "nope"), "unknown task"
    )
    _assert_nothing_written(workdir)


def test_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli(
        "eval",
        "--model",
        "gemma-3-270m",
        "--task",
        "jcm",
        "--limit",
        "2",
        "--out",
        str(blocker / "sub"),
    )
    _assert_clean_error(r, "cannot write to output directory")


@pytest.mark.integration
def test_corrupt_cached_model(tmp_path):
    from culturealign.models.embedded import converted_dir, ensure_converted

    real = ensure_converted("smollm2-135m-instruct")
    cache = tmp_path / "cache"
    broken = cache / "models" / "smollm2-135m-instruct"
    broken.mkdir(parents=True)
    for f in real.iterdir():
        target = broken / f.name
        if f.suffix == ".safetensors":
            target.write_bytes(f.read_bytes()[:1000])  # truncated weights
        else:
            target.write_bytes(f.read_bytes())
    r = run_cli(
        "eval",
        "--model",
        "smollm2-135m-instruct",
        "--task",
        "jcm",
        "--limit",
        "2",
        "--out",
        str(tmp_path / "o"),
        env={"CULTUREALIGN_CACHE": str(cache)},
    )
    _assert_clean_error(r, "corrupt", "--rebuild")
    assert converted_dir("smollm2-135m-instruct") == real  # the real cache is untouched


@pytest.mark.integration
def test_kill_9_midway_then_resume(tmp_path):
    out = tmp_path / "run"
    args = [
        "eval",
        "--model",
        "gemma-3-270m",
        "--task",
        "jcm",
        "--shots",
        "3",
        "--limit",
        "400",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from culturealign.cli import main; main()", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
        start_new_session=True,
    )
    items = out / "items.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not items.exists() or items.stat().st_size == 0):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(items.read_text().splitlines())
    assert 0 < finished < 400 and not (out / "summary.json").exists()
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in items.read_text().splitlines()]
    assert len(records) == len({r["id"] for r in records}) == 400
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_items"] == 400
    assert "| jcm (3-shot) | gemma-3-270m |" in r.stdout


def _command_paths(command, path=()):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _command_paths(sub, (*path, name))


def test_every_command_help_renders():
    """``--help`` of every command and subcommand prints (rich reads help text as markup: a
    stray ``[/word]`` in one option's help once crashed ``train rm --help``)."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from culturealign.cli import app

    paths = list(_command_paths(get_command(app)))
    assert len(paths) > 20
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output[-500:], result.exception)
        assert "Usage" in result.output, path
