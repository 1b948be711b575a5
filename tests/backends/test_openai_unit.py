"""OpenAI-compatible backend without a server: spec parsing, vLLM's documented response shapes,
capability detection, concurrency, and that the API key never reaches info or an error."""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict
from types import SimpleNamespace
from typing import Any

import pytest

openai = pytest.importorskip("openai", reason="the openai client is not installed")

from culturealign.errors import CultureAlignError  # noqa: E402
from culturealign.models.base import ChatMessage, ChoiceRequest, GenerationConfig  # noqa: E402
from culturealign.models.openai_http import OpenAIHTTPModel, decode_chat, parse_spec  # noqa: E402
from culturealign.models.openai_scoring import (  # noqa: E402
    echo_choice_sum,
    prompt_logprobs_sum,
)

KEY = "sk-test-DO-NOT-LEAK-4242"


class _Resp(SimpleNamespace):
    def model_dump(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.payload))


class FakeClient:
    """Answers like a server; ``handler(kind, params)`` returns the JSON payload."""

    def __init__(self, handler, models=("m",)) -> None:
        self.handler = handler
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.models = SimpleNamespace(
            list=lambda: [SimpleNamespace(id=m, owned_by="test") for m in models]
        )
        self.completions = SimpleNamespace(create=lambda **kw: self._answer("completions", kw))
        self.chat = SimpleNamespace(
            completions=SimpleNamespace(create=lambda **kw: self._answer("chat", kw))
        )

    def _answer(self, kind: str, params: dict[str, Any]) -> _Resp:
        self.calls.append((kind, params))
        payload = self.handler(kind, params)
        return _Resp(payload=payload, model=payload.get("model", "m-2024"))

    def post(self, url: str, body: dict[str, Any], cast_to: Any) -> dict[str, Any]:
        self.calls.append(("post " + url, body))
        return self.handler("post " + url, body)

    def with_options(self, **_: Any) -> Any:
        return SimpleNamespace(get=lambda url, cast_to: self.handler("get " + url, {}))


def _model(handler, monkeypatch, **kw) -> OpenAIHTTPModel:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    return OpenAIHTTPModel("m", "http://srv:8000/v1", client=FakeClient(handler), **kw)


def test_spec_parsing():
    got = parse_spec("org/Model-7B@http://h:8000/v1/#concurrency=8,api=chat,x.repeat_penalty=1")
    assert got == {
        "model": "org/Model-7B",
        "base_url": "http://h:8000/v1",
        "concurrency": 8,
        "api": "chat",
        "extra_body": {"repeat_penalty": 1},
    }
    for bad in ("no-url", "m@ftp://x", "m@http://h#bogus=1", "m@http://h#novalue"):
        with pytest.raises(CultureAlignError):
            parse_spec(bad)


def test_vllm_prompt_logprobs_shape():
    # vLLM's CompletionResponseChoice.prompt_logprobs: list[dict[int, Logprob] | None];
    # Logprob = {"logprob", "rank", "decoded_token"}; ids are strings once JSON-encoded.
    resp = {
        "choices": [
            {
                "index": 0,
                "text": "x",
                "prompt_logprobs": [
                    None,
                    {"11": {"logprob": -1.0, "rank": 1, "decoded_token": "a"}},
                    {"12": {"logprob": -0.5, "rank": 1, "decoded_token": "b"}},
                    {
                        "13": {"logprob": -2.0, "rank": 3, "decoded_token": "c"},
                        "99": {"logprob": -0.1, "rank": 1, "decoded_token": "z"},
                    },
                ],
            }
        ]
    }
    assert prompt_logprobs_sum(resp, 2, [12, 13]) == pytest.approx(-2.5)
    with pytest.raises(CultureAlignError):
        prompt_logprobs_sum(resp, 3, [14])


def test_vllm_scoring_end_to_end(monkeypatch):
    """Detection picks prompt_logprobs; requests carry token ids and ``prompt_logprobs: 0``."""
    vocab = {"ctx": [1, 5, 6], "A": [7], "B": [8, 9]}
    logprob = {5: -1.0, 6: -1.0, 7: -0.25, 8: -1.5, 9: -0.5}

    def handler(kind, p):
        if kind == "post http://srv:8000/tokenize":
            return {"tokens": vocab.get(p["prompt"], [1, 2, 3]), "count": 3}
        if kind.startswith("get"):
            return {"version": "0.99.1"} if kind.endswith("/version") else {}
        assert p["extra_body"] == {"prompt_logprobs": 0}
        ids = p["prompt"]
        assert all(isinstance(t, int) for t in ids)
        entries = [None] + [{str(t): {"logprob": logprob.get(t, -3.0), "rank": 1}} for t in ids[1:]]
        return {"model": "m", "choices": [{"text": "", "prompt_logprobs": entries}]}

    model = _model(handler, monkeypatch)
    # prefix + text is tokenized as one string ("c" + "tx" = "ctx"), each choice alone
    scores = model.choice_logprobs([ChoiceRequest("c", "tx", ("A", "B"))])
    assert scores == [[-0.25, -2.0]]
    assert model.info.extra["choice_scoring"] == "prompt_logprobs"
    assert model.info.extra["server_version"] == "0.99.1"
    assert model.info.extra["server_model_id"] == "m"


def test_echo_offsets_and_boundary_merge():
    lp = {
        "tokens": ["Hel", "lo", " w", "orld", "!"],
        "token_logprobs": [None, -1.0, -2.0, -0.5, -0.1],
        "text_offset": [0, 3, 5, 7, 11],
    }
    resp = {"choices": [{"logprobs": lp}]}
    assert echo_choice_sum(resp, 5, 11) == (-2.5, 0)  # " world", the "!" is generated
    # a token straddling the boundary (choice starts at 6, mid " w") is counted with the choice
    assert echo_choice_sum(resp, 6, 11) == (-2.5, 1)


def test_detection_falls_back_to_echo_then_topk_then_clear_error(monkeypatch):
    def echo_server(kind, p):
        if kind.startswith(("post", "get")):
            raise openai.NotFoundError("no", response=_http(404), body=None)
        if p.get("echo"):
            text = p["prompt"]
            return {"choices": [{"logprobs": _echo(text)}]}
        raise AssertionError(p)

    model = _model(echo_server, monkeypatch)
    assert model.choice_logprobs([ChoiceRequest("ab", "", ("c",))]) == [[-1.0]]
    assert model.info.extra["choice_scoring"] == "echo"

    def topk_server(kind, p):
        if kind.startswith(("post", "get")):
            raise openai.NotFoundError("no", response=_http(404), body=None)
        if p.get("echo"):
            return {"choices": [{"logprobs": None}]}
        return {"choices": [{"logprobs": {"top_logprobs": [{" yes": -0.2, " no": -1.9}]}}]}

    model = _model(topk_server, monkeypatch)
    got = model.choice_logprobs([ChoiceRequest("q", "", (" no", " yes", " maybe"))])
    assert got[0][:2] == [-1.9, -0.2] and got[0][2] == -math.inf
    assert model.info.extra["choice_scoring"] == "topk" and model.work["outside_topk"] == 1

    def plain_server(kind, p):
        if kind.startswith(("post", "get")):
            raise openai.NotFoundError("no", response=_http(404), body=None)
        return {"choices": [{"text": "hi", "logprobs": None}]}

    model = _model(plain_server, monkeypatch)
    with pytest.raises(CultureAlignError) as err:
        model.choice_logprobs([ChoiceRequest("q", "", ("a", "b"))])
    assert "http://srv:8000/v1" in str(err.value) and "--mode generate" in str(err.value)


def _echo(text: str) -> dict[str, Any]:
    return {
        "tokens": list(text),
        "token_logprobs": [None] + [-1.0] * (len(text) - 1),
        "text_offset": list(range(len(text))),
    }


def _http(status: int) -> Any:
    try:  # openai >= 3 is built on httpx2, older releases on httpx
        import httpx2 as httpx
    except ImportError:
        import httpx

    return httpx.Response(status, request=httpx.Request("GET", "http://srv:8000/v1/x"))


def test_generation_params_pass_through_and_chat_api(monkeypatch):
    def handler(kind, p):
        if kind.startswith(("post", "get")):
            return {}
        if kind == "chat":
            return {"choices": [{"message": {"role": "assistant", "content": "ok"}}]}
        return {"choices": [{"text": " out"}]}

    model = _model(handler, monkeypatch, extra_body={"repeat_penalty": 1})
    cfg = GenerationConfig(max_new_tokens=7, temperature=0.7, top_p=0.9, seed=3, stop=("\n",))
    assert model.generate(["p"], cfg) == [" out"]
    kind, params = model.client.calls[-1]
    assert kind == "completions"
    assert params | {"extra_body": None} == {
        "model": "m",
        "prompt": "p",
        "max_tokens": 7,
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 3,
        "stop": ["\n"],
        "extra_body": None,
    }
    assert params["extra_body"] == {"repeat_penalty": 1}
    model.generate(["p"], GenerationConfig(temperature=0.7, top_k=10))  # a server-side field
    assert model.client.calls[-1][1]["extra_body"] == {"repeat_penalty": 1, "top_k": 10}

    chat = _model(handler, monkeypatch, api="chat")
    assert chat.is_chat
    rendered = chat.render_chat([ChatMessage("system", "S"), ChatMessage("user", "U")])
    # callers split the rendered string and put the item text back: the round trip survives
    head, tail = rendered.split("U")
    assert decode_chat(head + "U" + tail) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
    ]
    assert chat.generate([rendered], GenerationConfig()) == ["ok"]
    assert chat.client.calls[-1][0] == "chat"


def test_bounded_concurrency_keeps_order(monkeypatch):
    lock, state = threading.Lock(), {"now": 0, "peak": 0}

    def handler(kind, p):
        if kind.startswith(("post", "get")):
            return {}
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return {"choices": [{"text": p["prompt"].upper()}]}

    model = _model(handler, monkeypatch, concurrency=3)
    ticks: list[int] = []
    prompts = [f"p{i}" for i in range(12)]
    assert model.generate(prompts, GenerationConfig(), ticks.append) == [p.upper() for p in prompts]
    assert state["peak"] == 3 and sum(ticks) == 12


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (
            lambda: openai.AuthenticationError("bad key " + KEY, response=_http(401), body=None),
            "rejected the API key",
        ),
        (
            lambda: openai.InternalServerError("boom " + KEY, response=_http(500), body=None),
            "HTTP 500",
        ),
        (lambda: openai.APIConnectionError(request=_http(0).request), "cannot reach"),
    ],
)
def test_errors_are_clear_and_never_contain_the_key(monkeypatch, exc, words):
    def handler(kind, p):
        if kind.startswith(("post", "get")):
            return {}
        raise exc()

    model = _model(handler, monkeypatch)
    with pytest.raises(CultureAlignError) as err:
        model.generate(["p"], GenerationConfig())
    text = str(err.value) + str(getattr(err.value, "hint", "")) + repr(err.value)
    assert words in text and KEY not in text
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert KEY not in json.dumps(asdict(model.info), default=str)


def test_missing_model_names_what_is_served(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(CultureAlignError) as err:
        OpenAIHTTPModel("nope", "http://srv/v1", client=FakeClient(lambda k, p: {}, ("a", "b")))
    assert "nope" in str(err.value) and "a, b" in str(err.value)
