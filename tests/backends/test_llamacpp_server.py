"""The OpenAI-compatible backend against a REAL llama.cpp server (llama-cpp-python) on loopback.

The server serves the embedded gemma-3-270m GGUF as shipped (Q4_K_M: what a user runs), so the
agreement rule is the quantization-aware one (tests/backends/conftest.py); the in-process tests
check the issue's >= 95% on equal weights. The server is started once for the module.
Everything goes through the real ``culturealign eval`` command.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytest.importorskip(
    "llama_cpp", reason="llama-cpp-python is not installed (pip install 'culturealign[llamacpp]')"
)
pytest.importorskip("openai", reason="the openai client is not installed")

from culturealign.models.embedded import EMBEDDED  # noqa: E402
from culturealign.models.llamacpp_server import LlamaServer, free_port  # noqa: E402
from tests.backends.conftest import (  # noqa: E402
    MODEL,
    N_ITEMS,
    check_quantized_agreement,
    eval_cli,
    read_items,
)

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

KEY = "sk-local-test-7f3a9c"
ENV = {"OPENAI_API_KEY": KEY}
# repeat_penalty=1: llama-cpp-python's default 1.1 is not greedy decoding.
# scoring=topk: JCM's answers (正/誤) are single gemma tokens; llama-cpp-python's echo path
# sorts the whole 262k vocabulary in Python for every prompt token (minutes per item).
OPTIONS = "x.repeat_penalty=1,scoring=topk,concurrency=2"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    srv = LlamaServer(EMBEDDED[MODEL].gguf_path(), MODEL, threads=1, api_key=KEY, log=log)
    srv.start()
    yield srv
    srv.stop()


def spec(srv: LlamaServer, options: str = OPTIONS, model: str = MODEL) -> str:
    return f"openai:{model}@{srv.base_url}#{options}"


@pytest.mark.parametrize("mode", ["choice", "generate"])
def test_agrees_with_hf_backend(server, hf_reference, tmp_path, mode):
    res = eval_cli(spec(server), tmp_path, "--mode", mode, env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    records = read_items(tmp_path)
    check_quantized_agreement(hf_reference[mode], records)
    # Differences: llama.cpp's quantized arithmetic (see tests/backends/conftest.py).
    summary = (tmp_path / "summary.json").read_text()
    assert '"server_model_id": "gemma-3-270m"' in summary
    if mode == "choice":
        assert '"choice_scoring": "topk"' in summary
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or KEY not in path.read_text(errors="replace")
    assert KEY not in res.stdout + res.stderr


def test_server_killed_mid_run_then_rerun_finishes_each_item_once(server, tmp_path):
    target = spec(server, OPTIONS + ",retries=1")
    args = ["--mode", "generate", "--max-new-tokens", "4"]
    cmd = [sys.executable, "-c", "from culturealign.cli import main; main()", "eval"]
    cmd += ["--model", target, "--task", "jcm", "--limit", str(N_ITEMS), "--threads", "1"]
    cmd += ["--out", str(tmp_path), *args]
    run = subprocess.Popen(
        cmd, env={**__import__("os").environ, **ENV}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    items = tmp_path / "items.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and run.poll() is None:
        if items.exists() and items.read_text().count("\n") >= 16:  # one chunk written
            break
        time.sleep(0.2)
    assert run.poll() is None, "the run finished before the server could be killed"
    server.kill()
    try:
        _, err = run.communicate(timeout=300)
    finally:
        server.start()
    assert run.returncode == 2, err[-2000:]
    assert "cannot reach the server" in err and "Traceback" not in err
    written = items.read_text().count("\n")
    assert 16 <= written < N_ITEMS

    res = eval_cli(target, tmp_path, *args, env=ENV)
    assert res.returncode == 0, res.stderr[-2000:]
    ids = [r["id"] for r in read_items(tmp_path)]
    assert len(ids) == N_ITEMS == len(set(ids))


@pytest.mark.parametrize(
    ("make_spec", "env", "words"),
    [
        (
            lambda s: f"openai:{MODEL}@http://127.0.0.1:{free_port()}/v1#retries=0",
            ENV,
            "cannot reach the server",
        ),
        (
            lambda s: spec(s, "retries=0"),
            {"OPENAI_API_KEY": "sk-wrong-key-1234"},
            "rejected the API key (HTTP 401)",
        ),
        (
            lambda s: spec(s, "retries=0", model="no-such-model"),
            ENV,
            "'no-such-model' is not served",
        ),
    ],
    ids=["wrong-url", "wrong-key", "missing-model"],
)
def test_bad_server_settings_give_one_clear_error(server, tmp_path, make_spec, env, words):
    res = eval_cli(make_spec(server), tmp_path, env=env)
    assert res.returncode == 2
    assert words in res.stderr and "Traceback" not in res.stderr
    assert "sk-wrong-key-1234" not in res.stdout + res.stderr and KEY not in res.stderr


def test_top_k_reaches_the_server(server, monkeypatch):
    """top_k travels in the request body: top-k 1 at a high temperature is greedy decoding."""
    from culturealign.models.base import GenerationConfig
    from culturealign.models.registry import load_model

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    model = load_model(spec(server))
    prompt = ["The capital of Japan is"]
    greedy = model.generate(prompt, GenerationConfig(max_new_tokens=8))
    hot = dict(max_new_tokens=8, temperature=5.0, seed=1)
    assert model.generate(prompt, GenerationConfig(**hot)) != greedy  # the check can fail
    assert model.generate(prompt, GenerationConfig(**hot, top_k=1)) == greedy
