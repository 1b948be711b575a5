"""Data-parallel evaluation on a real local Ray (2 CPUs) with 2 actors holding gemma-3-270m.

Every comparison is byte for byte against a single-process run with the same threads (1): the
parallel runner shards the runner's own chunks (made small here so 12 items give 3 shards).
Each run starts 2 actors that load the model, so only the equality test runs by default; the
kill, resume and generation tests are ``slow`` (``-m slow``; about 90 s each on the shared 2-core
machine).
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace

import pytest

from culturealign.errors import CultureAlignError
from culturealign.evaluation import build_task, runner
from culturealign.evaluation.parallel import WorkerPool, parallel_generate, run_task_parallel
from tests.conftest import run_cli

pytestmark = pytest.mark.integration
MODEL, OPTS = "gemma-3-270m", {"threads": 1}


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    # One local Ray for the module (start-up costs seconds); pools reuse it and leave it up.
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 2**20
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def gemma1():
    from culturealign.models import load_model

    return load_model(MODEL, threads=1)  # the actors' thread count: the same fp32 rounding


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setitem(runner.CHUNK, "choice", 4)


def _lines(path):
    return (path / "items.jsonl").read_text(encoding="utf-8")


def test_two_workers_match_single_process(ray_session, gemma1, small_chunks, tmp_path):
    task = build_task("jcm", {"limit": 12})
    single = runner.run_task(task, gemma1, tmp_path / "single")
    seen = []
    par = run_task_parallel(
        task, MODEL, tmp_path / "par", 2, OPTS, on_shard=lambda pool, n: seen.append(n)
    )
    assert seen == [1, 2, 3]  # 12 items, shards of 4
    assert _lines(tmp_path / "par") == _lines(tmp_path / "single")
    assert par["metrics"] == single["metrics"] and par["model"] == single["model"]
    assert par["work"]["items_scored"] == 12 and par["work"]["workers"] == 2
    assert not (tmp_path / "par" / "shards").exists()  # merged into items.jsonl
    # A finished run re-run scores nothing and changes nothing.
    again = run_task_parallel(task, MODEL, tmp_path / "par", 2, OPTS)
    assert again["work"]["items_scored"] == 0
    assert _lines(tmp_path / "par") == _lines(tmp_path / "single")


@pytest.mark.slow
def test_killed_worker_is_restarted_and_nothing_lost(ray_session, gemma1, small_chunks, tmp_path):
    task = build_task("jcm", {"limit": 12})
    runner.run_task(task, gemma1, tmp_path / "single")
    killed = []

    def kill_all_workers(pool, n):
        if n == 1:  # one shard written; the other actor is mid-shard: SIGKILL both processes
            for pid in pool.pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pool.pids)

    par = run_task_parallel(task, MODEL, tmp_path / "par", 2, OPTS, on_shard=kill_all_workers)
    assert len(killed) == 2
    ids = [json.loads(line)["id"] for line in _lines(tmp_path / "par").splitlines()]
    assert len(ids) == len(set(ids)) == 12 == par["n_items"]
    assert _lines(tmp_path / "par") == _lines(tmp_path / "single")


@pytest.mark.slow
def test_interrupted_run_resumes_per_shard(ray_session, gemma1, small_chunks, tmp_path):
    task = build_task("jcm", {"limit": 12})
    runner.run_task(task, gemma1, tmp_path / "single")
    out = tmp_path / "par"

    def interrupt(pool, n):
        if n == 2:
            raise KeyboardInterrupt  # the driver killed after two shards

    with pytest.raises(KeyboardInterrupt):
        run_task_parallel(task, MODEL, out, 2, OPTS, on_shard=interrupt)
    shards = sorted(p.name for p in (out / "shards").glob("*.jsonl"))
    assert len(shards) == 2 and not (out / "summary.json").exists()
    # A torn temp file from a kill mid-write is not a shard: it is ignored.
    (out / "shards" / ".000008.jsonl.x.tmp").write_text('{"id": "jcm-te')
    resumed = run_task_parallel(task, MODEL, out, 2, OPTS)
    assert resumed["work"]["items_scored"] == 4  # only the unwritten shard
    assert _lines(out) == _lines(tmp_path / "single")


@pytest.mark.slow
def test_generate_mode_matches_single_process(ray_session, gemma1, tmp_path):
    task = build_task("jcm", {"limit": 20, "mode": "generate"})
    generation = runner.resolve_generation(task, max_new_tokens=4)
    runner.run_task(task, gemma1, tmp_path / "single", generation)
    run_task_parallel(task, MODEL, tmp_path / "par", 2, OPTS, generation)  # chunks 16 + 4
    assert _lines(tmp_path / "par") == _lines(tmp_path / "single")


@pytest.mark.slow
def test_parallel_generate_matches_chunked_single_process(ray_session, gemma1):
    from culturealign.models.base import GenerationConfig

    prompts = [f"Question {i}: is it wrong to lie to a friend? Answer:" for i in range(6)]
    generation = GenerationConfig(max_new_tokens=3, temperature=1.0, top_p=0.9, seed=7)
    got = parallel_generate(MODEL, prompts, generation, 2, OPTS, chunk=3)
    want = [
        out
        for i, start in enumerate(range(0, 6, 3))
        for out in gemma1.generate(prompts[start : start + 3], replace(generation, seed=7 + i))
    ]
    assert got == want and len(got) == 6


def test_bad_worker_count_is_a_clear_error():
    with pytest.raises(CultureAlignError, match="at least 1"):
        WorkerPool(MODEL, 0)


def test_ray_options_without_workers_exit_2(tmp_path):
    result = run_cli(
        "eval", "--model", MODEL, "--task", "jcm", "--limit", "2", "--shard-size", "4",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--workers" in result.stderr


def test_generation_command_on_workers_matches_in_process(ray_session, tmp_path):
    """`culturebank-questions --workers 2`: the pipeline's generate() calls run on the actors
    (chunks of 4 prompts), and its greedy output file equals the in-process command's."""
    from typer.testing import CliRunner

    from culturealign.cli import app

    def build(out, *extra):
        args = ["culturebank-questions", "--model", MODEL, "--out", str(out), "--limit", "6",
                "--tries", "1", "--max-new-tokens", "6", "--threads", "1", *extra]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return out.read_text(encoding="utf-8")

    from culturealign.judging import culturebank

    greedy = replace(culturebank.QUESTION_GENERATION_CONFIG, temperature=0.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(culturebank, "QUESTION_GENERATION_CONFIG", greedy)
        local = build(tmp_path / "local.jsonl")
        pooled = build(tmp_path / "pooled.jsonl", "--workers", "2")
    assert pooled == local and len(local.splitlines()) == 6


@pytest.mark.slow
def test_pooled_sampling_does_not_depend_on_the_worker_count(ray_session):
    from culturealign.evaluation.parallel import generation_model
    from culturealign.models.base import GenerationConfig

    prompts = [f"Question {i}: is it wrong to lie to a friend? Answer:" for i in range(6)]
    generation = GenerationConfig(max_new_tokens=3, temperature=1.0, top_p=0.9, seed=7)
    outputs = []
    for workers in (1, 2):
        with generation_model(MODEL, workers, OPTS) as model:
            outputs.append(model.generate(prompts, generation))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 6


def test_translate_on_workers_matches_in_process(ray_session, tmp_path, monkeypatch):
    """`translate --translator lm:... --workers 2`: the LLM translator's generate() runs on the
    actors, and the translated file equals the in-process one (greedy). Each run gets its own
    sentence cache, so the second cannot simply read the first's translations."""
    from typer.testing import CliRunner

    from culturealign.cli import app

    def translate(name, *extra):
        monkeypatch.setenv("CULTUREALIGN_CACHE", str(tmp_path / f"cache-{name}"))
        out = tmp_path / f"{name}.jsonl"
        args = ["translate", "jcm", "--to", "en", "--translator", f"lm:{MODEL}", "--limit", "4",
                "--max-new-tokens", "8", "--batch-size", "2", "--threads", "1",
                "--out", str(out), *extra]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return [json.loads(line)["text"] for line in out.read_text("utf-8").splitlines()]

    local = translate("local")
    pooled = translate("pooled", "--workers", "2")
    assert pooled == local and len(local) == 4 and all(local)


def test_translate_workers_need_an_lm_translator(tmp_path):
    result = run_cli(
        "translate", "jcm", "--to", "en", "--translator", "seq2seq:facebook/m2m100_418M",
        "--limit", "2", "--workers", "2", "--out", str(tmp_path / "x.jsonl"),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "lm:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.jsonl").exists()
